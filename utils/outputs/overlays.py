"""PNG overlays a person checks at a glance: the slice with its predicted membranes in red,
and the labels beside it when they are known."""
import os

import numpy as np
from PIL import Image, ImageDraw

from utils.data.dataset import MEMBRANE
from utils.outputs import masks
from utils.outputs.names import OVERLAY_DIR
from utils.runtime.disk import write_atomically

_MEMBRANE_RGB = np.array([255, 40, 40], dtype=np.float32)
_ALPHA = 0.55

TITLES = ('image', 'prediction (membranes in red)', 'labels (membranes in red)')
"""The panels' titles, left to right: the labels' panel only where labels exist."""
TITLE_BAND = 14
"""Pixels of white above the panels, for their titles."""


def overlay(image, membrane):
    """The grey slice with `membrane` (bool `[H, W]`) tinted red: uint8 `[H, W, 3]`."""
    grey = np.repeat(image[..., None].astype(np.float32), 3, axis=-1)
    tinted = np.where(membrane[..., None], (1 - _ALPHA) * grey + _ALPHA * _MEMBRANE_RGB, grey)
    return tinted.round().astype(np.uint8)


def panels(image, background_probs, classes=None):
    """The page, its predicted membranes, and its labelled ones when `classes` are given,
    side by side under their titles: an RGB PIL image."""
    pictures = [np.repeat(image[..., None], 3, axis=-1),
                overlay(image, ~masks.background_mask(background_probs))]
    if classes is not None:
        pictures.append(overlay(image, classes == MEMBRANE))
    row = Image.fromarray(np.concatenate(pictures, axis=1))
    titled = Image.new('RGB', (row.width, row.height + TITLE_BAND), 'white')
    titled.paste(row, (0, TITLE_BAND))
    draw = ImageDraw.Draw(titled)
    for index, title in enumerate(TITLES[:len(pictures)]):
        draw.text((index * image.shape[1] + 2, 1), title, fill='black')
    return titled


def write_overlays(pred_dir, volume, background_probs, classes=None):
    """One PNG per slice in <pred_dir>/overlays (panels). Returns the overlays' directory."""
    directory = os.path.join(pred_dir, OVERLAY_DIR)
    os.makedirs(directory, exist_ok=True)
    for page, image in enumerate(volume):
        picture = panels(image, background_probs[page],
                         None if classes is None else classes[page])
        path = os.path.join(directory, f'slice_{page:03d}.png')
        write_atomically(path, lambda f, picture=picture: picture.save(f, format='PNG'))
    return directory

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

LEGEND = ('image', 'membrane (red)')
"""The titles of legend_overlay's panels, left to right."""


def overlay(image, membrane):
    """The grey slice with `membrane` (bool `[H, W]`) tinted red: uint8 `[H, W, 3]`."""
    grey = np.repeat(image[..., None].astype(np.float32), 3, axis=-1)
    tinted = np.where(membrane[..., None], (1 - _ALPHA) * grey + _ALPHA * _MEMBRANE_RGB, grey)
    return tinted.round().astype(np.uint8)


def write_overlays(pred_dir, volume, background_probs, classes=None):
    """One PNG per slice in <pred_dir>/overlays: the input, the predicted membranes, and the
    labels when known. Returns the overlays' directory."""
    directory = os.path.join(pred_dir, OVERLAY_DIR)
    os.makedirs(directory, exist_ok=True)
    for page, image in enumerate(volume):
        panels = [np.repeat(image[..., None], 3, axis=-1),
                  overlay(image, ~masks.background_mask(background_probs[page]))]
        if classes is not None:
            panels.append(overlay(image, classes[page] == MEMBRANE))
        picture = Image.fromarray(np.concatenate(panels, axis=1))
        path = os.path.join(directory, f'slice_{page:03d}.png')
        write_atomically(path, lambda f, picture=picture: picture.save(f, format='PNG'))
    return directory


def legend_overlay(image, membrane):
    """The page and its predicted membranes side by side, each titled: an RGB PIL image."""
    panels = [np.repeat(image[..., None], 3, axis=-1), overlay(image, membrane)]
    picture = Image.fromarray(np.concatenate(panels, axis=1))
    band = 14
    titled = Image.new('RGB', (picture.width, picture.height + band), 'white')
    titled.paste(picture, (0, band))
    draw = ImageDraw.Draw(titled)
    for index, title in enumerate(LEGEND):
        draw.text((index * image.shape[1] + 2, 1), title, fill='black')
    return titled

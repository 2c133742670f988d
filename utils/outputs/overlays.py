"""PNG overlays a person checks at a glance: the slice with its predicted membranes in red, its
cells in colours when they were computed, and the labels beside them when they are known."""
import os

import numpy as np
from PIL import Image, ImageDraw

from utils.data.dataset import MEMBRANE
from utils.outputs import masks
from utils.outputs.names import OVERLAY_DIR
from utils.runtime.disk import write_atomically

_MEMBRANE_RGB = np.array([255, 40, 40], dtype=np.float32)
_ALPHA = 0.55

PREDICTION_TITLE = 'prediction (membranes in red)'
CELLS_TITLE = 'cells (a colour each, lines in black)'
LABELS_TITLE = 'labels (membranes in red)'
TITLE_BAND = 14
"""Pixels of white above the panels, for their titles."""
_CELL_ALPHA = 0.45


def _grey(image):
    """The grey slice as float32 RGB `[H, W, 3]`, to blend colours into."""
    return np.repeat(image[..., None].astype(np.float32), 3, axis=-1)


def overlay(image, membrane):
    """The grey slice with `membrane` (bool `[H, W]`) tinted red: uint8 `[H, W, 3]`."""
    grey = _grey(image)
    tinted = np.where(membrane[..., None], (1 - _ALPHA) * grey + _ALPHA * _MEMBRANE_RGB, grey)
    return tinted.round().astype(np.uint8)


def cell_colours(image, cells):
    """The grey slice under a colour per cell, its lines black: uint8 `[H, W, 3]`. A cell's
    colour depends on its number alone, so the same cells look the same in every picture."""
    palette = np.random.default_rng(0).integers(40, 256, size=(int(cells.max()) + 1, 3))
    tinted = (1 - _CELL_ALPHA) * _grey(image) + _CELL_ALPHA * palette[cells]
    return np.where(cells[..., None] == 0, 0.0, tinted).round().astype(np.uint8)


def panels(image, background_probs, classes=None, cells=None):
    """Side by side under their titles: the page, its predicted membranes, its cells when
    `cells` are given, and its labelled membranes when `classes` are: an RGB PIL image."""
    titled_pictures = [('image', np.repeat(image[..., None], 3, axis=-1)),
                       (PREDICTION_TITLE, overlay(image, ~masks.background_mask(background_probs)))]
    if cells is not None:
        titled_pictures.append((CELLS_TITLE, cell_colours(image, np.asarray(cells))))
    if classes is not None:
        titled_pictures.append((LABELS_TITLE, overlay(image, classes == MEMBRANE)))
    titles, pictures = zip(*titled_pictures)
    row = Image.fromarray(np.concatenate(pictures, axis=1))
    titled = Image.new('RGB', (row.width, row.height + TITLE_BAND), 'white')
    titled.paste(row, (0, TITLE_BAND))
    draw = ImageDraw.Draw(titled)
    for index, title in enumerate(titles):
        draw.text((index * image.shape[1] + 2, 1), title, fill='black')
    return titled


def write_overlays(pred_dir, volume, background_probs, classes=None, cells=None):
    """One PNG per slice in <pred_dir>/overlays (panels). Returns the overlays' directory."""
    directory = os.path.join(pred_dir, OVERLAY_DIR)
    os.makedirs(directory, exist_ok=True)
    for page, image in enumerate(volume):
        picture = panels(image, background_probs[page],
                         None if classes is None else classes[page],
                         None if cells is None else cells[page])
        path = os.path.join(directory, f'slice_{page:03d}.png')
        write_atomically(path, lambda f, picture=picture: picture.save(f, format='PNG'))
    return directory

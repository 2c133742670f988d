"""What predict and evaluate leave for people and for the challenge: TIFs, PNG overlays,
metrics."""
import json
import os

import numpy as np
from PIL import Image

from utils.dataset import MEMBRANE
from utils.metrics import hard_dice
from utils.files import write_atomically
from utils.tiff_io import write_stack

PROBS_FILE = 'test-probs.tif'
MASKS_FILE = 'test-masks.tif'
METRICS_FILE = 'metrics.json'
EVAL_PROBS_FILE = 'held-out-probs.tif'
OVERLAY_DIR = 'overlays'
_MEMBRANE_RGB = np.array([255, 40, 40], dtype=np.float32)
_ALPHA = 0.55


def write_predictions(pred_dir, background_probs):
    """Writes the challenge's probability stack and its 0/255 masks.

    Args:
        background_probs: float32 `[pages, H, W]`, probability of non-membrane per pixel.
    """
    write_stack(os.path.join(pred_dir, PROBS_FILE), background_probs.astype(np.float32))
    masks = np.where(background_probs >= 0.5, 255, 0).astype(np.uint8)
    write_stack(os.path.join(pred_dir, MASKS_FILE), masks)


def prediction_bytes(shape, classes=None):
    """At most what write_predictions and write_overlays write for a `[pages, H, W]` volume:
    float32 and 8-bit stacks, and an overlay of 2 or 3 RGB panels per page (PNG compresses
    it)."""
    pages, height, width = shape
    panels = 3 if classes is not None else 2
    return pages * height * width * (4 + 1 + 3 * panels)


def evaluation_bytes(shape):
    """What write_evaluation writes: the float32 stack and a small metrics.json."""
    pages, height, width = shape
    return pages * height * width * 4 + 2 ** 12


def membrane_dice(background_probs, classes):
    """Hard Dice of the membrane class: probabilities thresholded at 0.5 against the labels."""
    return hard_dice(background_probs < 0.5, classes == MEMBRANE)


def write_metrics(directory, metrics):
    text = json.dumps(metrics, indent=2, sort_keys=True) + '\n'
    write_atomically(os.path.join(directory, METRICS_FILE), lambda f: f.write(text.encode()))


def write_evaluation(eval_dir, record, background_probs):
    """metrics.json and the held-out slices' probabilities of non-membrane (float32 TIF)."""
    write_stack(os.path.join(eval_dir, EVAL_PROBS_FILE), background_probs.astype(np.float32))
    write_metrics(eval_dir, record)


def overlay(image, membrane):
    """The grey slice with `membrane` (bool `[H, W]`) tinted red: uint8 `[H, W, 3]`."""
    grey = np.repeat(image[..., None].astype(np.float32), 3, axis=-1)
    tinted = np.where(membrane[..., None], (1 - _ALPHA) * grey + _ALPHA * _MEMBRANE_RGB, grey)
    return tinted.round().astype(np.uint8)


def write_overlays(pred_dir, volume, background_probs, classes=None):
    """One PNG per slice: the input, the predicted membranes, and the labels when known."""
    directory = os.path.join(pred_dir, OVERLAY_DIR)
    os.makedirs(directory, exist_ok=True)
    for page, image in enumerate(volume):
        panels = [np.repeat(image[..., None], 3, axis=-1),
                  overlay(image, background_probs[page] < 0.5)]
        if classes is not None:
            panels.append(overlay(image, classes[page] == MEMBRANE))
        picture = Image.fromarray(np.concatenate(panels, axis=1))
        path = os.path.join(directory, f'slice_{page:03d}.png')
        write_atomically(path, lambda f, picture=picture: picture.save(f, format='PNG'))
    return directory

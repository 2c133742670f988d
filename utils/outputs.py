"""What predict and evaluate leave for people and for the challenge: TIFs, PNG overlays,
metrics."""
import json
import os

import numpy as np
from PIL import Image, ImageDraw, TiffImagePlugin

from utils.data_files import MEMBRANE
from utils.metrics import hard_dice
from utils import files
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


def evaluation_bytes(volume):
    """What write_evaluation writes for `volume`'s slices: float32 pages, a small
    metrics.json."""
    return sum(page.size for page in volume) * 4 + 2 ** 12


def membrane_dice(background_probs, classes):
    """Hard Dice of the membrane class: probabilities thresholded at 0.5 against the labels."""
    return hard_dice(background_probs < 0.5, classes == MEMBRANE)


def write_metrics(directory, metrics):
    text = json.dumps(metrics, indent=2, sort_keys=True) + '\n'
    write_atomically(os.path.join(directory, METRICS_FILE), lambda f: f.write(text.encode()))


def write_evaluation(eval_dir, record, background_probs):
    """metrics.json and the held-out slices' probabilities of non-membrane (float32 TIF)."""
    write_stack(os.path.join(eval_dir, EVAL_PROBS_FILE),
                [np.asarray(page, np.float32) for page in background_probs])
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


MASK_SUFFIX = {'tiff': '.tif', 'png': '.png', 'jpeg': '.png'}
"""The mask's file kind for an input of each kind: its own, but PNG for JPEG (a lossy mask of
0 and 255 would not be one)."""


def output_paths(output_dir, image_file, overlays):
    """Every file FileOutputs writes for `image_file` (a utils.images.ImageFile)."""
    stem = image_file.stem
    # Several pages need a stack: TIFF, whatever the input (an animated PNG, say).
    mask_suffix = MASK_SUFFIX[image_file.kind] if image_file.pages == 1 else '.tif'
    paths = [os.path.join(output_dir, f'{stem}_probs.tif'),
             os.path.join(output_dir, f'{stem}_mask{mask_suffix}')]
    if overlays:
        names = ([f'{stem}.png'] if image_file.pages == 1 else
                 [f'{stem}_page_{page:03d}.png' for page in range(image_file.pages)])
        paths += [os.path.join(output_dir, OVERLAY_DIR, name) for name in names]
    return paths


class FileOutputs:
    """The outputs of one input file, written page by page as predictions arrive:
    `<stem>_probs.tif` (float32, the probability of non-membrane, a page per page),
    `<stem>_mask.tif` or `.png` (0 = membrane, 255 = background, as the training labels),
    and with `overlays` a PNG per page with a legend. Each goes to a temporary file beside
    its target and is renamed over it by close(), so no output is ever half-written.
    """

    def __init__(self, output_dir, image_file, overlays):
        self.image_file = image_file
        self.paths = output_paths(output_dir, image_file, overlays)
        self.overlays = overlays
        self.temporaries = {}
        self._stacks = {}

    def _temporary(self, path):
        handle, self.temporaries[path] = files.temporary_beside(path)
        return handle

    def _append_page(self, path, array):
        """Appends a page to the multi-page TIFF being written for `path`."""
        if path not in self._stacks:
            handle = self._temporary(path)
            writer = TiffImagePlugin.AppendingTiffWriter(handle, True)
            self._stacks[path] = (handle, writer)
        _, writer = self._stacks[path]
        Image.fromarray(array).save(writer, format='TIFF')
        writer.newFrame()

    def add(self, page_index, image, probs):
        """Writes one page: the probabilities, the mask, the overlay."""
        try:
            self._add(page_index, image, probs)
        except OSError as err:
            path = err.filename or self.paths[0]
            self.abort()
            if files.is_disk_full(err):
                raise files.DiskFull(files.disk_full_message(
                    path, f'the outputs of {self.image_file.path}',
                    advice='free some space, or use another --output_dir')) from None
            raise

    def _add(self, page_index, image, probs):
        probs_path, mask_path = self.paths[:2]
        self._append_page(probs_path, probs.astype(np.float32))
        mask = np.where(probs >= 0.5, 255, 0).astype(np.uint8)
        if mask_path.endswith('.tif'):
            self._append_page(mask_path, mask)
        else:
            with self._temporary(mask_path) as handle:
                Image.fromarray(mask).save(handle, format='PNG')
        if self.overlays:
            with self._temporary(self.paths[2 + page_index]) as handle:
                legend_overlay(image, probs < 0.5).save(handle, format='PNG')

    def close(self):
        """Renames every output into place; returns their paths."""
        for handle, writer in self._stacks.values():
            writer.close()
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        self._stacks = {}
        for path, tmp in self.temporaries.items():
            os.replace(tmp, path)
        self.temporaries = {}
        return self.paths

    def abort(self):
        """Removes what was written; the targets stay as they were."""
        for handle, _ in self._stacks.values():
            handle.close()
        self._stacks = {}
        for tmp in self.temporaries.values():
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        self.temporaries = {}


LEGEND = ('image', 'membrane (red)')
"""The overlay panels' titles, left to right."""


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

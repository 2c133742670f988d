"""Writing what predict and evaluate leave: the challenge's probability stack and masks,
metrics.json, and a user's own files' outputs page by page. Every file appears whole or not
at all, and a full disk ends in one line (utils.runtime.disk)."""
import json
import os

import numpy as np
from PIL import Image, TiffImagePlugin

from utils.data.tiff_io import write_stack
from utils.outputs import masks
from utils.outputs.names import (EVAL_PROBS_FILE, MASKS_FILE, METRICS_FILE, PROBS_FILE,
                                 output_paths)
from utils.outputs.overlays import panels
from utils.runtime import disk


def write_predictions(pred_dir, background_probs):
    """Writes the challenge's probability stack and its 0/255 masks.

    Args:
        background_probs: float32 `[pages, H, W]`, probability of non-membrane per pixel.
    """
    write_stack(os.path.join(pred_dir, PROBS_FILE), background_probs.astype(np.float32))
    write_stack(os.path.join(pred_dir, MASKS_FILE), masks.mask_image(background_probs))


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


def write_metrics(directory, metrics):
    text = json.dumps(metrics, indent=2, sort_keys=True) + '\n'
    disk.write_atomically(os.path.join(directory, METRICS_FILE),
                          lambda f: f.write(text.encode()))


def write_evaluation(eval_dir, record, background_probs):
    """metrics.json and the held-out slices' probabilities of non-membrane (float32 TIF)."""
    write_stack(os.path.join(eval_dir, EVAL_PROBS_FILE),
                [np.asarray(page, np.float32) for page in background_probs])
    write_metrics(eval_dir, record)


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
        handle, self.temporaries[path] = disk.temporary_beside(path)
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
        """Writes one page: the probabilities, the mask, the overlay. On any error what was
        written is removed; a full disk ends in DiskFull naming the file."""
        with disk.full_disk_reported(lambda err: err.filename or self.paths[0],
                                     f'the outputs of {self.image_file.path}',
                                     advice='free some space, or use another --output_dir'):
            try:
                self._add(page_index, image, probs)
            except OSError:
                self.abort()
                raise

    def _add(self, page_index, image, probs):
        probs_path, mask_path = self.paths[:2]
        self._append_page(probs_path, probs.astype(np.float32))
        mask = masks.mask_image(probs)
        if mask_path.endswith('.tif'):
            self._append_page(mask_path, mask)
        else:
            with self._temporary(mask_path) as handle:
                Image.fromarray(mask).save(handle, format='PNG')
        if self.overlays:
            with self._temporary(self.paths[2 + page_index]) as handle:
                panels(image, probs).save(handle, format='PNG')

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

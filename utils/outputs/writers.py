"""Writing what predict and evaluate leave: the challenge's probability stack and masks,
metrics.json, and a user's own files' outputs page by page. Every file appears whole or not
at all, and a full disk ends in one line (utils.runtime.disk)."""
import json
import os

import numpy as np
from PIL import Image, TiffImagePlugin

from utils.data.tiff_io import write_stack
from utils.outputs import cells as cells_lib
from utils.outputs import masks
from utils.outputs.names import (CELLS_FILE, CLOSED_MASKS_FILE, EVAL_CELLS_FILE,
                                 EVAL_PROBS_FILE, MASKS_FILE, METRICS_FILE, PROBS_FILE,
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


def write_cells(pred_dir, background_probs, cells):
    """Writes the cells (16- or 32-bit labels, utils.outputs.cells) and the closed-contour
    masks (0 = membrane or a line between cells, 255 = cell)."""
    write_stack(os.path.join(pred_dir, CELLS_FILE), cells_lib.as_labels(cells))
    write_stack(os.path.join(pred_dir, CLOSED_MASKS_FILE),
                [cells_lib.closed_mask_image(probs, page_cells)
                 for probs, page_cells in zip(background_probs, cells)])


def bytes_per_pixel(panels, cells):
    """At most what the outputs of a page take per pixel: the float32 probabilities and the
    8-bit mask, with `cells` their 32-bit labels and the closed mask, and `panels` RGB
    overlay panels (PNG compresses them)."""
    return 4 + 1 + (4 + 1 if cells else 0) + 3 * panels


def prediction_bytes(shape, classes=None, cells=False):
    """At most what write_predictions, write_cells and write_overlays write for a
    `[pages, H, W]` volume: an overlay of the image, the prediction, the cells with `cells`
    and the labels where they exist."""
    pages, height, width = shape
    panels = 2 + (classes is not None) + cells
    return pages * height * width * bytes_per_pixel(panels, cells)


def evaluation_bytes(volume, cells=False):
    """What write_evaluation writes for `volume`'s slices: float32 pages, the cells' 32-bit
    labels with `cells`, a small metrics.json."""
    return sum(page.size for page in volume) * (8 if cells else 4) + 2 ** 12


def write_metrics(directory, metrics):
    text = json.dumps(metrics, indent=2, sort_keys=True) + '\n'
    disk.write_atomically(os.path.join(directory, METRICS_FILE),
                          lambda f: f.write(text.encode()))


def write_evaluation(eval_dir, record, background_probs, cells=None):
    """metrics.json, the held-out slices' probabilities of non-membrane (float32 TIF) and,
    when given, their cells."""
    write_stack(os.path.join(eval_dir, EVAL_PROBS_FILE),
                [np.asarray(page, np.float32) for page in background_probs])
    if cells is not None:
        write_stack(os.path.join(eval_dir, EVAL_CELLS_FILE), cells_lib.as_labels(cells))
    write_metrics(eval_dir, record)


class FileOutputs:
    """The outputs of one input file, written page by page as predictions arrive:
    `<stem>_probs.tif` (float32, the probability of non-membrane, a page per page),
    `<stem>_mask.tif` or `.png` (0 = membrane, 255 = background, as the training labels),
    with a `watershed` (utils.outputs.cells) `<stem>_cells.tif` and `<stem>_closed_mask`, and
    with `overlays` a PNG per page with a legend. Each goes to a temporary file beside
    its target and is renamed over it by close(), so no output is ever half-written.
    """

    def __init__(self, output_dir, image_file, overlays, watershed=None):
        self.image_file = image_file
        self.paths = output_paths(output_dir, image_file, overlays, watershed is not None)
        self.watershed = watershed
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
        with disk.full_disk_reported(lambda err: err.filename or self.paths.probs,
                                     f'the outputs of {self.image_file.path}',
                                     advice='free some space, or use another --output_dir'):
            try:
                self._add(page_index, image, probs)
            except OSError:
                self.abort()
                raise

    def _add(self, page_index, image, probs):
        self._append_page(self.paths.probs, probs.astype(np.float32))
        self._add_mask(self.paths.mask, masks.mask_image(probs))
        cells = None
        if self.watershed is not None:
            cells = self.watershed.cells(probs)
            # Each page's type holds its own cells: a stack's pages are numbered alone.
            self._append_page(self.paths.cells, cells_lib.as_labels([cells])[0])
            self._add_mask(self.paths.closed_mask, cells_lib.closed_mask_image(probs, cells))
        if self.paths.overlays:
            with self._temporary(self.paths.overlays[page_index]) as handle:
                panels(image, probs, cells=cells).save(handle, format='PNG')

    def _add_mask(self, path, mask):
        if path.endswith('.tif'):
            self._append_page(path, mask)
        else:
            with self._temporary(path) as handle:
                Image.fromarray(mask).save(handle, format='PNG')

    def close(self):
        """Renames every output into place; returns their paths (names.OutputPaths)."""
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

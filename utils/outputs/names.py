"""The names of the files prediction and evaluation write, in <model_dir> and --output_dir:
one place, read both by the writers and by the checks made before a run writes anything."""
import dataclasses
import os

PROBS_FILE = 'test-probs.tif'
MASKS_FILE = 'test-masks.tif'
CELLS_FILE = 'test-cells.tif'
CLOSED_MASKS_FILE = 'test-closed-masks.tif'
METRICS_FILE = 'metrics.json'
EVAL_PROBS_FILE = 'held-out-probs.tif'
EVAL_CELLS_FILE = 'held-out-cells.tif'
OVERLAY_DIR = 'overlays'

MASK_SUFFIX = {'tiff': '.tif', 'png': '.png', 'jpeg': '.png'}
"""The mask's file kind for an input of each kind: its own, but PNG for JPEG (a lossy mask of
0 and 255 would not be one)."""


@dataclasses.dataclass(frozen=True)
class OutputPaths:
    """The files of one input; iterating gives every one that is written."""
    probs: str
    mask: str
    cells: str = None
    closed_mask: str = None
    overlays: tuple = ()

    def __iter__(self):
        named = (self.probs, self.mask, self.cells, self.closed_mask) + self.overlays
        return iter([path for path in named if path is not None])


def output_paths(output_dir, image_file, overlays, cells=False):
    """Every file utils.outputs.writers.FileOutputs writes for `image_file` (a
    utils.data.images.ImageFile): probabilities, mask, with `cells` the cells and the
    closed-contour mask, and with `overlays` one overlay per page."""
    stem = image_file.stem
    # Several pages need a stack: TIFF, whatever the input (an animated PNG, say).
    mask_suffix = MASK_SUFFIX[image_file.kind] if image_file.pages == 1 else '.tif'
    names = ()
    if overlays:
        names = ((f'{stem}.png',) if image_file.pages == 1 else
                 tuple(f'{stem}_page_{page:03d}.png' for page in range(image_file.pages)))

    def path(name):
        return os.path.join(output_dir, name)

    return OutputPaths(
        probs=path(f'{stem}_probs.tif'), mask=path(f'{stem}_mask{mask_suffix}'),
        # Labels above 255 need 16 or 32 bits: TIFF, whatever the input.
        cells=path(f'{stem}_cells.tif') if cells else None,
        closed_mask=path(f'{stem}_closed_mask{mask_suffix}') if cells else None,
        overlays=tuple(path(os.path.join(OVERLAY_DIR, name)) for name in names))

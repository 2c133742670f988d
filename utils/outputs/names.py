"""The names of the files prediction and evaluation write, in <model_dir> and --output_dir:
one place, read both by the writers and by the checks made before a run writes anything."""
import os

PROBS_FILE = 'test-probs.tif'
MASKS_FILE = 'test-masks.tif'
METRICS_FILE = 'metrics.json'
EVAL_PROBS_FILE = 'held-out-probs.tif'
OVERLAY_DIR = 'overlays'

MASK_SUFFIX = {'tiff': '.tif', 'png': '.png', 'jpeg': '.png'}
"""The mask's file kind for an input of each kind: its own, but PNG for JPEG (a lossy mask of
0 and 255 would not be one)."""


def output_paths(output_dir, image_file, overlays):
    """Every file utils.outputs.writers.FileOutputs writes for `image_file` (a
    utils.data.images.ImageFile): probabilities, mask, and one overlay per page."""
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

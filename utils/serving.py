"""The exported model: its export, its serving signature, and the loader that tiles images for
it.

`--exec_mode export` writes a SavedModel whose signature takes a batch of tiles, float32
`[n, h, w, 1]` with intensities 0..255 and h, w each 16k + 124 (any such size), and returns
their probabilities `[n, h - 184, w - 184, 2]`. ExportedUNet, below, turns that into a
function of whole images of any size, with the overlap-tile strategy `predict` uses:

    from utils.serving import ExportedUNet
    unet = ExportedUNet('results/export/1795714932')
    probabilities = unet(image)  # [H, W] intensities 0..255 -> [H, W] P(non-membrane)

or, for a TIFF stack, `python -m utils.serving --saved_model DIR --input in.tif --output
out.tif`. It needs TensorFlow, not this project's checkpoints or flags.
"""
import argparse
import sys

import numpy as np
import tensorflow as tf

from utils import checkpoints, files
from utils.data_loader import normalize
from utils.data_files import BACKGROUND
from utils.tiling import extract_tiles, plan_tiles, stitch, tiles_per_batch

TILES = 'tiles'
"""The signature's input."""
PROBABILITIES = 'probabilities'
"""The signature's output."""


def serving_input_receiver_fn():
    """The Estimator's receiver for export: raw intensities in, normalised as in training."""
    tiles = tf.compat.v1.placeholder(tf.float32, [None, None, None, 1], name=TILES)
    return tf.estimator.export.TensorServingInputReceiver(normalize(tiles), {TILES: tiles})


def export(estimator, params, logger):
    """Writes a SavedModel of the newest checkpoint under export_dir.

    Returns:
        The SavedModel's directory.
    """
    try:
        path = estimator.export_saved_model(params.export_dir, serving_input_receiver_fn)
    except (tf.errors.OpError, OSError) as err:
        if not files.is_disk_full(err):
            raise
        files.remove_temporaries(params.model_dir)
        needed = checkpoints.weights_bytes(estimator.latest_checkpoint())
        raise files.DiskFull(files.disk_full_message(
            params.export_dir, 'a SavedModel', needed)) from None
    path = path.decode() if isinstance(path, bytes) else path
    logger.message(f'exported step {checkpoints.checkpoint_step(estimator.model_dir)} to '
                   f'{path}: load it with utils.serving.ExportedUNet')
    return path


class ExportedUNet:
    """A SavedModel of --exec_mode export as a function of images of any size (H, W >= 1)."""

    def __init__(self, saved_model_dir):
        self._signature = tf.saved_model.load(saved_model_dir).signatures['serving_default']

    def predict_tiles(self, tiles):
        """Probabilities `[n, h - 184, w - 184, 2]` of uint8 or float tiles `[n, h, w]`."""
        batch = tf.constant(np.asarray(tiles, np.float32)[..., None])
        return self._signature(**{TILES: batch})[PROBABILITIES].numpy()

    def __call__(self, image, batch_size=4):
        """Probability of non-membrane of every pixel of `image` (`[H, W]`, 0..255), its
        tiles predicted `batch_size` at a time (fewer when they are large)."""
        image = np.asarray(image, np.float32)
        if image.ndim != 2 or min(image.shape) < 1:
            raise ValueError(f'expected one [H, W] image with H, W >= 1, got {image.shape}')
        plan = plan_tiles(*image.shape)
        tiles = extract_tiles(image, plan)
        per_batch = tiles_per_batch(plan.input_shape, batch_size)
        outputs = np.concatenate([self.predict_tiles(tiles[i:i + per_batch])
                                  for i in range(0, len(tiles), per_batch)])
        return stitch(list(outputs[..., BACKGROUND]), plan)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Predict a TIFF stack with an exported U-Net.')
    parser.add_argument('--saved_model', required=True, help='A directory export wrote')
    parser.add_argument('--input', required=True, help='TIFF stack of slices to segment')
    parser.add_argument('--output', required=True,
                        help='TIFF stack to write: float32 probability of non-membrane')
    args = parser.parse_args(argv)
    from utils.errors import UserError
    from utils.tiff_io import read_stack, write_stack
    try:
        volume = read_stack(args.input)
        unet = ExportedUNet(args.saved_model)
        write_stack(args.output, np.stack([unet(page) for page in volume]).astype(np.float32))
    except UserError as err:  # A bad input file, or a full disk under --output.
        print(f'error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())

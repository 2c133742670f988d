"""An exported model (utils.run.export) as a function of images of any size, with the
overlap-tile strategy `predict` uses, and a command line for TIFF stacks:

    from utils.run.exported_unet import ExportedUNet
    unet = ExportedUNet('results/export/1795714932')
    probabilities = unet(image)  # [H, W] intensities 0..255 -> [H, W] P(non-membrane)

    python -m utils.run.exported_unet --saved_model DIR --input in.tif --output out.tif

It needs TensorFlow, not this project's checkpoints or flags.
"""
import argparse
import sys

import numpy as np
import tensorflow as tf

from utils.data.dataset import BACKGROUND
from utils.data.tiff_io import read_stack, write_stack
from utils.data.tiling import extract_tiles, plan_tiles, stitch, tiles_per_batch
from utils.run.export import PROBABILITIES, TILES
from utils.runtime.errors import UserError


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

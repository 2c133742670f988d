"""--exec_mode export: a SavedModel of the newest checkpoint, whose signature takes a batch of
tiles, float32 `[n, h, w, 1]` with intensities 0..255 and h, w each 16k + 124 (any such size),
and returns their probabilities `[n, h - 184, w - 184, 2]`. utils.run.exported_unet loads it
as a function of whole images."""
import tensorflow as tf

from utils.data.input_fns import normalize
from utils.run import checkpoints
from utils.runtime import disk

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
    with disk.full_disk_reported(
            params.export_dir, 'a SavedModel',
            lambda _: checkpoints.weights_bytes(estimator.latest_checkpoint()),
            cleanup=lambda: disk.remove_temporaries(params.model_dir)):
        path = estimator.export_saved_model(params.export_dir, serving_input_receiver_fn)
    path = path.decode() if isinstance(path, bytes) else path
    logger.message(f'exported step {checkpoints.checkpoint_step(estimator.model_dir)} to '
                   f'{path}: load it with utils.run.exported_unet.ExportedUNet')
    return path

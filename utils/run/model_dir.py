"""--model_dir before a run starts: may it write there, and do its checkpoints fit this network?

Every problem is a UserError naming --model_dir, raised before anything is written, so a
bad directory or a checkpoint of another network fails in seconds with one line instead of
deep inside TensorFlow's restore, after the Estimator has already created files.
"""
import os
import tempfile

import tensorflow as tf

import dllogger
from model.sizes import output_size
from utils.graph.model_fn import build_model_fn
from utils.graph.weight_average import AVERAGE_NAME
from utils.run.checkpoints import (OPTIMIZER_SLOTS, bytes_on_disk, checkpoint_bytes,
                                   graph_variables, latest_checkpoint)
from utils.runtime import disk, distributed as dist_lib, precision
from utils.runtime.errors import UserError, error_text


def check_writable(model_dir):
    """Raises UserError unless `model_dir` is, or can be created as, a writable directory.

    Writes nothing lasting: a probe file is created and removed in the directory, or in its
    nearest existing parent when it does not exist yet (it is created later, when needed).
    """
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise UserError(f'--model_dir={model_dir}: exists and is not a directory')
    existing = os.path.abspath(model_dir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UserError(f'--model_dir={model_dir}: {existing} is a file, not a directory')
    try:
        with tempfile.TemporaryFile(dir=existing, prefix='.unet_write_probe_'):
            pass
    except OSError as err:
        where = '' if existing == os.path.abspath(model_dir) else f' ({existing})'
        raise UserError(f'--model_dir={model_dir}: not writable{where}: {err.strerror}') from None


def check_trained(model_dir):
    if latest_checkpoint(model_dir) is None:
        raise UserError(f'--model_dir={model_dir}: no checkpoint to predict with; '
                        'train first (--exec_mode train or train_and_predict)')


def check_checkpoint(model_dir, expected):
    """Raises UserError unless the newest checkpoint holds every variable of `expected`
    ({name: shape}, from graph_variables) with the same shape. No checkpoint passes."""
    checkpoint = latest_checkpoint(model_dir)
    if checkpoint is None:
        return
    name = os.path.basename(checkpoint)
    try:
        stored = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.OpError, ValueError) as err:
        reason = error_text(err)
        raise UserError(f'--model_dir={model_dir}: checkpoint {name} cannot be read '
                        f'({reason.splitlines()[0]}); move it away or use another '
                        '--model_dir') from None
    missing = sorted(set(expected) - set(stored))
    reshaped = sorted(v for v in set(expected) & set(stored) if expected[v] != stored[v])
    if not missing and not reshaped:
        return
    if missing and not reshaped and all(v.endswith('/' + AVERAGE_NAME) for v in missing):
        raise UserError(f'--model_dir={model_dir}: checkpoint {name} was written without '
                        '--ema_decay, which cannot start averaging midway; resume without it '
                        'or use another --model_dir')
    if missing and not reshaped and all(any(s in v for s in OPTIMIZER_SLOTS) for v in missing):
        cause = 'written with another --optimizer'
    else:
        cause = 'written by a different network'
    details = [f'{len(missing)} variable(s) missing, e.g. {missing[0]}'] if missing else []
    if reshaped:
        v = reshaped[0]
        details.append(f'{v} has shape {stored[v]} there but {expected[v]} here')
    raise UserError(f'--model_dir={model_dir}: checkpoint {name} was {cause} '
                    f'({"; ".join(details)}); use another --model_dir')


def check_model_dir(params, distributed, amp=precision.Amp()):
    """Checks --model_dir before anything is built or written in it: writable, holding a
    checkpoint when predicting alone, and no checkpoint of another network or optimizer.

    Returns:
        A warning for the log when the run's checkpoints may not fit on the disk, or None.

    Raises:
        UserError: naming --model_dir and the problem.
    """
    if not distributed.is_chief:  # Only rank 0 uses --model_dir.
        return None
    check_writable(params.model_dir)
    if params.timing_only:  # A benchmark neither reads nor writes a checkpoint.
        return None
    if params.saved_model:  # --model_dir only takes the log.
        return None
    if not params.trains:  # Predicting or evaluating a trained model.
        check_trained(params.model_dir)
    variables = _graph_variables(params, amp)
    check_checkpoint(params.model_dir, variables)
    if not params.trains:
        return None
    return _checkpoint_space_warning(params, checkpoint_bytes(variables))


def _checkpoint_space_warning(params, each):
    """Warns when --model_dir cannot hold what this run's checkpoints may take at once: the
    --keep_checkpoint_max kept, one being written, and the best one's copy (--eval_every),
    less what the checkpoints already there take."""
    at_once = params.keep_checkpoint_max + 1 + (1 if params.eval_every else 0)
    needed = each * at_once - bytes_on_disk(params.model_dir)
    what = (f'this run\'s checkpoints ({disk.megabytes(each)} each, up to {at_once} at once '
            f'with --keep_checkpoint_max {params.keep_checkpoint_max})')
    return disk.space_warning(params.model_dir, needed, what, checkpoint_advice(params))


def checkpoint_advice(params):
    """What to do when --model_dir has no room for the checkpoints."""
    return (f'free some space, lower --keep_checkpoint_max ({params.keep_checkpoint_max}), or '
            'use another --model_dir')


def _graph_variables(params, amp):
    """{name: shape} of the variables this run's graph restores from a checkpoint (our loss
    scaling adds some)."""
    mode = tf.estimator.ModeKeys.TRAIN if params.trains else tf.estimator.ModeKeys.PREDICT
    model_fn = build_model_fn(dllogger.Logger(), dist_lib.Distributed(), amp)
    out = output_size(params.input_size)

    def build():
        features = tf.compat.v1.placeholder(
            tf.float32, [None, params.input_size, params.input_size, 1])
        labels = {'classes': tf.compat.v1.placeholder(tf.int32, [None, out, out]),
                  'pixel_weights': tf.compat.v1.placeholder(tf.float32, [None, out, out])}
        model_fn(features, labels, mode, params)
    return graph_variables(build)

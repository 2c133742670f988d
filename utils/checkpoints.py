"""--model_dir before a run starts: may it write there, and do its checkpoints fit this network?

Every problem is a UserError naming --model_dir, raised before anything is written, so a
bad directory or a checkpoint of another network fails in seconds with one line instead of
deep inside TensorFlow's restore, after the Estimator has already created files.
"""
import glob
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from utils import files, outputs
from utils.errors import UserError
from utils.weight_average import AVERAGE_NAME

_OPTIMIZER_SLOTS = ('/Momentum', '/Adam', 'beta1_power', 'beta2_power')
"""Name parts of the variables an optimizer adds: missing alone, they mean another --optimizer."""


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


def latest_checkpoint(model_dir):
    """Path prefix of the newest checkpoint in `model_dir`, or None."""
    if not os.path.isdir(model_dir):
        return None
    return tf.train.latest_checkpoint(model_dir)


def checkpoint_step(model_dir):
    """The global step of the newest checkpoint in `model_dir`, 0 when there is none."""
    checkpoint = latest_checkpoint(model_dir)
    if checkpoint is None:
        return 0
    return int(tf.train.load_variable(checkpoint, 'global_step'))


def checkpoint_bytes(variables):
    """About what one checkpoint of `variables` ({name: shape}, float32) takes on disk, with
    its index and graph files."""
    return sum(4 * int(np.prod(shape)) for shape in variables.values()) + 2 ** 20


def bytes_on_disk(model_dir, checkpoint=None):
    """What the files of `checkpoint` (a path prefix), or of every checkpoint in `model_dir`,
    take on disk."""
    pattern = (glob.escape(checkpoint) + '.*' if checkpoint
               else os.path.join(glob.escape(model_dir), 'model.ckpt-*'))
    return sum(os.path.getsize(path) for path in glob.glob(pattern) if os.path.isfile(path))


def weights_bytes(checkpoint):
    """What the network's own variables in `checkpoint` (a path prefix) take, float32: a
    SavedModel holds these, not the optimizer's."""
    return sum(4 * int(np.prod(shape)) for name, shape in tf.train.list_variables(checkpoint)
               if not any(part in name for part in _OPTIMIZER_SLOTS)
               and name != 'global_step')


def check_trained(model_dir):
    if latest_checkpoint(model_dir) is None:
        raise UserError(f'--model_dir={model_dir}: no checkpoint to predict with; '
                        'train first (--exec_mode train or train_and_predict)')


def graph_variables(build_graph):
    """{name: shape} of the global variables `build_graph()` creates in a scratch graph."""
    with tf.Graph().as_default():
        build_graph()
        return {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}


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
        reason = err.message if isinstance(err, tf.errors.OpError) else str(err)
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
    if missing and not reshaped and all(any(s in v for s in _OPTIMIZER_SLOTS) for v in missing):
        cause = 'written with another --optimizer'
    else:
        cause = 'written by a different network'
    details = [f'{len(missing)} variable(s) missing, e.g. {missing[0]}'] if missing else []
    if reshaped:
        v = reshaped[0]
        details.append(f'{v} has shape {stored[v]} there but {expected[v]} here')
    raise UserError(f'--model_dir={model_dir}: checkpoint {name} was {cause} '
                    f'({"; ".join(details)}); use another --model_dir')


def best_score(best_dir, key):
    """`key` of the metrics kept with the best checkpoint, or None when none is kept."""
    try:
        with open(os.path.join(best_dir, outputs.METRICS_FILE)) as f:
            return json.load(f)[key]
    except (OSError, ValueError, KeyError):
        return None


def keep_best(best_dir, checkpoint, metrics):
    """Makes `best_dir` hold a copy of `checkpoint` (a path prefix) and its `metrics`.

    The copy is assembled in a temporary directory beside it and swapped in by renames, so
    `best_dir` always holds one whole checkpoint. It has its own `checkpoint` state file:
    --model_dir <model_dir>/best predicts or evaluates with it. A full disk leaves the
    previous copy in place, removes the partial one and raises DiskFull.
    """
    parent = os.path.dirname(os.path.abspath(best_dir))
    sources = glob.glob(checkpoint + '.*')
    staging = None
    try:
        staging = tempfile.mkdtemp(dir=parent, prefix='.best-')
        os.chmod(staging, files.ordinary_mode(0o777))  # not mkdtemp's 0700
        for path in sources:
            shutil.copy2(path, staging)
        name = os.path.basename(checkpoint)
        with open(os.path.join(staging, 'checkpoint'), 'w') as f:
            f.write(f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n')
        outputs.write_metrics(staging, metrics)
    except (OSError, files.DiskFull) as err:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, files.DiskFull) or files.is_disk_full(err):
            needed = sum(os.path.getsize(path) for path in sources)
            raise files.DiskFull(files.disk_full_message(
                best_dir, f'a copy of the best checkpoint, {os.path.basename(checkpoint)}',
                needed)) from None
        raise
    previous = None
    if os.path.exists(best_dir):
        previous = tempfile.mkdtemp(dir=parent, prefix='.best-old-')
        os.replace(best_dir, os.path.join(previous, 'best'))
    os.replace(staging, best_dir)
    if previous is not None:
        shutil.rmtree(previous)

"""The Estimator of a run: --model_dir checked before anything is written in it, the directory
each rank's Estimator uses, its RunConfig and the session's device and precision settings."""
import contextlib
import os
import tempfile

import tensorflow as tf

import dllogger
from model.sizes import output_size
from utils import checkpoints, distributed as dist_lib, files, precision
from utils.device import Device
from utils.model_fn import build_model_fn


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
    checkpoints.check_writable(params.model_dir)
    if params.benchmarks:  # A benchmark neither reads nor writes a checkpoint.
        return None
    if params.saved_model:  # --model_dir only takes the log.
        return None
    if not params.trains:  # Predicting or evaluating a trained model.
        checkpoints.check_trained(params.model_dir)
    variables = _graph_variables(params, amp)
    checkpoints.check_checkpoint(params.model_dir, variables)
    if not params.trains:
        return None
    return _checkpoint_space_warning(params, checkpoints.checkpoint_bytes(variables))


def _checkpoint_space_warning(params, each):
    """Warns when --model_dir cannot hold what this run's checkpoints may take at once: the
    --keep_checkpoint_max kept, one being written, and the best one's copy (--eval_every),
    less what the checkpoints already there take."""
    at_once = params.keep_checkpoint_max + 1 + (1 if params.eval_every else 0)
    needed = each * at_once - checkpoints.bytes_on_disk(params.model_dir)
    what = (f'this run\'s checkpoints ({files.megabytes(each)} each, up to {at_once} at once '
            f'with --keep_checkpoint_max {params.keep_checkpoint_max})')
    return files.space_warning(params.model_dir, needed, what, checkpoint_advice(params))


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
                  'weights': tf.compat.v1.placeholder(tf.float32, [None, out, out])}
        model_fn(features, labels, mode, params)
    return checkpoints.graph_variables(build)


@contextlib.contextmanager
def estimator_dir(params, distributed):
    """The Estimator's model_dir: --model_dir for rank 0, else a scratch directory deleted
    afterwards.

    Only rank 0 writes into --model_dir: concurrent writers would race on the checkpoint
    files; the other ranks start from rank 0's weights through the broadcast. A benchmark
    runs in scratch on every rank: it neither resumes from nor overwrites a checkpoint.
    """
    if distributed.is_chief and not params.benchmarks:
        yield params.model_dir
    else:
        with tempfile.TemporaryDirectory(prefix=f'unet_rank{distributed.rank}_') as scratch:
            yield scratch


def build_estimator(params, model_dir, logger, distributed, device=Device()):
    # Checkpoints and summaries are rank 0's alone, and no benchmark's; None switches them off.
    keeps = distributed.is_chief and not params.benchmarks
    config = tf.estimator.RunConfig(
        model_dir=model_dir,
        tf_random_seed=params.seed,
        save_summary_steps=params.log_every if keeps else None,
        save_checkpoints_steps=params.save_checkpoints_steps if keeps else None,
        keep_checkpoint_max=params.keep_checkpoint_max,
        session_config=session_config(params, distributed, device),
        log_step_count_steps=None)
    return tf.estimator.Estimator(
        model_fn=build_model_fn(logger, distributed, device.amp), config=config, params=params)


def session_config(params, distributed, device=Device()):
    """Device, precision and compiler settings of every session the Estimator opens."""
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    if device.gpu:
        # One GPU per process.
        config.gpu_options.allow_growth = True
        config.gpu_options.visible_device_list = str(distributed.local_rank)
    else:
        cores = len(os.sched_getaffinity(0))
        # Processes on one machine share its cores instead of each claiming all of them.
        config.intra_op_parallelism_threads = max(1, cores // distributed.local_size)
        # The U-Net is one chain of large ops: parallelism inside ops is what pays.
        config.inter_op_parallelism_threads = 1
    precision.enable_rewrite(config, device.amp)
    if params.use_xla:
        # On CPUs this clusters only with --tf_xla_cpu_global_jit in TF_XLA_FLAGS (main.py).
        config.graph_options.optimizer_options.global_jit_level = (
            tf.compat.v1.OptimizerOptions.ON_1)
    return config

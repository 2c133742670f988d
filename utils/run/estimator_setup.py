"""The Estimator of a run: the directory each rank's Estimator uses, its RunConfig and the
session's device and precision settings."""
import contextlib
import os
import tempfile

import tensorflow as tf

from utils.runtime import precision
from utils.runtime.device import Device
from utils.graph.model_fn import build_model_fn


@contextlib.contextmanager
def estimator_dir(params, distributed):
    """The Estimator's model_dir: --model_dir for rank 0, else a scratch directory deleted
    afterwards.

    Only rank 0 writes into --model_dir: concurrent writers would race on the checkpoint
    files; the other ranks start from rank 0's weights through the broadcast. A benchmark
    runs in scratch on every rank: it neither resumes from nor overwrites a checkpoint.
    """
    if distributed.is_chief and not params.timing_only:
        yield params.model_dir
    else:
        with tempfile.TemporaryDirectory(prefix=f'unet_rank{distributed.rank}_') as scratch:
            yield scratch


def build_estimator(params, model_dir, logger, distributed, device=Device()):
    # Checkpoints and summaries are rank 0's alone, and no benchmark's; None switches them off.
    keeps = distributed.is_chief and not params.timing_only
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

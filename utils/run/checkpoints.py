"""Reading a --model_dir's checkpoints: the newest, its step, what checkpoints take on disk."""
import glob
import os

import numpy as np
import tensorflow as tf

OPTIMIZER_SLOTS = ('/Momentum', '/Adam', 'beta1_power', 'beta2_power')
"""Name parts of the variables an optimizer adds: missing alone, they mean another --optimizer."""


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
               if not any(part in name for part in OPTIMIZER_SLOTS)
               and name != 'global_step')


def graph_variables(build_graph):
    """{name: shape} of the global variables `build_graph()` creates in a scratch graph."""
    with tf.Graph().as_default():
        build_graph()
        return {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}

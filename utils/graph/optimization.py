"""The optimizer and its learning rate at each step: --optimizer, --learning_rate scaled by
--lr_scaling, --lr_schedule after --lr_warmup_steps."""
import math

import tensorflow as tf


def base_learning_rate(params, distributed):
    """--learning_rate, times the number of processes with --lr_scaling linear.

    Gradients are averaged over processes, so N processes take steps of the same size on
    an N times larger global batch; linear scaling (Goyal et al. 2017) keeps the progress
    per image the same.
    """
    if params.lr_scaling == 'linear':
        return params.learning_rate * distributed.size
    return params.learning_rate


def learning_rate_schedule(params, base, global_step):
    """The learning rate at `global_step`: --lr_schedule from `base`, after a linear
    --lr_warmup_steps ramp.

    inverse_time is NVIDIA's recipe's "inverse learning rate decay",
    base / (1 + decay_rate * step / decay_steps): at its 5000 and 0.95 it moves little
    within a few thousand steps. cosine falls from base to 0 over the steps from the end of
    the warm-up to --max_steps, so a short run ends at a small rate whatever its length.
    """
    step = tf.cast(global_step, tf.float32)
    if params.lr_schedule == 'cosine':
        warm = float(params.lr_warmup_steps)
        progress = tf.clip_by_value((step - warm) / (params.max_steps - warm), 0.0, 1.0)
        rate = base * 0.5 * (1.0 + tf.cos(math.pi * progress))
    else:
        rate = tf.compat.v1.train.inverse_time_decay(base, global_step, params.decay_steps,
                                                     params.decay_rate)
    if params.lr_warmup_steps:
        rate = rate * tf.minimum(1.0, (step + 1.0) / params.lr_warmup_steps)
    return rate


def optimizer(params, learning_rate):
    """Adam, or SGD with --momentum, at `learning_rate` (a tensor)."""
    if params.optimizer == 'adam':
        return tf.compat.v1.train.AdamOptimizer(learning_rate)
    return tf.compat.v1.train.MomentumOptimizer(learning_rate, params.momentum)

"""An exponential moving average of the weights (--ema_decay): updated after every training
step, saved in the checkpoints beside the weights, and what prediction, evaluation and export
load in their place whenever the checkpoint holds it.

A run's last weights are one noisy sample of where training was heading: two evaluations a
few dozen steps apart, or two machines with other float rounding, differ by more than the
trends they are meant to show. Their average over the last stretch of the run is steadier
(docs/accuracy.md measures by how much).
"""
import tensorflow as tf

AVERAGE_NAME = 'ExponentialMovingAverage'
"""What tf.train.ExponentialMovingAverage appends to a variable's name for its average."""


def _moving_average(decay, global_step=None):
    # num_updates: the decay starts near 0.1 and grows as (1 + step) / (10 + step) to
    # `decay`, so the random initial weights leave the average within the first steps
    # instead of weighing on it for about 1 / (1 - decay) of them.
    return tf.compat.v1.train.ExponentialMovingAverage(decay, num_updates=global_step,
                                                       name=AVERAGE_NAME)


def after_step(train_op, decay, global_step):
    """`train_op`, then the update of every trainable variable's average."""
    average = _moving_average(decay, global_step)
    with tf.control_dependencies([train_op]):
        return average.apply(tf.compat.v1.trainable_variables())


def loading_saver(checkpoint):
    """A Saver that loads each trainable variable of the current graph from its average in
    `checkpoint` (a path prefix), when the checkpoint holds the averages of all of them;
    None otherwise (the Estimator's own Saver: the weights as trained)."""
    if checkpoint is None:
        return None
    stored = {name for name, _ in tf.train.list_variables(checkpoint)}
    names = _moving_average(0.0).variables_to_restore()
    if not set(names) <= stored:
        return None
    return tf.compat.v1.train.Saver(names)


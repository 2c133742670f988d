"""The finite guard: a NaN or Inf loss or gradient fails the step before the update."""
import numpy as np
import tensorflow as tf

from utils.graph.divergence import finite_guard


def _guard_passes(loss, gradients):
    with tf.Graph().as_default():
        guard = finite_guard(tf.constant(loss), [tf.constant(g) for g in gradients],
                             tf.constant(4, tf.int64), tf.constant(0.5), 'bfloat16')
        with tf.compat.v1.Session() as session:
            try:
                session.run(guard)
                return True
            except tf.errors.InvalidArgumentError as err:
                assert 'DIVERGED step=5 learning_rate=0.5' in err.message
                assert 'amp=bfloat16' in err.message
                return False


def test_finite_guard_checks_loss_and_gradients():
    assert _guard_passes(1.0, [[1.0, 2.0], [3.0]])
    assert not _guard_passes(np.nan, [[1.0]])
    assert not _guard_passes(np.inf, [[1.0]])
    assert not _guard_passes(1.0, [[1.0, np.nan]])
    assert not _guard_passes(1.0, [[np.inf], [1.0]])
    assert _guard_passes(1.0, [])  # float16 runs leave gradients to loss scaling.

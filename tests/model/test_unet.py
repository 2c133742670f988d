import numpy as np
import pytest
import tensorflow as tf

from model.sizes import INPUT_TILE, OUTPUT_TILE
from model.unet import unet


def _build(size, training, batch=1):
    """The graph, its image placeholder and logits; training adds a dropout-seed placeholder."""
    graph = tf.Graph()
    with graph.as_default():
        inputs = tf.compat.v1.placeholder(tf.float32, [batch, size, size, 1])
        seed = tf.compat.v1.placeholder(tf.int64, [2]) if training else None
        logits = unet(inputs, seed)
    return graph, inputs, logits, seed


def test_paper_shapes_and_parameter_count():
    graph, _, logits, _ = _build(INPUT_TILE, training=True)
    assert logits.shape.as_list() == [1, OUTPUT_TILE, OUTPUT_TILE, 2]
    with graph.as_default():
        count = sum(np.prod(v.shape) for v in tf.compat.v1.trainable_variables())
    assert count == 31_030_658


@pytest.mark.parametrize('size', [500, 571, 100])
def test_invalid_input_size_is_refused(size):
    with pytest.raises(ValueError, match='nearest valid'):
        _build(size, training=False)


def test_non_square_valid_input():
    graph = tf.Graph()
    with graph.as_default():
        logits = unet(tf.zeros([2, 204, 252, 1]))
    assert logits.shape.as_list() == [2, 20, 68, 2]


def test_dropout_only_in_training_and_drawn_from_its_seed():
    batch = np.random.default_rng(0).uniform(-1, 1, (1, 204, 204, 1)).astype(np.float32)
    graph, inputs, logits, _ = _build(204, training=False)
    with graph.as_default(), tf.compat.v1.Session() as session:
        session.run(tf.compat.v1.global_variables_initializer())
        weights = session.run(tf.compat.v1.trainable_variables())
        inference = [session.run(logits, {inputs: batch}) for _ in range(2)]
    assert np.array_equal(*inference)

    graph, inputs, logits, seed = _build(204, training=True)
    with graph.as_default(), tf.compat.v1.Session() as session:
        for variable, value in zip(tf.compat.v1.trainable_variables(), weights):
            variable.load(value, session)
        def run(pair):
            return session.run(logits, {inputs: batch, seed: pair})
        first, again, other = run([0, 7]), run([0, 7]), run([0, 8])
    # The same seed, the same mask; another seed, another.
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)
    assert not np.allclose(first, inference[0])

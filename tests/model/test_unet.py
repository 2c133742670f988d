import numpy as np
import pytest
import tensorflow as tf

from model.sizes import INPUT_TILE, OUTPUT_TILE
from model.unet import unet


def _build(size, training, batch=1):
    graph = tf.Graph()
    with graph.as_default():
        inputs = tf.compat.v1.placeholder(tf.float32, [batch, size, size, 1])
        logits = unet(inputs, training=training)
    return graph, inputs, logits


def test_paper_shapes_and_parameter_count():
    graph, _, logits = _build(INPUT_TILE, training=True)
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
        logits = unet(tf.zeros([2, 204, 252, 1]), training=False)
    assert logits.shape.as_list() == [2, 20, 68, 2]


def test_dropout_only_in_training():
    batch = np.random.default_rng(0).uniform(-1, 1, (1, 204, 204, 1)).astype(np.float32)
    results = {}
    for training in (False, True):
        graph, inputs, logits = _build(204, training)
        with graph.as_default(), tf.compat.v1.Session() as session:
            tf.compat.v1.set_random_seed(0)
            session.run(tf.compat.v1.global_variables_initializer())
            results[training] = [session.run(logits, {inputs: batch}) for _ in range(2)]
    assert np.array_equal(*results[False])
    assert not np.allclose(*results[True])

"""The losses as functions of tensors."""
import numpy as np
import pytest
import tensorflow as tf

from utils.graph import losses


def test_weighted_cross_entropy_weights_each_pixel():
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        logits = tf.zeros([1, 1, 2, 2])  # Both classes equally likely: ln 2 per pixel.
        value = losses.weighted_cross_entropy(logits, tf.constant([[[0, 1]]]),
                                              tf.constant([[[1.0, 3.0]]]))
        assert session.run(value) == pytest.approx(2.0 * np.log(2.0))

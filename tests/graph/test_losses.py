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


def test_skeleton_recall_is_the_missed_share_of_the_centre_lines():
    # A centre line of 4 pixels; the network calls 3 of them membrane (class 0) for sure and
    # the fourth, the gap, not at all; the pixel off the line does not count.
    membrane = np.array([[[1.0, 1.0, 1.0, 0.0, 0.0]]], np.float32)
    probabilities = np.stack([membrane, 1.0 - membrane], axis=-1)
    skeletons = np.array([[[1.0, 1.0, 1.0, 1.0, 0.0]]], np.float32)
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        gap = session.run(losses.skeleton_recall(tf.constant(probabilities),
                                                 tf.constant(skeletons), smooth=0.0))
        closed = session.run(losses.skeleton_recall(
            tf.constant(np.stack([np.ones_like(membrane), np.zeros_like(membrane)], -1)),
            tf.constant(skeletons), smooth=0.0))
        no_membrane = session.run(losses.skeleton_recall(tf.constant(probabilities),
                                                         tf.zeros_like(skeletons)))
    assert gap == pytest.approx(0.25)
    assert closed == pytest.approx(0.0) and no_membrane == pytest.approx(0.0)

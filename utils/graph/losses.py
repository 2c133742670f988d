"""Losses as free functions of tensors: pixel-wise cross-entropy (plain or weighted), soft
Dice, skeleton recall, L2 weight decay."""
import tensorflow as tf


def cross_entropy(logits, labels):
    """Mean pixel-wise softmax cross-entropy.

    Args:
        logits: float32 `[batch, H, W, classes]`.
        labels: int32 `[batch, H, W]` class indices.
    """
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def weighted_cross_entropy(logits, labels, pixel_weights):
    """Mean of the pixel-wise softmax cross-entropy times the paper's weight map.

    Args:
        logits: float32 `[batch, H, W, classes]`.
        labels: int32 `[batch, H, W]` class indices.
        pixel_weights: float32 `[batch, H, W]`, utils.data.weight_map's w(x).
    """
    return tf.reduce_mean(pixel_weights * tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits))


def dice_loss(probabilities, labels, smooth=1.0):
    """1 - the soft Dice coefficient, averaged over the classes.

    Args:
        probabilities: float32 `[batch, H, W, classes]`, softmax output.
        labels: int32 `[batch, H, W]` class indices.
        smooth: added to numerator and denominator so an absent class scores 1, not 0/0.

    Returns:
        float32 scalar in [0, 1].
    """
    one_hot = tf.one_hot(labels, probabilities.shape[-1], dtype=probabilities.dtype)
    intersection = tf.reduce_sum(probabilities * one_hot, axis=[0, 1, 2])
    total = tf.reduce_sum(probabilities + one_hot, axis=[0, 1, 2])
    dice = (2.0 * intersection + smooth) / (total + smooth)
    return 1.0 - tf.reduce_mean(dice)


def skeleton_recall(probabilities, skeletons, smooth=1.0):
    """1 - the share of the true membranes' centre lines that the network calls membrane.

    Args:
        probabilities: float32 `[batch, H, W, classes]`, softmax output, class 0 membrane.
        skeletons: float32 `[batch, H, W]`, utils.data.weight_map.membrane_skeletons (values
            in between where the augmentation resampled them).
        smooth: as dice_loss's: a window without membranes costs 0.

    Returns:
        float32 scalar in [0, 1].
    """
    covered = tf.reduce_sum(probabilities[..., 0] * skeletons)
    return 1.0 - (covered + smooth) / (tf.reduce_sum(skeletons) + smooth)


def l2_weight_decay(variables, weight_decay):
    """weight_decay * sum of ||w||^2 / 2 over convolution kernels (biases are not decayed)."""
    kernels = [v for v in variables if v.name.endswith('kernel:0')]
    return weight_decay * tf.add_n([tf.nn.l2_loss(k) for k in kernels])


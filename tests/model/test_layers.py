import tensorflow as tf

from model import layers


def test_double_conv_shrinks_by_four():
    with tf.Graph().as_default():
        out = layers.double_conv(tf.zeros([1, 572, 572, 1]), 64, 'block')
        assert out.shape.as_list() == [1, 568, 568, 64]


def test_upconv_doubles_and_sets_channels():
    with tf.Graph().as_default():
        out = layers.upconv(tf.zeros([1, 28, 28, 1024]), 512, 'up')
        assert out.shape.as_list() == [1, 56, 56, 512]


def test_crop_and_concat_takes_the_centre():
    skip = tf.reshape(tf.range(64 * 64, dtype=tf.float32), [1, 64, 64, 1])
    upsampled = tf.zeros([1, 56, 56, 1])
    joined = layers.crop_and_concat(skip, upsampled)
    assert joined.shape.as_list() == [1, 56, 56, 2]
    # The crop starts 4 pixels in on each side: the first value is row 4, column 4.
    assert float(joined[0, 0, 0, 0]) == 4 * 64 + 4
    assert float(joined[0, -1, -1, 0]) == 59 * 64 + 59

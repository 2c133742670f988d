"""unet(inputs, dropout_seed) -> logits: the network of Ronneberger et al. (2015), figure 1."""
import tensorflow as tf

from model import layers
from model.sizes import LEVELS, check_input_size

NUM_CLASSES = 2
FILTERS = (64, 128, 256, 512, 1024)
"""Channels per level, top to bottom; the last entry is the bottleneck."""


def unet(inputs, dropout_seed=None):
    """Builds the U-Net on `inputs` and returns its logits.

    Args:
        inputs: float32 or bfloat16/float16 `[batch, H, W, 1]`, H and W each 16k + 124,
            intensities in [-1, 1]. A side unknown to the graph (None: an exported model
            taking tiles of any valid size) is the caller's to keep valid.
        dropout_seed: None to build the network for inference; for training, an integer
            `[2]` seed tensor from which the dropout at the bottom of the contracting path
            draws its mask (statelessly: the same seed, the same mask).

    Returns:
        `[batch, H - 184, W - 184, 2]` logits in `inputs.dtype`, no activation.

    Raises:
        ValueError: when H or W is not a valid input size.
    """
    check_input_size(inputs.shape[1], inputs.shape[2])
    skips = []
    outputs = inputs
    for level, filters in enumerate(FILTERS[:-1]):
        outputs = layers.double_conv(outputs, filters, f'downsample_block_{level}')
        skips.append(outputs)
        outputs = layers.max_pool(outputs)

    with tf.compat.v1.variable_scope('bottleneck'):
        outputs = layers.double_conv(outputs, FILTERS[-1], 'double_conv')
        # "Drop-out layers at the end of the contracting path" (section 3.1); training only.
        if dropout_seed is not None:
            outputs = tf.nn.experimental.stateless_dropout(outputs, rate=0.5, seed=dropout_seed)

    for level in reversed(range(LEVELS)):
        filters = FILTERS[level]
        with tf.compat.v1.variable_scope(f'upsample_block_{level}'):
            outputs = layers.upconv(outputs, filters, 'upconv')
            outputs = layers.crop_and_concat(skips[level], outputs)
            outputs = layers.double_conv(outputs, filters, 'double_conv')

    return layers.conv2d(outputs, NUM_CLASSES, 1, 'output', activation=None)

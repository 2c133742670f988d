"""Floating-point operations of the U-Net, counted from its architecture.

A multiply-add is two operations. Only convolutions are counted: bias adds, ReLUs, poolings
and crops are linear in the activations and add well under 1% to the total. For the paper's
572x572 tile the forward pass is about 3.0e11 operations.
"""
from model.sizes import LEVELS, check_input_size
from model.unet import FILTERS, NUM_CLASSES

TRAINING_FACTOR = 3
"""A training step = forward + gradients w.r.t. activations + gradients w.r.t. weights, each
about one forward pass of convolutions (the convention of Kaplan et al. 2020, among others)."""


def _conv(out_side, kernel, channels_in, channels_out):
    return 2 * out_side * out_side * kernel * kernel * channels_in * channels_out


def forward_flops(input_size):
    """Operations of one forward pass of one `input_size` x `input_size` tile."""
    check_input_size(input_size, input_size)
    side, channels, total, skips = input_size, 1, 0, []
    for filters in FILTERS[:-1]:
        for channels_in in (channels, filters):  # two unpadded 3x3 convolutions
            side -= 2
            total += _conv(side, 3, channels_in, filters)
        skips.append(filters)
        channels = filters
        side //= 2
    for channels_in in (channels, FILTERS[-1]):  # the bottleneck
        side -= 2
        total += _conv(side, 3, channels_in, FILTERS[-1])
    channels = FILTERS[-1]
    for level in reversed(range(LEVELS)):
        filters = FILTERS[level]
        # A 2x2 transposed convolution with stride 2: each output pixel gets one kernel tap.
        side *= 2
        total += _conv(side, 1, channels, filters)
        for channels_in in (filters + skips[level], filters):  # after concatenating the skip
            side -= 2
            total += _conv(side, 3, channels_in, filters)
        channels = filters
    total += _conv(side, 1, channels, NUM_CLASSES)
    return total


def training_flops(input_size):
    """Operations of one training step on one tile (TRAINING_FACTOR forward passes)."""
    return TRAINING_FACTOR * forward_flops(input_size)

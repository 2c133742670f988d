"""Tile-size arithmetic of the unpadded U-Net, free of TensorFlow so flag checks stay instant.

Every convolution is unpadded, so the output is smaller than the input: a 572x572 input tile
gives a 388x388 output map, which is why inputs are mirror-padded windows (the overlap-tile
strategy of section 2 of the paper).
"""
INPUT_TILE = 572
OUTPUT_TILE = 388
LEVELS = 4
"""Poolings on the contracting path."""

_STRIDE = 2 ** LEVELS  # 16: an input is valid when every pooled map has an even side.
_SMALLEST = 188
"""16 * 4 + 124. For input 16k + 124 the bottleneck map is k x k and the first decoder level
2k - 4 wide, so k >= 4 is the smallest that leaves every map, and the 4x4 output, non-empty."""


def output_size(input_size):
    """Side of the output map for an input side, without checking validity.

    Each encoder level loses 4 pixels to two 3x3 convolutions, then halves; the bottleneck
    loses 4; each decoder level doubles, then loses 4. For every valid size the net effect
    is a fixed shrink of 184 pixels, 92 on each side.
    """
    size = input_size
    for _ in range(LEVELS):
        size = (size - 4) // 2
    size -= 4
    for _ in range(LEVELS):
        size = size * 2 - 4
    return size


BORDER = (INPUT_TILE - output_size(INPUT_TILE)) // 2
"""Pixels lost on each side of a tile: 92. Inputs are mirror-padded by this much."""


def is_valid_input_size(size):
    """True when every pooling sees an even side and no map is empty: 16k + 124, k >= 4."""
    return size >= _SMALLEST and (size - 124) % _STRIDE == 0


def nearest_valid_input_sizes(size):
    """The valid input sides just below and just above `size` (only the smallest below 188)."""
    below = 124 + _STRIDE * ((size - 124) // _STRIDE)
    return tuple(s for s in (below, below + _STRIDE) if s >= _SMALLEST) or (_SMALLEST,)


def input_size_for_output(output_side):
    """The smallest valid input side whose output covers at least `output_side` pixels."""
    k = max(1, -(-(output_side + 2 * BORDER - 124) // _STRIDE))
    return 124 + _STRIDE * k


def check_input_size(height, width):
    """Raises ValueError naming the nearest valid sizes unless both sides are 16k + 124.

    A side of None (unknown until the graph runs) is not checked.
    """
    for name, side in (('height', height), ('width', width)):
        if side is not None and not is_valid_input_size(side):
            nearest = ' or '.join(str(s) for s in nearest_valid_input_sizes(side))
            raise ValueError(
                f'U-Net input {name} {side} is not valid: unpadded convolutions and 4 poolings '
                f'need a side of the form 16k+124 (k >= 4); nearest valid: {nearest}')

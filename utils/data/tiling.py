"""Overlap-tile inference geometry: cut a slice into mirror-padded input tiles, stitch outputs.

The network is fully convolutional and every output pixel depends only on the 184-pixel
context around it, so a slice mirror-padded once and cut into overlapping input tiles gives
the same prediction as one pass over the whole slice. Tiles are as large as allowed, so a
512x512 slice is one 700x700 tile whose 516x516 output covers it (4 pixels of waste per side
instead of the 3 extra tiles a 572 input would need); a 2048x2048 page is nine of 876x876.
"""
import dataclasses
import math

import numpy as np

from model.sizes import BORDER, input_size_for_output, output_size

MAX_INPUT_TILE = 1020
"""Largest inference input side (16 * 56 + 124). A tile's memory grows faster than its pixels,
so large pages are cut into more tiles of moderate size, at no cost in speed
(docs/performance.md)."""

MAX_BATCH_PIXELS = 4 * 700 * 700
"""Most tile input pixels in one graph run of prediction (four tiles of a 512x512 slice).
Activation memory grows with a batch's pixels: this and MAX_INPUT_TILE bound a prediction's
memory, whatever --batch_size asks; docs/performance.md has the peak they give."""


def mirror_pad(stack, border):
    """Mirror-pads the last two axes of `stack` by `border` pixels on every side."""
    pad = [(0, 0)] * (stack.ndim - 2) + [(border, border), (border, border)]
    return np.pad(stack, pad, mode='reflect')


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """Where the output tiles of one slice lie; every tile has the same size."""
    height: int
    width: int
    tile_height: int
    tile_width: int
    row_offsets: tuple
    col_offsets: tuple

    @property
    def input_shape(self):
        return self.tile_height + 2 * BORDER, self.tile_width + 2 * BORDER

    @property
    def offsets(self):
        return [(row, col) for row in self.row_offsets for col in self.col_offsets]


def _axis_plan(length, max_input):
    """Output tile side and offsets covering `length` pixels with as little overlap as may be."""
    max_output = output_size(max_input)
    count = math.ceil(length / max_output)
    tile = output_size(input_size_for_output(math.ceil(length / count)))
    if count == 1:
        return tile, (0,)
    last = length - tile
    return tile, tuple(round(i * last / (count - 1)) for i in range(count))


def plan_tiles(height, width, max_input=MAX_INPUT_TILE):
    """The tiling of a `height` x `width` slice into outputs of at most output_size(max_input)."""
    tile_height, row_offsets = _axis_plan(height, max_input)
    tile_width, col_offsets = _axis_plan(width, max_input)
    return TilePlan(height, width, tile_height, tile_width, row_offsets, col_offsets)


def tiles_per_batch(input_shape, batch_size):
    """How many tiles of `input_shape` go in one graph run: `batch_size`, fewer when their
    pixels would pass MAX_BATCH_PIXELS, never none.

    Fewer tiles per run rather than smaller tiles: a tile's geometry, and so the prediction,
    stays the same whatever the batch size.
    """
    return max(1, min(batch_size, MAX_BATCH_PIXELS // (input_shape[0] * input_shape[1])))


def extract_tiles(image, plan):
    """Input tiles of one slice, in `plan.offsets` order.

    Args:
        image: `[H, W]` array of the slice.
        plan: its TilePlan.

    Returns:
        `[len(plan.offsets), in_h, in_w]` array of the same dtype.
    """
    # A tile may overhang the slice (516 output for 512 pixels): pad the far side further.
    extra_rows = max(0, plan.tile_height - plan.height)
    extra_cols = max(0, plan.tile_width - plan.width)
    padded = np.pad(image, [(BORDER, BORDER + extra_rows), (BORDER, BORDER + extra_cols)],
                    mode='reflect')
    in_h, in_w = plan.input_shape
    return np.stack([padded[row:row + in_h, col:col + in_w] for row, col in plan.offsets])


def stitch(tile_outputs, plan):
    """Assembles output tiles `[n, tile_h, tile_w, ...]` into the slice `[H, W, ...]`.

    Where tiles overlap, the later tile's values are kept: they are the same values, since
    each comes from the same padded context.
    """
    tile_outputs = np.asarray(tile_outputs)
    result = np.empty((plan.height, plan.width) + tile_outputs.shape[3:], tile_outputs.dtype)
    for tile, (row, col) in zip(tile_outputs, plan.offsets):
        rows = min(plan.tile_height, plan.height - row)
        cols = min(plan.tile_width, plan.width - col)
        result[row:row + rows, col:col + cols] = tile[:rows, :cols]
    return result

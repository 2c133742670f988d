"""Overlap tiles: stitched back exactly, bounded in size and in pixels per batch."""
import numpy as np
import pytest

from model.sizes import BORDER, is_valid_input_size
from utils.data.tiling import MAX_BATCH_PIXELS, extract_tiles, plan_tiles, stitch, tiles_per_batch


@pytest.mark.parametrize('height, width', [(512, 512), (388, 388), (30, 2000), (1300, 700),
                                           (97, 131)])
def test_stitching_a_known_field_gives_it_back_exactly(height, width):
    field = np.random.default_rng(height).random((height, width)).astype(np.float32)
    plan = plan_tiles(height, width)
    tiles = extract_tiles(field, plan)
    assert all(is_valid_input_size(side) for side in plan.input_shape)
    # An exact stand-in for the network: every output pixel is the centre of its context.
    outputs = tiles[:, BORDER:-BORDER, BORDER:-BORDER]
    assert np.array_equal(stitch(outputs, plan), field)


def test_a_512_slice_is_one_700_tile():
    plan = plan_tiles(512, 512)
    assert plan.input_shape == (700, 700)
    assert plan.offsets == [(0, 0)]


def test_large_slices_are_split_into_bounded_tiles():
    plan = plan_tiles(3000, 3000, max_input=1212)
    assert max(plan.input_shape) <= 1212
    assert len(plan.offsets) == 9


def test_tiles_carry_mirrored_context():
    field = np.arange(512 * 512, dtype=np.float32).reshape(512, 512)
    tile = extract_tiles(field, plan_tiles(512, 512))[0]
    # Row BORDER - 1 of the tile mirrors row 1 of the slice (reflection without edge repeat).
    assert np.array_equal(tile[BORDER - 1, BORDER:BORDER + 512], field[1])


@pytest.mark.parametrize('side, batch_size, expected', [
    (700, 4, 4), (700, 8, 4), (700, 1, 1), (1212, 4, 1), (1212, 1, 1), (988, 4, 2),
    (316, 16, 16), (188, 1000, MAX_BATCH_PIXELS // 188 ** 2)])
def test_a_batch_of_tiles_keeps_to_the_pixel_budget(side, batch_size, expected):
    assert tiles_per_batch((side, side), batch_size) == expected


def test_no_batch_passes_the_budget_unless_one_tile_does():
    for side in range(188, 2000, 16):
        for batch_size in (1, 2, 3, 4, 8, 64):
            count = tiles_per_batch((side, side + 32), batch_size)
            assert 1 <= count <= batch_size
            assert count == 1 or count * side * (side + 32) <= MAX_BATCH_PIXELS

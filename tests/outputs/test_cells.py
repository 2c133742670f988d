"""Cells by a watershed: closed contours where a threshold leaves a gap, labels that hold
every cell at the input's size, and the files written for them."""
import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageSequence
from skimage.measure import label

from utils.data.images import ImageFile
from utils.outputs import cells as cells_lib
from utils.outputs import masks, scores
from utils.outputs.names import output_paths
from utils.outputs.writers import FileOutputs
from utils.runtime.params import Params

WATERSHED = cells_lib.from_params(Params(data_dir='d', cells=True))
"""The default rule of --cells."""


def _two_cells_with_a_gap(gap):
    """Probability of non-membrane of a 40x61 slice: two cells either side of a vertical
    membrane 3 pixels wide, itself with `gap` rows cut through it (as confident as the
    cells), and the truth: True where a cell is."""
    probs = np.full((40, 61), 0.95, np.float32)
    probs[:, 29:32] = 0.05
    probs[:2], probs[-2:], probs[:, :2], probs[:, -2:] = 0.05, 0.05, 0.05, 0.05  # the frame
    probs[18:18 + gap, 29:32] = 0.95
    truth = probs > 0.5
    truth[:, 29:32] = False
    return probs, truth


def test_a_gap_a_threshold_joins_is_closed_by_the_watershed():
    probs, truth = _two_cells_with_a_gap(gap=2)
    for threshold in scores.SWEEP[1:-1]:  # 0.1 .. 0.9: every one joins the two cells
        assert label(probs > threshold, connectivity=1).max() == 1
    cells = WATERSHED.cells(probs)
    assert cells.max() == 2
    left, right = cells[20, 10], cells[20, 50]
    assert {left, right} == {1, 2}
    # The line crosses the gap: the cells meet nowhere but across a line.
    assert not np.any((cells[:, :-1] == left) & (cells[:, 1:] == right))
    assert (cells[18:20, 29:32] == 0).any()
    # The closed-contour map separates them at every threshold, and scores perfectly.
    closed = cells_lib.closed_probs(probs, cells)
    assert label(closed > 0.5, connectivity=1).max() == 2
    raw_rand, _ = scores.challenge_scores(probs[None], truth[None])[0.5]
    closed_rand, _ = scores.challenge_scores(closed[None], truth[None])[0.5]
    assert raw_rand < 0.7 and closed_rand == pytest.approx(1.0)


def test_noise_inside_a_cell_does_not_split_it():
    probs, _ = _two_cells_with_a_gap(gap=0)
    noise = np.random.default_rng(1).normal(0, 0.03, probs.shape)
    noisy = np.clip(probs + noise, 0, 1).astype(np.float32)
    assert WATERSHED.cells(noisy).max() == 2
    assert cells_lib.Watershed(smoothing=0.0, depth=0.01).cells(noisy).max() > 2


def test_a_low_ridge_joins_a_shallow_basin_but_parts_two_floors_of_one_level():
    probs, _ = _two_cells_with_a_gap(gap=0)
    probs[2:-2, 14] = 0.85  # a faint line across the left cell, 0.1 of membrane above it
    # Floors of one level either side (as saturated probabilities have): two cells there.
    assert WATERSHED.cells(probs).max() == 3
    # The floor on one side higher: a basin too shallow to be a cell, it joins the other.
    probs[2:-2, 2:14] = 0.92
    cells = WATERSHED.cells(probs)
    assert cells.max() == 2 and len(np.unique(cells[2:-2, 3:28])) == 1


def test_the_cells_never_join_what_the_mask_keeps_apart():
    probs, _ = _two_cells_with_a_gap(gap=0)
    probs[2:-2, 2:14] = 0.92  # the left cell's left part a little less sure than the rest,
    probs[2:-2, 14] = 0.4  # parted by a thin membrane: the mask keeps them apart...
    membrane = 1.0 - cells_lib.ndimage.gaussian_filter(probs.astype(float), 1.0)
    ridge, floor = membrane[20, 14], membrane[20, 8]
    assert ridge - floor < WATERSHED.depth  # ...but smoothed, it is shallower than the depth
    segments = label(masks.background_mask(probs), connectivity=1)
    cells = WATERSHED.cells(probs)
    assert segments.max() == cells.max() == 3
    for segment in range(1, 4):
        inside = np.unique(cells[segments == segment])
        assert len(inside[inside > 0]) == 1  # one cell per segment, none shared


def test_cells_have_the_input_size_and_label_every_pixel_but_the_lines():
    rng = np.random.default_rng(0)
    probs = rng.random((37, 53)).astype(np.float32)
    cells = WATERSHED.cells(probs)
    assert cells.shape == probs.shape
    assert cells.min() >= 0 and set(np.unique(cells)) - {0} == set(range(1, cells.max() + 1))
    closed = cells_lib.closed_probs(probs, cells)
    assert closed.dtype == np.float32
    assert np.array_equal(closed == 0, (cells == 0) | (probs == 0))
    assert np.array_equal(closed[cells > 0], probs[cells > 0])


def test_a_flat_page_is_one_cell():
    cells = WATERSHED.cells(np.full((20, 30), 0.7, np.float32))
    assert cells.shape == (20, 30) and (cells == 1).all()


@pytest.mark.parametrize('count, dtype', [(0, np.uint16), (65535, np.uint16),
                                          (65536, np.uint32), (2 ** 20, np.uint32)])
def test_the_label_type_holds_the_cell_count(count, dtype):
    assert cells_lib.label_dtype(count) == dtype
    assert np.iinfo(dtype).max >= count


def test_a_stack_takes_the_type_its_largest_page_needs():
    small = np.arange(12, dtype=np.int32).reshape(3, 4)
    large = np.arange(70000, dtype=np.int32).reshape(280, 250)
    assert [page.dtype for page in cells_lib.as_labels([small])] == [np.uint16]
    pages = cells_lib.as_labels([small, large])
    assert [page.dtype for page in pages] == [np.uint32, np.uint32]
    assert pages[1].max() == 69999


def _pages(path):
    with Image.open(path) as image:
        return [np.asarray(page) for page in ImageSequence.Iterator(image)]


def test_file_outputs_write_cells_and_the_closed_mask(tmp_path):
    probs, _ = _two_cells_with_a_gap(gap=2)
    image = (probs * 255).astype(np.uint8)
    png = ImageFile(str(tmp_path / 'slice.png'), 'png', ((40, 61),), ('L',))
    paths = FileOutputs(str(tmp_path / 'out'), png, overlays=True, watershed=WATERSHED)
    (tmp_path / 'out').mkdir()
    paths.add(0, image, probs)
    written = paths.close()
    assert list(written) == list(output_paths(str(tmp_path / 'out'), png, True, cells=True))
    (cells,) = _pages(written.cells)
    assert written.cells.endswith('slice_cells.tif')
    assert cells.dtype == np.uint16 and cells.shape == (40, 61)
    assert np.array_equal(cells, WATERSHED.cells(probs))
    closed_mask = np.asarray(Image.open(written.closed_mask))
    assert written.closed_mask.endswith('slice_closed_mask.png')
    assert np.array_equal(closed_mask, masks.mask_image(cells_lib.closed_probs(probs, cells)))
    assert np.array_equal(np.asarray(Image.open(written.mask)), masks.mask_image(probs))
    with Image.open(written.overlays[0]) as overlay:
        assert overlay.size == (3 * 61, 40 + 14)  # image, prediction, cells


def test_without_a_watershed_no_cells_are_written(tmp_path):
    png = ImageFile(str(tmp_path / 'slice.png'), 'png', ((40, 61),), ('L',))
    paths = output_paths(str(tmp_path), png, overlays=False)
    assert paths.cells is None and paths.closed_mask is None
    assert list(paths) == [str(tmp_path / 'slice_probs.tif'), str(tmp_path / 'slice_mask.png')]


def test_the_flags_set_the_watershed_and_no_cells_draws_none():
    params = Params(data_dir='d', cells=True, cell_smoothing=2.0, cell_marker_depth=0.3)
    assert cells_lib.from_params(params) == cells_lib.Watershed(smoothing=2.0, depth=0.3)
    assert cells_lib.from_params(Params(data_dir='d')) is None
    # The settings change the cells: no smoothing and a shallow depth split a noisy cell.
    probs, _ = _two_cells_with_a_gap(gap=0)
    noisy = np.clip(probs + np.random.default_rng(1).normal(0, 0.03, probs.shape), 0, 1)
    shallow = cells_lib.from_params(dataclasses.replace(params, cell_smoothing=0.0,
                                                        cell_marker_depth=0.01))
    assert shallow.cells(noisy).max() > WATERSHED.cells(noisy).max() == 2

"""The paper's weight map on a hand-made two-cell image."""
import math

import numpy as np
import pytest

from utils.data import weight_map


def _two_cells():
    """A 40x60 slice: two cells (rows 10-29) one membrane pixel apart at column 30, and a
    wide membrane everywhere else."""
    background = np.zeros((40, 60), bool)
    background[10:30, 10:30] = True
    background[10:30, 31:50] = True
    return background


def test_border_weight_is_highest_between_the_cells():
    border = weight_map.border_weights(_two_cells())
    gap = border[10:30, 30]
    # In the 1-pixel gap both cells are 1 pixel away: w0 * exp(-(1 + 1)^2 / (2 * 5^2)).
    assert gap == pytest.approx(10 * math.exp(-4 / 50))
    assert border.max() == pytest.approx(gap.max())
    # Far from the cells (a corner) and in a cell's middle far from the other: almost 0.
    assert border[0, 0] < 1e-3 and border[20, 12] < 0.05
    # Closer to the gap, more weight.
    assert border[20, 28] > border[20, 25] > border[20, 20]


def test_one_cell_has_no_separation_term():
    background = np.zeros((30, 30), bool)
    background[5:25, 5:25] = True
    assert not weight_map.border_weights(background).any()


def test_class_weights_balance_the_classes():
    classes = np.array([[0, 1, 1, 1]], np.uint8)
    balance = weight_map.class_weights(classes)
    assert balance.tolist() == [2.0, pytest.approx(2 / 3)]
    # Each class then weighs half of the total.
    assert balance[0] * 1 == pytest.approx(balance[1] * 3)


def test_weight_map_is_w_c_plus_the_border_term():
    background = _two_cells()
    classes = background.astype(np.uint8)[None]
    weights = weight_map.weight_map(classes)
    balance = weight_map.class_weights(classes)
    expected = balance[classes[0]] + weight_map.border_weights(background)
    assert weights.shape == (1, 40, 60) and weights.dtype == np.float32
    assert np.allclose(weights[0], expected)
    # Away from both cells only w_c remains: the membrane's class weight.
    assert weights[0, 0, 0] == pytest.approx(balance[0], abs=1e-3)


def test_a_larger_w0_scales_the_border_term_and_reaches_farther():
    background = _two_cells()
    base = weight_map.border_weights(background)
    triple = weight_map.border_weights(background, w0=30.0)
    assert np.allclose(triple[10:30, 30], 3 * base[10:30, 30])
    assert weight_map.cutoff(30.0) > weight_map.cutoff(10.0)
    # Where the paper's w0 is cut off as negligible, a larger one may still count.
    assert weight_map.cutoff(10.0) == math.ceil(5 * math.sqrt(2 * math.log(1e4)))
    classes = background.astype(np.uint8)[None]
    assert np.allclose(weight_map.weight_map(classes, w0=0.0)[0],
                       weight_map.class_weights(classes)[classes[0]])


def test_membrane_skeletons_are_thin_centre_lines_of_the_membranes():
    classes = np.ones((1, 40, 60), np.uint8)
    classes[0, :, 28:33] = 0  # A membrane 5 pixels wide between two cells.
    skeleton = weight_map.membrane_skeletons(classes)
    assert skeleton.shape == classes.shape and skeleton.dtype == np.float32
    assert set(np.unique(skeleton)) == {0.0, 1.0}
    line = skeleton[0, 5:35]  # Away from the slice's edges the line is the middle column.
    assert np.array_equal(np.flatnonzero(line.any(axis=0)), [30])
    assert line[:, 30].all()
    assert not skeleton[0][classes[0] == 1].any()
    ragged = weight_map.membrane_skeletons([classes[0], classes[0][:20, :40]])
    assert [page.shape for page in ragged] == [(40, 60), (20, 40)]

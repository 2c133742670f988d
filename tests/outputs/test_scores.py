"""The challenge's scores on hand-made cases whose answers are worked out by hand."""
import math
import os

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from conftest import SHARED_ISBI
from utils.data.dataset import load_training_data
from utils.outputs import scores


def _two_cells(width=9, membrane=3):
    """A 9x9 slice: two cells of 9x3 left and right of a 3-pixel-wide vertical membrane."""
    background = np.ones((9, width), bool)
    start = (width - membrane) // 2
    background[:, start:start + membrane] = False
    return background


def test_scores_on_label_images_worked_by_hand():
    # Truth: two segments of 2 pixels; proposal: one segment of 3, one of 1.
    truth = np.array([[1, 1, 2, 2]])
    proposal = np.array([[1, 1, 1, 2]])
    # p = [[1/2, 0], [1/4, 1/4]]: sum p^2 = 3/8, sum a^2 = 1/2, sum b^2 = 5/8.
    precision, recall = (3 / 8) / (5 / 8), (3 / 8) / (1 / 2)
    assert scores.rand_score(truth, proposal) == pytest.approx(
        2 * precision * recall / (precision + recall))
    h_a = math.log(2)
    h_b = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    h_ab = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))  # Joint entropy.
    mutual = h_a + h_b - h_ab
    precision, recall = mutual / h_a, mutual / h_b
    assert scores.information_score(truth, proposal) == pytest.approx(
        2 * precision * recall / (precision + recall))


def test_proposal_lines_inside_the_truth_count_as_single_pixels():
    truth = np.array([[1, 1, 1, 1, 0]])  # The last pixel is membrane: not counted.
    proposal = np.array([[1, 1, 0, 2, 2]])  # A line pixel splits the segment.
    # n = 4; proposal masses 2/4 and 1/4 plus one singleton of 1/4.
    sum_p2 = sum_b2 = (0.5 ** 2 + 0.25 ** 2) + 0.25 / 4
    recall = sum_p2 / 1.0
    assert scores.rand_score(truth, proposal) == pytest.approx(
        2 * 1.0 * recall / (1.0 + recall))
    assert sum_p2 == sum_b2  # One truth segment: the precision is 1.


def test_a_perfect_proposal_scores_1_even_with_thick_membranes():
    background = _two_cells(membrane=3)
    probs = background.astype(np.float32)[None]
    by_threshold = scores.challenge_scores(probs, background[None])
    assert all(v == pytest.approx((1.0, 1.0)) for v in by_threshold.values())
    thinned = scores.thinned_segments(probs[0], 0.5)
    assert sorted(np.unique(thinned)) == [0, 1, 2]
    assert (thinned == 0).sum() == 9  # The 3-pixel membrane became a 1-pixel line.


def test_a_merge_and_a_split():
    background = _two_cells()
    merged = np.ones((1, 9, 9), np.float32)  # No membrane at all: one segment.
    rand, info = scores.challenge_scores(merged, background[None], [0.5])[0.5]
    # Two equal segments merged: precision 1/2, recall 1 -> 2/3. No information: 0.
    assert rand == pytest.approx(2 / 3) and info == 0.0

    one_cell = np.ones((9, 9), bool)
    split = _two_cells(membrane=1).astype(np.float32)[None]
    rand, info = scores.challenge_scores(split, one_cell[None], [0.5])[0.5]
    # Halves of 36 pixels, 9 singletons, n = 81: recall = (2 * 36^2 + 9) / 81^2.
    recall = (2 * 36 ** 2 + 9) / 81 ** 2
    assert rand == pytest.approx(2 * recall / (1 + recall)) and info == 0.0


def test_evaluate_names_every_score_and_finds_the_best_threshold():
    background = _two_cells()
    # Membrane pixels at 0.3, cells at 0.9: thresholds 0.3 .. 0.8 separate them exactly.
    probs = np.where(background, 0.9, 0.3).astype(np.float32)[None]
    result = scores.evaluate(probs, background[None])
    assert result['v_rand_thin'] == pytest.approx(1.0)
    assert result['v_info_thin'] == pytest.approx(1.0)
    assert 0.3 <= result['v_rand_thin_threshold'] <= 0.8
    assert result['v_rand_thin_at_0.5'] == pytest.approx(1.0)
    assert result['pixel_error'] == 0.0
    assert result['dice_membrane'] == result['dice_background'] == 1.0
    low = scores.challenge_scores(probs, background[None], [0.0, 0.9])
    assert low[0.0][0] == pytest.approx(2 / 3)  # Everything is a cell at t = 0.0.


def test_the_sweep_is_fijis_including_its_last_threshold_just_below_1():
    assert len(scores.SWEEP) == 11 and scores.SWEEP[3] == 0.1 + 0.1 + 0.1
    assert 0.99 < scores.SWEEP[-1] < 1.0
    # Membranes at 0.99, cells saturated at exactly 1.0 (as a confident float32 softmax
    # gives): only the last threshold separates them.
    background = _two_cells()
    probs = np.where(background, 1.0, 0.99).astype(np.float32)[None]
    result = scores.evaluate(probs, background[None])
    assert result['v_rand_thin'] == pytest.approx(1.0)
    assert result['v_rand_thin_threshold'] == 1.0


def test_pixel_scores():
    background = np.array([[True, True, False, False]])
    probs = np.array([[[0.9, 0.2, 0.1, 0.6]]], np.float32)
    result = scores.evaluate(probs, background[None])
    assert result['pixel_error'] == 0.5
    assert result['dice_membrane'] == pytest.approx(2 * 1 / (2 + 2))
    assert result['dice_background'] == pytest.approx(2 * 1 / (2 + 2))


@pytest.mark.skipif(not os.path.isdir(SHARED_ISBI), reason='real ISBI data not in ../shared')
def test_a_blurred_raw_image_scores_as_the_issue_says_on_fold_0():
    """Issue 5's reference point: a Gaussian-blurred copy of the raw slices 0-5 used as the
    probability map scores about 0.83 (V_rand) and 0.92 (V_info)."""
    volume, classes = load_training_data(SHARED_ISBI)
    probs = np.stack([gaussian_filter(page.astype(np.float32), 2) / 255 for page in volume[:6]])
    result = scores.evaluate(probs, classes[:6].astype(bool))
    assert result['v_rand_thin'] == pytest.approx(0.825, abs=0.01)
    assert result['v_info_thin'] == pytest.approx(0.920, abs=0.01)

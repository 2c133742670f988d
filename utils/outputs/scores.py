"""The ISBI 2012 challenge's scores, computed as its organisers define them, and pixel scores.

The leaderboard ranks by "Rand score thin" (V_rand) and "Information score thin" (V_info),
from Arganda-Carreras et al. 2015 (Frontiers in Neuroanatomy 9:142) as implemented in Fiji's
Trainable Segmentation (RandError.getMaximalVRandAfterThinning and
VariationOfInformation.getMaximalVInfoAfterThinning). For one slice and one threshold t:

- the ground truth's segments are the 4-connected components of its non-membrane pixels;
- the proposal (probability of non-membrane) is binarised at > t, and its membranes are
  thinned to 1-pixel lines by a watershed flooding them from its 4-connected cells;
- only the ground truth's non-membrane pixels count (foreground restriction), and the
  proposal's membrane-line pixels among them count as single-pixel segments;
- V_rand is the F-score of the Rand split and merge scores, V_info the F-score of the mutual
  information normalised by either entropy.

The scores of a stack are the mean over its slices, at each threshold of Fiji's sweep from
0.0 to 1.0 in steps of 0.1; the challenge reports the best threshold's, and so do we, beside
t = 0.5.
"""
import numpy as np
from scipy import sparse
from skimage.measure import label as connected_components
from skimage.segmentation import watershed

from utils.data import slices
from utils.data.dataset import MEMBRANE
from utils.outputs import masks

def _fiji_sweep(start=0.0, stop=1.0, step=0.1):
    """The thresholds of Fiji's loop `for (th = 0.0; th <= 1.0; th += 0.1)`, accumulated in
    doubles as it does: 0.0, 0.1, 0.2, 0.30000000000000004, ..., 0.9999999999999999. The
    last one matters: it keeps as cells exactly the pixels whose probability rounds to 1.0,
    which for a confident float32 softmax are most of them."""
    thresholds, threshold = [], start
    while threshold <= stop:
        thresholds.append(threshold)
        threshold += step
    return tuple(thresholds)


SWEEP = _fiji_sweep()
"""The challenge's 11 thresholds; scores are keyed by them rounded to 0.1 (the last as 1.0)."""


def ground_truth_segments(background):
    """Segments of a ground truth slice: bool `[H, W]` (True = non-membrane) -> int labels,
    0 on membranes."""
    return connected_components(background, connectivity=1)


def thinned_segments(background_probs, threshold):
    """Segments of a proposal slice binarised at `threshold`, its membranes thinned to
    1-pixel watershed lines (label 0)."""
    # In doubles, as Fiji compares: float32 would round the last threshold up to 1.0.
    cells = np.asarray(background_probs, np.float64) > threshold
    markers = connected_components(cells, connectivity=1)
    if markers.max() == 0:
        return markers
    # Cells at 0, membranes at 1: the flood fills the membranes from the cells inwards.
    return watershed((~cells).astype(np.uint8), markers, connectivity=1, watershed_line=True)


def _joint(truth, proposal):
    """Joint distribution over the ground truth's non-membrane pixels.

    Returns:
        (p, a, b, singletons, n): p `[i, j]` for truth segment i >= 1 and proposal segment
        j >= 1; a and b its marginals (a over all pixels of truth segment i, proposal lines
        included); singletons, the probability mass on proposal lines; n the pixel count.
    """
    inside = truth > 0
    n = int(inside.sum())
    rows, cols = truth[inside].ravel(), proposal[inside].ravel()
    counts = sparse.coo_matrix((np.ones(n), (rows, cols)),
                               shape=(truth.max() + 1, proposal.max() + 1)).tocsr() / n
    a = np.asarray(counts.sum(axis=1)).ravel()[1:]
    p = counts[1:, 1:]
    b = np.asarray(p.sum(axis=0)).ravel()
    singletons = float(counts[1:, 0].sum())
    return p, a, b, singletons, n


def rand_score(truth, proposal):
    """Foreground-restricted Rand F-score of two label images (0 = membrane)."""
    p, a, b, singletons, n = _joint(truth, proposal)
    if n == 0:
        return 1.0
    sum_p2 = float(p.multiply(p).sum()) + singletons / n
    sum_a2 = float(a @ a)
    sum_b2 = float(b @ b) + singletons / n
    precision, recall = sum_p2 / sum_b2, sum_p2 / sum_a2
    return 2 * precision * recall / (precision + recall)


def _plogp(values):
    values = np.asarray(values, dtype=np.float64)
    values = values[values > 0]
    return float(np.sum(values * np.log(values)))


def information_score(truth, proposal):
    """Foreground-restricted information-theoretic F-score of two label images."""
    p, a, b, singletons, n = _joint(truth, proposal)
    if n == 0:
        return 1.0
    sum_a = _plogp(a)
    sum_b = _plogp(b) - singletons * np.log(n)
    sum_ab = _plogp(p.data) - singletons * np.log(n)
    h_a, h_b = -sum_a, -sum_b
    h_a_given_b, h_b_given_a = sum_b - sum_ab, sum_a - sum_ab
    if h_b == 0:  # As Fiji's: one proposal segment explains nothing.
        precision, recall = 1.0, 0.0
    elif h_a == 0:
        precision, recall = 0.0, 1.0
    else:
        precision, recall = (h_a - h_a_given_b) / h_a, (h_b - h_b_given_a) / h_b
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def challenge_scores(background_probs, background, thresholds=SWEEP):
    """V_rand and V_info of a stack at each threshold.

    Args:
        background_probs: float `[pages, H, W]`, probability of non-membrane.
        background: bool `[pages, H, W]`, the ground truth's non-membrane pixels.

    Returns:
        {threshold rounded to 0.1: (v_rand, v_info)}, each the mean over the pages.
    """
    truths = [ground_truth_segments(page) for page in background]
    scores = {}
    for threshold in thresholds:
        rand, info = [], []
        for probs, truth in zip(background_probs, truths):
            proposal = thinned_segments(probs, threshold)
            rand.append(rand_score(truth, proposal))
            info.append(information_score(truth, proposal))
        scores[round(threshold, 1)] = (float(np.mean(rand)), float(np.mean(info)))
    return scores


def hard_dice(predicted, target):
    """Dice of two boolean masks (1.0 when both are empty)."""
    predicted, target = np.asarray(predicted, bool), np.asarray(target, bool)
    total = predicted.sum() + target.sum()
    if total == 0:
        return 1.0
    return float(2.0 * np.logical_and(predicted, target).sum() / total)


def membrane_dice(background_probs, classes):
    """Hard Dice of the membrane class: the predicted mask against the labels' classes."""
    return hard_dice(~masks.background_mask(background_probs), classes == MEMBRANE)


SCORE_NAMES = ('v_rand_thin', 'v_info_thin', 'dice_membrane', 'dice_background',
               'pixel_error')
"""The held-out scores a run reports: TensorBoard's evaluation curves and the
cross-validation summary's columns (evaluate gives these and a few more)."""

CLOSED_PREFIX = 'closed_'
"""Names the scores of the closed-contour map (utils.outputs.cells), beside the raw ones."""
CLOSED_SCORE_NAMES = tuple(CLOSED_PREFIX + name for name in ('v_rand_thin', 'v_info_thin'))
"""The closed-contour map's scores reported with SCORE_NAMES where cells were drawn."""


def evaluate(background_probs, background):
    """Every score of a predicted stack against its labels, as one flat dict.

    Pixel scores use the mask's threshold (utils.outputs.masks); the challenge's scores are
    given at the best threshold of the sweep (named as such) and at 0.5.
    """
    # Pixel scores over every pixel of every slice; slices may differ in size (utils.data.slices).
    predicted = masks.background_mask(slices.flat(background_probs))
    background_pixels = slices.flat(background)
    scores = challenge_scores(background_probs, background)
    best_rand = max(scores, key=lambda t: scores[t][0])
    best_info = max(scores, key=lambda t: scores[t][1])
    return {
        'pixel_error': float(np.mean(predicted != background_pixels)),
        'dice_membrane': hard_dice(~predicted, ~background_pixels),
        'dice_background': hard_dice(predicted, background_pixels),
        'v_rand_thin': scores[best_rand][0],
        'v_rand_thin_threshold': best_rand,
        'v_info_thin': scores[best_info][1],
        'v_info_thin_threshold': best_info,
        'v_rand_thin_at_0.5': scores[0.5][0],
        'v_info_thin_at_0.5': scores[0.5][1],
    }

"""Per-pixel maps a loss reads beside the labels, free of TensorFlow: the U-Net paper's loss
weights (Ronneberger et al. 2015, section 3) and the membranes' centre lines.

    w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2)),   w0 = 10, sigma = 5 px

w_c balances the class frequencies; d1 and d2 are the distances to the nearest and the
second-nearest cell. The second term makes the thin membranes between touching cells, the
separations the network most easily misses, count up to ten times more. The map is computed
once per training slice from its labels and is then cut and augmented with them.
"""
import math

import numpy as np
from scipy.ndimage import distance_transform_edt, find_objects
from skimage.measure import label as connected_components
from skimage.morphology import skeletonize

from utils.data import slices

W0 = 10.0
SIGMA = 5.0
NEGLIGIBLE = 1e-3
"""Border weights below this are dropped: a cell farther than cutoff(w0) from a pixel is not
searched for its d1 or d2."""


def cutoff(w0, sigma=SIGMA):
    """The distance in pixels beyond which w0 * exp(-d^2 / (2 sigma^2)) is NEGLIGIBLE."""
    return int(math.ceil(sigma * math.sqrt(2.0 * math.log(max(w0 / NEGLIGIBLE, 1.0)))))


def class_weights(classes):
    """w_c per class: total / (2 * count), so that each class weighs half of the total.

    Args:
        classes: uint8 class indices (0 membrane, 1 background) of the whole training volume.

    Returns:
        float32 `[2]`.
    """
    pixels = slices.flat(classes)
    counts = np.bincount(pixels, minlength=2).astype(np.float64)
    counts = np.maximum(counts, 1.0)  # A class absent from the labels gets no weight anyway.
    return (pixels.size / (2.0 * counts)).astype(np.float32)


def border_weights(background, w0=W0, sigma=SIGMA):
    """The separation term of one slice.

    Args:
        background: bool `[H, W]`, True on cells (non-membrane).

    Returns:
        float32 `[H, W]`: w0 * exp(-(d1 + d2)^2 / (2 sigma^2)), 0 where fewer than two cells
        lie within cutoff(w0, sigma) pixels.
    """
    reach = cutoff(w0, sigma)
    cells = connected_components(background, connectivity=1)
    nearest = np.full(background.shape, np.inf)
    second = np.full(background.shape, np.inf)
    for index, box in enumerate(find_objects(cells), start=1):
        # Distances to this cell matter only within `reach` of it: work in that window.
        window = tuple(slice(max(0, s.start - reach), min(n, s.stop + reach))
                       for s, n in zip(box, background.shape))
        distance = distance_transform_edt(cells[window] != index)
        second[window] = np.minimum(second[window], np.maximum(nearest[window], distance))
        nearest[window] = np.minimum(nearest[window], distance)
    weights = w0 * np.exp(-(nearest + second) ** 2 / (2.0 * sigma ** 2))
    return np.where(np.isfinite(second), weights, 0.0).astype(np.float32)


def weight_map(classes, w0=W0):
    """w(x) for every slice of a training volume.

    Args:
        classes: uint8 `[pages, H, W]` class indices (0 membrane, 1 background), or a list
            of `[H, W]` slices of different sizes (utils.data.slices).
        w0: the separation term's peak (--border_weight).

    Returns:
        float32, stacked or listed as `classes`.
    """
    balance = class_weights(classes)
    return slices.stacked_if_equal(balance[page] + border_weights(page == 1, w0)
                                   for page in classes)


def membrane_skeletons(classes):
    """The centre lines of the true membranes, 1 on them and 0 elsewhere, per slice.

    A membrane left open anywhere along its centre line joins two cells, however thin the
    gap: the skeleton-recall term (utils.graph.losses.skeleton_recall) weighs every centre
    line pixel alike, faint membrane or not.

    Args:
        classes: as weight_map's.

    Returns:
        float32, stacked or listed as `classes`.
    """
    return slices.stacked_if_equal(skeletonize(page == 0).astype(np.float32)
                                   for page in classes)

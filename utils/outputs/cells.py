"""Cells from the probability of non-membrane: a marker-controlled watershed that closes every
contour.

A threshold turns the probabilities into cells as they are: where a faint membrane is left
open by a few pixels, the cells on both sides become one. The watershed floods the smoothed
membrane probability from markers and draws a line one pixel wide wherever two floods meet,
so two markers always end as two cells, whatever the membrane between them looks like.

The markers are skimage's h-minima: in each basin at least `depth` deep, the pixels at its
floor. A basin shallower than that joins its neighbour, so noise inside a cell does not
split it. Two floors at the same level stay two markers, however low the ridge between them:
a confident network saturates the cells it is sure of to the same level, so a faint membrane
between two such cells is kept as a line. Each segment of the mask without a floor is a
marker too, so the cells are never coarser than the mask's segments (docs/accuracy.md: how
the rule and its numbers were chosen).

The outputs: an instance label image per page (1..n, a number per cell, 0 on the lines) and
the closed-contour map, the probabilities with those lines set to membrane, which the
challenge's scores take as they take the raw probabilities.
"""
import dataclasses

import numpy as np
from scipy import ndimage
from skimage.measure import label
from skimage.morphology import h_minima
from skimage.segmentation import relabel_sequential, watershed

from utils.outputs import masks


@dataclasses.dataclass(frozen=True)
class Watershed:
    """The marker rule and its parameters (main.py's --cell_smoothing, --cell_marker_depth).

    smoothing: pixels, the Gaussian sigma over the membrane probability. Noise in a cell's
        interior makes minima of its own, each a marker that would split the cell.
    depth: how much higher, in membrane probability, the rim of a basin must be than its
        floor for the basin to be a cell of its own.
    """
    smoothing: float
    depth: float

    def cells(self, background_probs):
        """One page's cells: int32 `[H, W]`, 1..n, 0 on the lines between cells."""
        membrane = 1.0 - np.asarray(background_probs, np.float64)
        if self.smoothing > 0:
            membrane = ndimage.gaussian_filter(membrane, self.smoothing)
        markers = self.markers(background_probs, membrane)
        if markers.max() == 0:  # A flat page has no basin: it is one cell.
            return np.ones(membrane.shape, np.int32)
        cells = watershed(membrane, markers, watershed_line=True)
        return relabel_sequential(cells)[0].astype(np.int32)

    def markers(self, background_probs, membrane):
        """The h-minima of the smoothed membrane probability, and a marker for each segment
        of the mask (utils.outputs.masks) that holds none: a basin too shallow for a marker
        of its own would otherwise be flooded from its neighbour's, and the cells would join
        what the mask keeps apart."""
        floors = h_minima(membrane, self.depth).astype(bool)
        markers = label(floors, connectivity=2)
        segments = label(masks.background_mask(background_probs), connectivity=1)
        unmarked = np.isin(segments, np.unique(segments[floors]), invert=True) & (segments > 0)
        markers[unmarked] = markers.max() + segments[unmarked]
        return markers

    def pages(self, background_probs):
        """The cells of every page of a stack (or list of pages), numbered page by page."""
        return [self.cells(page) for page in background_probs]


def from_params(params):
    """The Watershed of a run's Params, or None without --cells."""
    return Watershed(params.cell_smoothing, params.cell_marker_depth) if params.cells else None


def label_dtype(count):
    """The smallest unsigned type that numbers `count` cells: uint16, else uint32."""
    return np.uint16 if count <= np.iinfo(np.uint16).max else np.uint32


def as_labels(pages):
    """Label pages cast to one type that holds the most cells of any page."""
    pages = [np.asarray(page) for page in pages]
    dtype = label_dtype(max((int(page.max()) for page in pages), default=0))
    return [page.astype(dtype) for page in pages]


def closed_probs(background_probs, cells):
    """The probabilities with the cells' lines set to membrane (probability 0 of non-membrane):
    float32, the same shape."""
    return np.where(np.asarray(cells) == 0, 0.0, background_probs).astype(np.float32)


def closed_mask_image(background_probs, cells):
    """The mask (utils.outputs.masks) of the closed-contour map: 0 on membranes and on the
    lines between cells, 255 in the cells."""
    return masks.mask_image(closed_probs(background_probs, cells))

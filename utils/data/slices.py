"""Training data of slices of different sizes (a user's images/ and labels/ folders): kept as
a list of `[H, W]` arrays where a `[pages, H, W]` stack cannot hold them. Free of TensorFlow.

Slices of one size stay one stack, so the ISBI data takes exactly the stacked paths.
"""
import numpy as np


def stacked_if_equal(pages):
    """`pages` as one `[n, H, W]` array when they share a size, else as a list."""
    pages = list(pages)
    if len({page.shape for page in pages}) == 1:
        return np.stack(pages)
    return pages


def take(pages, indices):
    """The pages at `indices`, as a stack when they share a size."""
    if isinstance(pages, np.ndarray):
        return pages[np.asarray(indices)]
    return stacked_if_equal([pages[i] for i in indices])


def flat(pages):
    """Every pixel of every page, one after another: for totals over pixels."""
    if isinstance(pages, np.ndarray):
        return pages.ravel()
    return np.concatenate([np.ravel(page) for page in pages])


def shapes(pages):
    return [page.shape for page in pages]

"""Cross-validation folds of the training slices: which are held out for evaluation."""
import numpy as np


def fold_slices(pages, fold, num_folds):
    """Splits slice indices 0..pages-1 into contiguous blocks and holds block `fold` out.

    Contiguous, not interleaved: neighbouring EM sections look alike, so a held-out slice
    next to a training slice would flatter the score.

    Returns:
        (training indices, held-out indices), sorted and disjoint, together every slice.
    """
    held_out = np.array_split(np.arange(pages), num_folds)[fold]
    return np.setdiff1d(np.arange(pages), held_out), held_out

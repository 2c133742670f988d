"""From the network's probability of non-membrane to a mask: the one threshold every output
and pixel score uses."""
import numpy as np

MASK_THRESHOLD = 0.5
"""A pixel is background where its probability of non-membrane is at least this."""


def background_mask(background_probs):
    """bool, True where the pixel is predicted background (non-membrane)."""
    return np.asarray(background_probs) >= MASK_THRESHOLD


def mask_image(background_probs):
    """The mask as the training labels draw it: uint8, 0 = membrane, 255 = background."""
    return np.where(background_mask(background_probs), 255, 0).astype(np.uint8)

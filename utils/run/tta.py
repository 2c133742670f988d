"""Test-time augmentation: the probability map averaged over the 8 flips and rotations.

EM membranes have no preferred orientation, but the network is not exactly equivariant to
flips and rotations: its errors differ between the transformed copies of a slice, and their
average over the dihedral group D4 of the square smooths them out. Each transform is
inverted exactly before averaging, at 8 times the cost of one prediction.
"""
import numpy as np

TRANSFORMS = tuple((quarter_turns, flip) for flip in (False, True) for quarter_turns in range(4))
"""The 8 elements of D4: rotation by k quarter turns, then an optional left-right flip."""


def apply(images, transform):
    """Transforms the last two axes of `images`."""
    quarter_turns, flip = transform
    out = np.rot90(images, quarter_turns, axes=(-2, -1))
    return np.flip(out, axis=-1) if flip else out


def invert(images, transform):
    """Undoes apply(images, transform)."""
    quarter_turns, flip = transform
    out = np.flip(images, axis=-1) if flip else images
    return np.rot90(out, -quarter_turns, axes=(-2, -1))

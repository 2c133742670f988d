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


def average(predict, volume):
    """The mean of `predict` over the 8 transforms of `volume`, each mapped back.

    Args:
        predict: function from a uint8 stack `[pages, h, w]` to float maps of its shape.
        volume: uint8 `[pages, H, W]`.

    Transforms that give stacks of the same shape are predicted in one call (all 8 for
    square slices; two groups of 4 otherwise), so the model is loaded once or twice.
    """
    by_shape = {}
    for transform in TRANSFORMS:
        by_shape.setdefault(apply(volume[:1], transform).shape[1:], []).append(transform)
    total = np.zeros(volume.shape, np.float64)
    for transforms in by_shape.values():
        stacked = np.concatenate([apply(volume, t) for t in transforms])
        maps = predict(np.ascontiguousarray(stacked))
        for i, transform in enumerate(transforms):
            total += invert(maps[i * len(volume):(i + 1) * len(volume)], transform)
    return (total / len(TRANSFORMS)).astype(np.float32)

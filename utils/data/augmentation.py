"""Joint image/mask augmentations for the training pipeline, as stateless TF ops.

Every function takes `(image, mask, seed)` and returns `(image, mask)`: image float32
`[S, S, 1]` in [-1, 1], mask float32 `[S, S, C]` whose channel 0 is the label in {0, 1} and
whose other channels (the loss weights, if any) are carried along, seed an int32 `[2]`
tensor. One random draw serves image and mask, so they cannot drift apart; the same seed
always gives the same result.
"""
import math

import tensorflow as tf

ELASTIC_GRID = 3
"""The paper's elastic deformation: displacements drawn on a coarse 3x3 grid (section 3.1)."""
ELASTIC_STD_PX = 10.0
"""... with a standard deviation of 10 pixels, interpolated smoothly to every pixel."""
ZOOM_RANGE = (0.8, 1.0)
"""Crop-and-resize keeps a random square of this fraction of the side and scales it back up."""
BRIGHTNESS_DELTA = 0.2
"""Largest shift of the intensities, in units of the [-1, 1] range."""
CONTRAST_SEED = 1
"""The contrast draws' seed is folded from the brightness seed with this, so that turning
contrast on leaves every other draw, and hence runs without it, exactly as they were."""


def augment(image, mask, seed, kind='full', contrast=0.0):
    """Applies the augmentations of `kind` in turn, each with its own seed split from `seed`.

    'full': flips, then one resampling for rotation, zoom and elastic deformation, then
    brightness. 'flips': the same flips and brightness draws, with a transposition (a coin
    toss, like the flips) in place of the resampling, so pixels move whole: together the
    three give the 8 mirror images and quarter turns of the window. With `contrast` > 0,
    a gamma and a contrast change of that strength (adjust_contrast) come before the
    brightness shift.
    """
    seeds = tf.random.experimental.stateless_split(seed, 4)
    image, mask = flip_left_right(image, mask, seeds[0])
    image, mask = flip_up_down(image, mask, seeds[1])
    if kind == 'full':
        image, mask = deform(image, mask, seeds[2])
    elif kind == 'flips':
        image, mask = transpose(image, mask, seeds[2])
    else:
        raise ValueError(f'unknown augmentation {kind!r}')
    if contrast:
        image, mask = adjust_contrast(
            image, mask, tf.random.experimental.stateless_fold_in(seeds[3], CONTRAST_SEED),
            contrast)
    return adjust_brightness(image, mask, seeds[3])


def _coin(seed):
    return tf.random.stateless_uniform([], seed) < 0.5


def flip_left_right(image, mask, seed):
    """Mirrors both along the width with probability 1/2."""
    return tf.cond(_coin(seed), lambda: (image[:, ::-1], mask[:, ::-1]), lambda: (image, mask))


def flip_up_down(image, mask, seed):
    """Mirrors both along the height with probability 1/2."""
    return tf.cond(_coin(seed), lambda: (image[::-1], mask[::-1]), lambda: (image, mask))


def transpose(image, mask, seed):
    """Swaps rows and columns of both with probability 1/2."""
    return tf.cond(_coin(seed), lambda: (tf.transpose(image, [1, 0, 2]),
                                         tf.transpose(mask, [1, 0, 2])),
                   lambda: (image, mask))


def adjust_brightness(image, mask, seed):
    """Adds one uniform shift in [-0.2, 0.2] to the image, clipped to [-1, 1]; mask unchanged."""
    delta = tf.random.stateless_uniform([], seed, -BRIGHTNESS_DELTA, BRIGHTNESS_DELTA)
    return tf.clip_by_value(image + delta, -1.0, 1.0), mask


def adjust_contrast(image, mask, seed, strength):
    """A gamma, then a contrast factor, each drawn from the range `strength` gives; mask unchanged.

    Gamma g, log-uniform in [1 / (1 + strength), 1 + strength], bends the intensities
    (mapped to [0, 1]) as u ** g: it darkens or lightens the mid-greys of faint membranes
    without moving black or white. Then a factor uniform in [1 - strength, 1 + strength]
    scales the deviations from the window's mean, so slices flatter or sharper than the
    training slices are seen too. Clipped to [-1, 1].
    """
    seeds = tf.random.experimental.stateless_split(seed, 2)
    log_limit = math.log(1.0 + strength)
    gamma = tf.exp(tf.random.stateless_uniform([], seeds[0], -log_limit, log_limit))
    unit = tf.clip_by_value((image + 1.0) / 2.0, 0.0, 1.0)
    image = 2.0 * tf.pow(unit, gamma) - 1.0
    factor = tf.random.stateless_uniform([], seeds[1], 1.0 - strength, 1.0 + strength)
    mean = tf.reduce_mean(image)
    return tf.clip_by_value(mean + factor * (image - mean), -1.0, 1.0), mask


def deform(image, mask, seed):
    """Random rotation, crop-and-resize and elastic deformation, resampled once.

    The three are geometric, so they compose into one map from output to source
    coordinates; sampling once instead of three times keeps the image from blurring.
    Image values are interpolated bilinearly; the mask is interpolated the same way, its
    label channel re-binarised at 0.5. Source coordinates outside the window are mirrored back in,
    like the overlap-tile padding.
    """
    size = tf.shape(image)[0]
    seeds = tf.random.experimental.stateless_split(seed, 4)
    angle = tf.random.stateless_uniform([], seeds[0], 0.0, 2.0 * math.pi)
    scale = tf.random.stateless_uniform([], seeds[1], *ZOOM_RANGE)

    centre = (tf.cast(size, tf.float32) - 1.0) / 2.0
    grid = tf.range(tf.cast(size, tf.float32)) - centre
    rows, cols = tf.meshgrid(grid, grid, indexing='ij')
    # Zooming in by 1/scale keeps a window of `scale` times the side, placed at random
    # inside the original window.
    shift_limit = (1.0 - scale) * centre
    shift = tf.random.stateless_uniform([2], seeds[2], -1.0, 1.0) * shift_limit
    cos, sin = tf.cos(angle) * scale, tf.sin(angle) * scale
    src_rows = cos * rows - sin * cols + centre + shift[0]
    src_cols = sin * rows + cos * cols + centre + shift[1]
    d_rows, d_cols = _elastic_displacement(seeds[3], size)
    return _resample(image, mask, src_rows + d_rows, src_cols + d_cols)


def _elastic_displacement(seed, size):
    """Smooth displacement fields `[S, S]` (rows, cols) from a coarse grid of normal draws."""
    coarse = tf.random.stateless_normal(
        [1, ELASTIC_GRID, ELASTIC_GRID, 2], seed, stddev=ELASTIC_STD_PX)
    fine = tf.image.resize(coarse, [size, size], method='bicubic')[0]
    return fine[..., 0], fine[..., 1]


def _reflect(coords, length):
    """Mirrors continuous coordinates into [0, length - 1] (reflection without edge repeat)."""
    last = tf.cast(length, tf.float32) - 1.0
    period = 2.0 * last
    coords = tf.math.floormod(coords, period)
    return tf.where(coords > last, period - coords, coords)


def _resample(image, mask, src_rows, src_cols):
    """Bilinear sampling of image and mask together at the given source coordinates."""
    size = tf.shape(image)[0]
    stacked = tf.concat([image, mask], axis=-1)
    src_rows = _reflect(src_rows, size)
    src_cols = _reflect(src_cols, size)
    row0 = tf.floor(src_rows)
    col0 = tf.floor(src_cols)
    weight_row = (src_rows - row0)[..., None]
    weight_col = (src_cols - col0)[..., None]
    row0 = tf.cast(row0, tf.int32)
    col0 = tf.cast(col0, tf.int32)
    row1 = tf.minimum(row0 + 1, size - 1)
    col1 = tf.minimum(col0 + 1, size - 1)

    def gather(r, c):
        return tf.gather_nd(stacked, tf.stack([r, c], axis=-1))

    top = gather(row0, col0) * (1.0 - weight_col) + gather(row0, col1) * weight_col
    bottom = gather(row1, col0) * (1.0 - weight_col) + gather(row1, col1) * weight_col
    warped = top * (1.0 - weight_row) + bottom * weight_row
    image = tf.clip_by_value(warped[..., :1], -1.0, 1.0)
    label = tf.cast(warped[..., 1:2] >= 0.5, tf.float32)
    return image, tf.concat([label, warped[..., 2:]], axis=-1)

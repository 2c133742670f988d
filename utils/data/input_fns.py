"""From checked arrays (utils.data.dataset) to tf.data pipelines: the input_fn factories.

Training samples follow the paper's overlap-tile strategy at full resolution: a random
`input_size` window of the mirror-padded slice, paired with the label window under its
valid output. Prediction feeds the tiles of utils.data.tiling, one slice after another.
"""
import dataclasses

import numpy as np
import tensorflow as tf

from model.sizes import BORDER, output_size
from utils.data import augmentation
from utils.data.tiling import mirror_pad


def normalize(pixels):
    """uint8 intensities to float32 in [-1, 1]."""
    return tf.cast(pixels, tf.float32) / 127.5 - 1.0


@dataclasses.dataclass(frozen=True)
class Sampling:
    """How training samples are drawn: window size, batch, seeds, and their augmentation.

    Sample i of rank r draws its slice, window and augmentation from the stateless seed
    (seed, r) folded with i, so a run is reproducible and ranks see different samples.
    """
    input_size: int
    """Side of the input window (16k + 124)."""
    batch_size: int
    seed: int
    rank: int = 0
    first_sample: int = 0
    """Index of the first sample: a run resumed at step s starts at s * batch_size, so it
    draws the samples an uninterrupted run would have."""
    augmentation: str = None
    """The `kind` of utils.data.augmentation.augment ('full' or 'flips'), None for none."""
    augment_steps: int = 0
    """With an augmentation, only the samples of the first `augment_steps` steps are
    augmented (0: all); later ones are the same windows unaugmented."""
    contrast: float = 0.0
    """The strength of the augmentation's gamma and contrast draws (0: none)."""

    @classmethod
    def of(cls, params, rank, first_step):
        """The sampling of a run of `params` (utils.runtime.params.Params) on `rank`,
        starting at training step `first_step`."""
        return cls(params.input_size, params.batch_size, params.seed, rank,
                   first_step * params.batch_size,
                   params.augmentation if params.augment else None, params.augment_steps,
                   params.contrast_augment)


def train_input_fn(volume, classes, sampling, pixel_weights=None):
    """Makes the Estimator's training input_fn: random windows of the slices, as `sampling`
    (a Sampling) draws them.

    Args:
        volume, classes: uint8 `[pages, H, W]` from utils.data.dataset, or lists of `[H, W]`
            slices of different sizes (utils.data.slices): each slice's windows stay inside
            it.
        pixel_weights: float32 `[pages, H, W]` the loss's per-pixel maps
            (utils.data.weight_map), cut and augmented with the labels, or None.

    Returns:
        A function returning a dataset of (image float32 `[batch, in, in, 1]` in [-1, 1],
        labels) batches, repeated forever; labels is {'classes': int32 `[batch, out, out]`
        in {0, 1}} plus 'pixel_weights', float32 of that shape, when `pixel_weights` is given.
    """
    channels = [volume, classes] + ([] if pixel_weights is None else [pixel_weights])
    # uint8 keeps the common case small.
    dtype = np.uint8 if pixel_weights is None else np.float32
    # Labels (and weights) are padded like the image so that one window offset addresses all.
    padded, heights, widths = _padded(channels, dtype)
    sample = _sampler(sampling, heights, widths, len(channels))

    def input_fn():
        # The stack enters the graph through a generator, not as a constant: a constant
        # would be copied into every checkpoint's .meta file.
        stack = tf.data.Dataset.from_generator(
            lambda: iter([padded]),
            output_signature=tf.TensorSpec(padded.shape, tf.as_dtype(dtype))).cache().repeat()
        dataset = tf.data.Dataset.zip(
            (stack, tf.data.Dataset.range(sampling.first_sample, 2 ** 62)))
        dataset = dataset.map(sample, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.batch(sampling.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    return input_fn


def _sampler(sampling, heights, widths, channels):
    """The function of (padded stack, sample index) that draws one training sample."""
    input_size = sampling.input_size
    out = output_size(input_size)
    pages = len(heights)

    def sample(stack, index):
        sample_seed = tf.random.experimental.stateless_fold_in(
            tf.constant([sampling.seed, sampling.rank], tf.int64), index)
        page_seed, row_seed, col_seed, augment_seed = tf.unstack(
            tf.random.experimental.stateless_split(sample_seed, 4))
        page = tf.random.stateless_uniform([], page_seed, 0, pages, dtype=tf.int32)
        row = tf.random.stateless_uniform([], row_seed, 0, tf.gather(heights, page) - out + 1,
                                          dtype=tf.int32)
        col = tf.random.stateless_uniform([], col_seed, 0, tf.gather(widths, page) - out + 1,
                                          dtype=tf.int32)
        window = stack[page, row:row + input_size, col:col + input_size]
        window.set_shape([input_size, input_size, channels])
        image = normalize(window[..., :1])
        mask = tf.cast(window[..., 1:], tf.float32)

        def augmented():
            return augmentation.augment(image, mask, augment_seed, sampling.augmentation,
                                        sampling.contrast)

        if sampling.augmentation and sampling.augment_steps:
            # Decided by the sample's index, not the global step, so a resumed run
            # switches at the same sample as an uninterrupted one.
            image, mask = tf.cond(index < sampling.augment_steps * sampling.batch_size,
                                  augmented, lambda: (image, mask))
        elif sampling.augmentation:
            image, mask = augmented()
        valid = mask[BORDER:BORDER + out, BORDER:BORDER + out]
        labels = {'classes': tf.cast(valid[..., 0], tf.int32)}
        if channels > 2:
            labels['pixel_weights'] = valid[..., 1]
        return image, labels

    return sample


def _padded(channels, dtype):
    """The channels' slices mirror-padded and stacked `[pages, H, W, channels]`, with each
    slice's own height and width, which bound the windows drawn from it."""
    volume = channels[0]
    if not isinstance(volume, np.ndarray):
        return _packed(channels, dtype)
    padded = np.stack([mirror_pad(c.astype(dtype), BORDER) for c in channels], axis=-1)
    return (padded, np.full(len(volume), volume.shape[1], np.int32),
            np.full(len(volume), volume.shape[2], np.int32))


def _packed(channels, dtype):
    """Slices of different sizes, each mirror-padded, in one zero-filled array of the largest
    padded size; and their own heights and widths, which bound the windows drawn from them."""
    sizes = [page.shape for page in channels[0]]
    height = max(h for h, _ in sizes) + 2 * BORDER
    width = max(w for _, w in sizes) + 2 * BORDER
    packed = np.zeros((len(sizes), height, width, len(channels)), dtype)
    for i, (h, w) in enumerate(sizes):
        for c, channel in enumerate(channels):
            packed[i, :h + 2 * BORDER, :w + 2 * BORDER, c] = mirror_pad(
                channel[i].astype(dtype), BORDER)
    return (packed, np.array([h for h, _ in sizes], np.int32),
            np.array([w for _, w in sizes], np.int32))


def synthetic_train_input_fn(input_size, batch_size, seed, weighted=False):
    """Makes an input_fn that repeats one random batch: training with no input cost at all,
    the reference --exec_mode benchmark measures pure compute against."""
    out = output_size(input_size)
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (batch_size, input_size, input_size, 1)).astype(np.float32)
    labels = {'classes': rng.integers(0, 2, (batch_size, out, out)).astype(np.int32)}
    if weighted:
        labels['pixel_weights'] = rng.uniform(0.5, 10, (batch_size, out, out)).astype(np.float32)

    def input_fn():
        return tf.data.Dataset.from_tensors((images, labels)).repeat()
    return input_fn


def predict_input_fn(tiles, batch_size, batches=None):
    """Makes the Estimator's predict input_fn over uint8 tiles `[n, in_h, in_w]`.

    With `batches`, the tiles are cycled to make exactly that many full batches (benchmarks);
    without, each tile is predicted once.
    """
    def input_fn():
        dataset = tf.data.Dataset.from_generator(
            lambda: iter(tiles),
            output_signature=tf.TensorSpec(tiles.shape[1:], tf.uint8))
        if batches is not None:
            dataset = dataset.cache().repeat().take(batches * batch_size)
        dataset = dataset.map(lambda tile: normalize(tile[..., None]))
        return dataset.batch(batch_size).prefetch(1)
    return input_fn

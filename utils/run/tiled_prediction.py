"""Overlap-tiled prediction of pages in batches, by one graph with one checkpoint restore:
every page cut into tiles, consecutive tiles of one shape batched, the outputs stitched (and
averaged over the flips and rotations with --tta) as each page completes.

It serves every prediction: a user's own files (--input, utils.run.prediction: read,
predicted and written page by page, so memory is bounded by a page and a batch, not by the
stack), the dataset's test and held-out slices, and an exported model's predictions.

The tiles go to the Estimator through a tf.data generator that reads the pages one by one;
what each tile belongs to goes through a queue beside it, in the same order, so the outputs
can be put back together as they arrive.
"""
import collections
import dataclasses

import numpy as np
import tensorflow as tf

from utils.data import images
from utils.data.dataset import BACKGROUND
from utils.data.input_fns import normalize
from utils.data.tiling import extract_tiles, plan_tiles, stitch, tiles_per_batch
from utils.hooks import inspection_hooks
from utils.run import tta
from utils.runtime.errors import DatasetError

IDENTITY = tta.TRANSFORMS[0]


def views(params):
    """The transforms each page is predicted under, and how the log says so: the 8 flips
    and rotations with --tta, else the page as it is."""
    if params.tta:
        return tta.TRANSFORMS, ' (--tta: 8 views of each)'
    return (IDENTITY,), ''


@dataclasses.dataclass
class _View:
    """One view of one page (the page itself, or a flip or rotation of it with --tta)."""
    file_index: int
    page_index: int
    transform: tuple
    plan: object
    tiles: int
    image: np.ndarray = None
    """The page as read, on its last view only: its outputs are written then."""


class BatchedTiles:
    """The tiles of every page of `sources`, batched: consecutive tiles of one input shape,
    up to `batch_size` (fewer for large tiles: utils.data.tiling.tiles_per_batch), so many small
    pages share a graph run and memory stays bounded.

    `read(source)` gives a source's `[H, W]` pages: utils.data.images.read_pages for files (the
    default), `iter` for an array of slices or a list of them.
    """

    def __init__(self, sources, batch_size, transforms=(IDENTITY,), read=images.read_pages):
        self.sources = sources
        self.read = read
        self.batch_size = batch_size
        self.transforms = transforms
        self.views = collections.deque()
        self.error = None
        """A page that could not be read (DatasetError): the batches stop before it, and
        predict_files raises it, as TensorFlow would otherwise bury it in its own error."""

    def batches(self):
        """Yields uint8 `[n, in_h, in_w]` batches; runs in tf.data's thread."""
        batch = []
        try:
            for file_index, source in enumerate(self.sources):
                for page_index, page in enumerate(self.read(source)):
                    for transform in self.transforms:
                        view = tta.apply(page, transform)
                        plan = plan_tiles(*view.shape)
                        tiles = extract_tiles(view, plan)
                        last = transform == self.transforms[-1]
                        self.views.append(_View(file_index, page_index, transform, plan,
                                                len(tiles), page if last else None))
                        per_batch = tiles_per_batch(plan.input_shape, self.batch_size)
                        for tile in tiles:
                            if batch and (tile.shape != batch[0].shape or
                                          len(batch) >= per_batch):
                                yield np.stack(batch)
                                batch = []
                            batch.append(tile)
        except DatasetError as err:
            self.error = err  # The pages before it are still predicted and written.
        if batch:
            yield np.stack(batch)

    def input_fn(self):
        dataset = tf.data.Dataset.from_generator(
            self.batches, output_signature=tf.TensorSpec([None, None, None], tf.uint8))
        return dataset.map(lambda tiles: normalize(tiles[..., None])).prefetch(1)

    def pages(self, predictions):
        """Yields (file_index, page_index, page, probability of non-membrane `[H, W]`) as the
        `predictions` of the Estimator (batches, in input order) complete each page."""
        view, outputs_of_view, total = None, [], None
        for batch in predictions:
            for tile in batch['probabilities'][..., BACKGROUND]:
                if view is None:
                    view, outputs_of_view = self.views.popleft(), []
                outputs_of_view.append(tile)
                if len(outputs_of_view) < view.tiles:
                    continue
                probs = tta.invert(stitch(outputs_of_view, view.plan), view.transform)
                total = probs.astype(np.float64) if total is None else total + probs
                if view.image is not None:  # The page's last view.
                    mean = (total / len(self.transforms)).astype(np.float32)
                    yield view.file_index, view.page_index, view.image, mean
                    total = None
                view = None


def predict_slices(estimator, params, logger, volume):
    """Every slice of `volume` (uint8 `[pages, H, W]`, or a list of `[H, W]` slices of any
    sizes) predicted with `estimator`, averaged over the 8 flips and rotations with --tta.

    Returns:
        float32 probability of non-membrane per pixel: `[pages, H, W]`, or a list of `[H, W]`
        for a list.
    """
    transforms, note = views(params)
    tiles = BatchedTiles([volume], params.batch_size, transforms, read=iter)
    shapes = sorted({page.shape for page in volume})
    sizes = ', '.join(f'{h}x{w}' for h, w in shapes)
    logger.message(f'predicting {len(volume)} slice(s) of {sizes}{note}')
    probabilities = [probs for *_, probs in tiles.pages(
        with_estimator(estimator, params, logger)(tiles))]
    return np.stack(probabilities) if isinstance(volume, np.ndarray) else probabilities


def with_estimator(estimator, params, logger):
    """The predictions of an Estimator (one graph build and one checkpoint restore for the
    whole job) as predict_files takes them."""
    def predict_batches(tiles):
        return estimator.predict(tiles.input_fn, hooks=inspection_hooks(logger, params,
                                                                        'predict'),
                                 yield_single_examples=False)
    return predict_batches


def with_saved_model(unet):
    """The predictions of an exported model (utils.run.exported_unet.ExportedUNet)."""
    def predict_batches(tiles):
        return ({'probabilities': unet.predict_tiles(batch)} for batch in tiles.batches())
    return predict_batches

"""Overlap-tiled prediction of pages in batches, by one graph with one checkpoint restore:
every page cut into tiles, consecutive tiles of one shape batched, the outputs stitched (and
averaged over the flips and rotations with --tta) as each page completes.

It serves every prediction: a user's own files (--input, predict_files: read, predicted and
written page by page, so memory is bounded by a page and a batch, not by the stack), the
dataset's test and held-out slices (utils.inference), and an exported model's predictions.

The tiles go to the Estimator through a tf.data generator that reads the pages one by one;
what each tile belongs to goes through a queue beside it, in the same order, so the outputs
can be put back together as they arrive.
"""
import collections
import dataclasses
import time

import numpy as np
import tensorflow as tf

from utils import files as disk
from utils import images, outputs, tta
from utils.data_loader import normalize
from utils.data_files import BACKGROUND
from utils.errors import DatasetError
from utils.hooks import inspection_hooks
from utils.tiling import extract_tiles, plan_tiles, stitch, tiles_per_batch

IDENTITY = tta.TRANSFORMS[0]


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
    up to `batch_size` (fewer for large tiles: utils.tiling.tiles_per_batch), so many small
    pages share a graph run and memory stays bounded.

    `read(source)` gives a source's `[H, W]` pages: utils.images.read_pages for files (the
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
    transforms = tta.TRANSFORMS if params.tta else (IDENTITY,)
    tiles = BatchedTiles([volume], params.batch_size, transforms, read=iter)
    shapes = sorted({page.shape for page in volume})
    sizes = ', '.join(f'{h}x{w}' for h, w in shapes)
    logger.message(f'predicting {len(volume)} slice(s) of {sizes}' +
                   (' (--tta: 8 views of each)' if params.tta else ''))
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
    """The predictions of an exported model (utils.serving.ExportedUNet)."""
    def predict_batches(tiles):
        return ({'probabilities': unet.predict_tiles(batch)} for batch in tiles.batches())
    return predict_batches


def predict_files(predict_batches, params, logger, files):
    """Predicts every page of `files` (utils.images.ImageFile) into --output_dir, with
    `predict_batches` (with_estimator or with_saved_model).

    Returns:
        {input path: [output paths]}.
    """
    transforms = tta.TRANSFORMS if params.tta else (IDENTITY,)
    tiles = BatchedTiles(files, params.batch_size, transforms)
    total_pages = sum(image_file.pages for image_file in files)
    warning = files_space_warning(params.output_dir, files, params.overlays)
    if warning:
        logger.message(warning)
    logger.message(f'predicting {total_pages} page(s) of {len(files)} input(s) into '
                   f'{params.output_dir}' + (' (--tta: 8 views of each)' if params.tta else ''))
    predictions = predict_batches(tiles)
    progress = _Progress(logger, total_pages)
    written, writer = {}, None
    try:
        for file_index, page_index, page, probs in tiles.pages(predictions):
            if writer is None:
                writer = outputs.FileOutputs(params.output_dir, files[file_index],
                                             params.overlays)
            writer.add(page_index, page, probs)
            progress.page_done()
            if page_index == files[file_index].pages - 1:
                written[files[file_index].path] = writer.close()
                logger.message(f'{files[file_index].path} -> ' +
                               ', '.join(written[files[file_index].path]))
                writer = None
    finally:
        if writer is not None:
            writer.abort()
    if tiles.error is not None:
        raise tiles.error
    return written


def files_space_warning(output_dir, files, overlays):
    """A warning when --output_dir may not hold the outputs: at most a float32 and an 8-bit
    page per page, and two RGB panels with the overlays (PNG compresses them)."""
    per_pixel = 4 + 1 + (6 if overlays else 0)
    needed = sum(h * w * per_pixel for image_file in files for h, w in image_file.sizes)
    return disk.space_warning(output_dir, needed, 'the predictions')


class _Progress:
    """A progress line with the ETA over all pages, at most every few seconds."""

    def __init__(self, logger, total, every_seconds=10.0):
        self.logger, self.total, self.every = logger, total, every_seconds
        self.done, self.started = 0, time.monotonic()
        self.last = self.started

    def page_done(self):
        self.done += 1
        now = time.monotonic()
        if now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        rate = self.done / max(now - self.started, 1e-9)
        eta = (self.total - self.done) / rate
        self.logger.log('predict_progress', {'pages': f'{self.done}/{self.total}',
                                             'pages_per_sec': rate,
                                             'eta': time.strftime('%H:%M:%S', time.gmtime(eta))})

"""Prediction that writes outputs: the test volume of --data_dir into <model_dir>/pred (the
challenge's stacks, overlays, and the membrane Dice where labels exist), and a user's own
files (--input) into --output_dir, page by page as they are predicted."""
import time

from utils.outputs import cells as cells_lib
from utils.outputs import overlays, scores, writers
from utils.outputs.names import CELLS_FILE, CLOSED_MASKS_FILE, MASKS_FILE, PROBS_FILE
from utils.run import checkpoints
from utils.run.tiled_prediction import BatchedTiles, predict_slices, views
from utils.runtime import disk


def predict_test_volume(estimator, params, logger, volume, classes):
    """Predicts every test slice and writes the outputs under pred_dir.

    Returns:
        float32 `[pages, H, W]`: probability of non-membrane per pixel.
    """
    disk.warn_if_short(logger, params.pred_dir,
                       writers.prediction_bytes(volume.shape, classes, params.cells),
                       'the predictions')
    background_probs = predict_slices(estimator, params, logger, volume)
    writers.write_predictions(params.pred_dir, background_probs)
    written = [PROBS_FILE, MASKS_FILE]
    cells = None
    watershed = cells_lib.from_params(params)
    if watershed is not None:
        cells = watershed.pages(background_probs)
        writers.write_cells(params.pred_dir, background_probs, cells)
        written += [CELLS_FILE, CLOSED_MASKS_FILE]
    overlay_dir = overlays.write_overlays(params.pred_dir, volume, background_probs, classes,
                                          cells)
    logger.message(f'wrote {", ".join(written)} and overlays to {params.pred_dir} '
                   f'({overlay_dir})')
    if classes is not None:
        dice = scores.membrane_dice(background_probs, classes)
        step = checkpoints.checkpoint_step(estimator.model_dir)
        writers.write_metrics(params.pred_dir, {'membrane_dice': dice, 'step': step})
        logger.log('predict', {'held_out_membrane_dice': dice})
    return background_probs


def predict_files(predict_batches, params, logger, files):
    """Predicts every page of `files` (utils.data.images.ImageFile) into --output_dir, with
    `predict_batches` (with_estimator or with_saved_model).

    Returns:
        {input path: [output paths]}.
    """
    transforms, note = views(params)
    tiles = BatchedTiles(files, params.batch_size, transforms)
    total_pages = sum(image_file.pages for image_file in files)
    disk.warn_if_short(logger, params.output_dir,
                       outputs_bytes(files, params.overlays, params.cells), 'the predictions')
    logger.message(f'predicting {total_pages} page(s) of {len(files)} input(s) into '
                   f'{params.output_dir}{note}')
    predictions = predict_batches(tiles)
    progress = _Progress(logger, total_pages)
    written, writer = {}, None
    try:
        for file_index, page_index, page, probs in tiles.pages(predictions):
            if writer is None:
                writer = writers.FileOutputs(params.output_dir, files[file_index],
                                             params.overlays, cells_lib.from_params(params))
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


def outputs_bytes(files, overlays, cells):
    """At most what the outputs of `files` take in --output_dir (writers.bytes_per_pixel),
    with the overlays an image, a prediction and, with `cells`, a cells panel per page."""
    per_pixel = writers.bytes_per_pixel((2 + cells) if overlays else 0, cells)
    return sum(h * w * per_pixel for image_file in files for h, w in image_file.sizes)


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

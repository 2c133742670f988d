"""Inference with a trained Estimator on the dataset's slices: the seed's prediction of the
test volume, the scoring of held-out slices, and the timed prediction of --benchmark; each
tiles and predicts through utils.prediction, as a user's own files (--input) do."""
import numpy as np

from utils import checkpoints, data_loader, files, metrics, outputs, prediction, slices
from utils.data_files import BACKGROUND
from utils.hooks import inspection_hooks
from utils.hooks.progress_hook import ProgressHook


def predict(estimator, params, logger, volume, classes):
    """Predicts every test slice and writes the outputs under pred_dir.

    Returns:
        float32 `[pages, H, W]`: probability of non-membrane per pixel.
    """
    _warn_if_short(logger, params.pred_dir, outputs.prediction_bytes(volume.shape, classes),
                   'the predictions')
    background_probs = prediction.predict_slices(estimator, params, logger, volume)
    outputs.write_predictions(params.pred_dir, background_probs)
    overlay_dir = outputs.write_overlays(params.pred_dir, volume, background_probs, classes)
    logger.message(f'wrote {outputs.PROBS_FILE}, {outputs.MASKS_FILE} and overlays to '
                   f'{params.pred_dir} ({overlay_dir})')
    if classes is not None:
        dice = outputs.membrane_dice(background_probs, classes)
        step = checkpoints.checkpoint_step(estimator.model_dir)
        outputs.write_metrics(params.pred_dir, {'membrane_dice': dice, 'step': step})
        logger.log('predict', {'held_out_membrane_dice': dice})
    return background_probs


def evaluate(estimator, params, logger, volume, classes, slice_indices):
    """Scores held-out slices: writes eval_dir/metrics.json and their probabilities.

    Returns:
        The metrics dict (utils.metrics.evaluate plus step, slices and fold).
    """
    _warn_if_short(logger, params.eval_dir, outputs.evaluation_bytes(volume),
                   'the held-out probabilities')
    background_probs = prediction.predict_slices(estimator, params, logger, volume)
    scores = metrics.evaluate(background_probs,
                              slices.stacked_if_equal(page == BACKGROUND for page in classes))
    record = dict(scores, step=checkpoints.checkpoint_step(estimator.model_dir),
                  slices=list(slice_indices), fold=params.fold, num_folds=params.num_folds)
    outputs.write_evaluation(params.eval_dir, record, background_probs)
    logger.log('evaluate', scores)
    return record


def benchmark_predict(estimator, params, logger, data):
    """Times --max_steps batches of inference, on the test volume's tiles cycled, or on random
    tiles of --input_size when `data` is None (--exec_mode benchmark). Writes nothing."""
    if data is None:
        rng = np.random.default_rng(params.seed)
        tiles = rng.integers(0, 256, (params.batch_size, params.input_size, params.input_size),
                             dtype=np.uint8)
    else:
        volume = data[0]
        batched = prediction.BatchedTiles([volume], params.batch_size, read=iter)
        tiles = np.concatenate(list(batched.batches()))
        plan = batched.views[0].plan
        logger.message(f'timing inference of {volume.shape[1]}x{volume.shape[2]} slices as '
                       f'{len(plan.offsets)} tile(s) of {plan.input_shape[0]}x'
                       f'{plan.input_shape[1]} each')
    # What was timed, for scripts that compare this rate with their own (in the summary's
    # images_per_sec, an image is one tile of this shape).
    logger.log('predict_tiles', {'tile_height': tiles.shape[1], 'tile_width': tiles.shape[2]})
    hooks = [ProgressHook(logger, {}, None, params.batch_size, params.log_every,
                          params.warmup_steps, params.max_steps, 'predict_summary'),
             *inspection_hooks(logger, params, 'predict')]
    input_fn = data_loader.predict_input_fn(tiles, params.batch_size, batches=params.max_steps)
    for _ in estimator.predict(input_fn, hooks=hooks, yield_single_examples=False):
        pass


def _warn_if_short(logger, directory, needed, what):
    warning = files.space_warning(directory, needed, what)
    if warning:
        logger.message(warning)

"""Scoring held-out slices with a trained Estimator: the challenge's scores and the pixel scores
in <model_dir>/eval/metrics.json, beside the slices' probabilities, and with --cells the same
scores of the closed-contour map (prefixed closed_) beside the cells."""
from utils.data import slices
from utils.data.dataset import BACKGROUND
from utils.outputs import cells as cells_lib
from utils.outputs import scores, writers
from utils.run import checkpoints
from utils.run.tiled_prediction import predict_slices
from utils.runtime import disk


def evaluate(estimator, params, logger, volume, classes, slice_indices):
    """Scores held-out slices: writes eval_dir/metrics.json, their probabilities and cells.

    Returns:
        The metrics dict (utils.outputs.scores.evaluate, with --cells its closed_ twins, plus
        step, slices and fold).
    """
    disk.warn_if_short(logger, params.eval_dir, writers.evaluation_bytes(volume, params.cells),
                       'the held-out probabilities')
    background_probs = predict_slices(estimator, params, logger, volume)
    background = slices.stacked_if_equal(page == BACKGROUND for page in classes)
    held_out_scores = scores.evaluate(background_probs, background)
    cells = None
    watershed = cells_lib.from_params(params)
    if watershed is not None:
        cells = watershed.pages(background_probs)
        closed = [cells_lib.closed_probs(probs, page_cells)
                  for probs, page_cells in zip(background_probs, cells)]
        held_out_scores.update({scores.CLOSED_PREFIX + name: value for name, value in
                                scores.evaluate(slices.stacked_if_equal(closed),
                                                background).items()})
    record = dict(held_out_scores, step=checkpoints.checkpoint_step(estimator.model_dir),
                  slices=list(slice_indices), fold=params.fold, num_folds=params.num_folds)
    writers.write_evaluation(params.eval_dir, record, background_probs, cells)
    logger.log('evaluate', held_out_scores)
    return record

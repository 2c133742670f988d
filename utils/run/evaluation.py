"""Scoring held-out slices with a trained Estimator: the challenge's scores and the pixel scores
in <model_dir>/eval/metrics.json, beside the slices' probabilities."""
from utils.data import slices
from utils.data.dataset import BACKGROUND
from utils.outputs import scores, writers
from utils.run import checkpoints
from utils.run.tiled_prediction import predict_slices
from utils.runtime import disk


def evaluate(estimator, params, logger, volume, classes, slice_indices):
    """Scores held-out slices: writes eval_dir/metrics.json and their probabilities.

    Returns:
        The metrics dict (utils.outputs.scores.evaluate plus step, slices and fold).
    """
    disk.warn_if_short(logger, params.eval_dir, writers.evaluation_bytes(volume),
                       'the held-out probabilities')
    background_probs = predict_slices(estimator, params, logger, volume)
    held_out_scores = scores.evaluate(
        background_probs, slices.stacked_if_equal(page == BACKGROUND for page in classes))
    record = dict(held_out_scores, step=checkpoints.checkpoint_step(estimator.model_dir),
                  slices=list(slice_indices), fold=params.fold, num_folds=params.num_folds)
    writers.write_evaluation(params.eval_dir, record, background_probs)
    logger.log('evaluate', held_out_scores)
    return record

"""What a run does, by --exec_mode, as a table of contents: train (utils.run.training), then
predict, evaluate or export (utils.run.prediction, .evaluation, .export), with the Estimator
of utils.run.estimator_setup; or time training and prediction instead of keeping them
(--benchmark, --exec_mode benchmark: utils.run.prediction_timing)."""
from utils.run import evaluation, export, prediction, prediction_timing, training
from utils.run.estimator_setup import build_estimator, estimator_dir
from utils.run.exported_unet import ExportedUNet
from utils.run.tiled_prediction import with_estimator, with_saved_model
from utils.runtime.device import Device


def run(params, inputs, logger, distributed, device=Device()):
    """Runs `params.exec_mode` on checked `inputs`: training, then prediction, evaluation or
    export as the mode asks.

    `inputs` is a utils.run.inputs.Inputs. Under Horovod every rank trains; rank 0 alone
    predicts, while the others are done when training is: prediction uses no collective op,
    so nothing waits on them. `device` (utils.runtime.device.Device) is what main.py found.
    """
    if params.saved_model:  # Predicting --input with an export: no Estimator, no checkpoint.
        prediction.predict_files(with_saved_model(ExportedUNet(params.saved_model)), params,
                                 logger, inputs.images)
        return
    with estimator_dir(params, distributed) as model_dir:
        estimator = build_estimator(params, model_dir, logger, distributed, device)
        if params.trains:
            pixel_weights = training.pixel_weights_of(params, logger, inputs.train)
            if params.eval_every:
                training.train_evaluating_every(estimator, params, logger, distributed, inputs,
                                                pixel_weights)
            else:
                training.train(estimator, params, logger, distributed, inputs.train,
                               pixel_weights)
        if not distributed.is_chief:
            return
        if params.predicts:
            if params.timing_only:
                prediction_timing.time_prediction(estimator, params, logger, inputs.test)
            elif params.input:
                prediction.predict_files(with_estimator(estimator, params, logger), params,
                                         logger, inputs.images)
            else:
                prediction.predict_test_volume(estimator, params, logger, *inputs.test)
        if params.evaluates and not params.eval_every:
            evaluation.evaluate(estimator, params, logger, *inputs.held_out,
                                inputs.held_out_slices)
        if params.exec_mode == 'export':
            export.export(estimator, params, logger)

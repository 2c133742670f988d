"""What a run does, by --exec_mode: train (utils.training), then predict, evaluate or export
(utils.inference, utils.prediction, utils.serving), with the Estimator of
utils.estimator_setup; training and prediction either kept (checkpoints, prediction files)
or timed (--benchmark, --exec_mode benchmark)."""
from utils import inference, prediction, serving, training
from utils.device import Device
from utils.estimator_setup import build_estimator, estimator_dir


def run(params, inputs, logger, distributed, device=Device()):
    """Runs `params.exec_mode` on checked `inputs`: training, then prediction, evaluation or
    export as the mode asks.

    `inputs` is a utils.data_files.Inputs. Under Horovod every rank trains; rank 0 alone
    predicts, while the others are done when training is: prediction uses no collective op,
    so nothing waits on them. `device` (utils.device.Device) is what main.py found.
    """
    if params.saved_model:  # Predicting --input with an export: no Estimator, no checkpoint.
        unet = serving.ExportedUNet(params.saved_model)
        prediction.predict_files(prediction.with_saved_model(unet), params, logger,
                                 inputs.images)
        return
    with estimator_dir(params, distributed) as model_dir:
        estimator = build_estimator(params, model_dir, logger, distributed, device)
        if params.trains:
            weights = training.loss_weights(params, logger, inputs.train)
            if params.eval_every:
                training.train_evaluating_every(estimator, params, logger, distributed, inputs,
                                                weights)
            else:
                training.train(estimator, params, logger, distributed, inputs.train, weights)
        if not distributed.is_chief:
            return
        if params.predicts:
            if params.benchmarks:
                inference.benchmark_predict(estimator, params, logger, inputs.test)
            elif params.input:
                prediction.predict_files(prediction.with_estimator(estimator, params, logger),
                                         params, logger, inputs.images)
            else:
                inference.predict(estimator, params, logger, *inputs.test)
        if params.evaluates and not params.eval_every:
            inference.evaluate(estimator, params, logger, *inputs.held_out,
                               inputs.held_out_slices)
        if params.exec_mode == 'export':
            serving.export(estimator, params, logger)

"""RunConfig + Estimator, and what a run does with it: train, predict, evaluate held-out
slices, export; training and prediction either kept (checkpoints, prediction files) or timed
(--benchmark, --exec_mode benchmark)."""
import contextlib
import os
import re
import signal
import tempfile
import time

import numpy as np
import tensorflow as tf

import dllogger
from model.sizes import output_size
from utils import (checkpoints, data_loader, distributed as dist_lib, files, metrics, outputs,
                   precision, prediction, serving, slices, tta, weight_map)
from utils.dataset import BACKGROUND
from utils.errors import Interrupted, TrainingDiverged
from utils.hooks import inspection_hooks
from utils.hooks.progress_hook import ProgressHook
from utils.hooks.stop_hook import StopOnSignalHook, StopSignals
from utils.model_fn import DIVERGED, build_model_fn
from utils.tiling import extract_tiles, plan_tiles, stitch


def check_model_dir(params, distributed, amp=precision.Amp()):
    """Checks --model_dir before anything is built or written in it: writable, holding a
    checkpoint when predicting alone, and no checkpoint of another network or optimizer.

    Returns:
        A warning for the log when the run's checkpoints may not fit on the disk, or None.

    Raises:
        UserError: naming --model_dir and the problem.
    """
    if not distributed.is_chief:  # Only rank 0 uses --model_dir.
        return None
    checkpoints.check_writable(params.model_dir)
    if params.benchmarks:  # A benchmark neither reads nor writes a checkpoint.
        return None
    if params.saved_model:  # --model_dir only takes the log.
        return None
    if not params.trains:  # Predicting or evaluating a trained model.
        checkpoints.check_trained(params.model_dir)
    variables = _graph_variables(params, amp)
    checkpoints.check_checkpoint(params.model_dir, variables)
    if not params.trains:
        return None
    return _checkpoint_space_warning(params, checkpoints.checkpoint_bytes(variables))


def _checkpoint_space_warning(params, each):
    """Warns when --model_dir cannot hold what this run's checkpoints may take at once: the
    --keep_checkpoint_max kept, one being written, and the best one's copy (--eval_every),
    less what the checkpoints already there take."""
    at_once = params.keep_checkpoint_max + 1 + (1 if params.eval_every else 0)
    needed = each * at_once - checkpoints.bytes_on_disk(params.model_dir)
    what = (f'this run\'s checkpoints ({files.megabytes(each)} each, up to {at_once} at once '
            f'with --keep_checkpoint_max {params.keep_checkpoint_max})')
    return files.space_warning(params.model_dir, needed, what, _CHECKPOINT_ADVICE.format(
        keep=params.keep_checkpoint_max))


_CHECKPOINT_ADVICE = ('free some space, lower --keep_checkpoint_max ({keep}), or use another '
                      '--model_dir')


def _graph_variables(params, amp):
    """{name: shape} of the variables this run's graph restores from a checkpoint (our loss
    scaling adds some)."""
    mode = tf.estimator.ModeKeys.TRAIN if params.trains else tf.estimator.ModeKeys.PREDICT
    model_fn = build_model_fn(dllogger.Logger(), dist_lib.Distributed(), amp)
    out = output_size(params.input_size)

    def build():
        features = tf.compat.v1.placeholder(
            tf.float32, [None, params.input_size, params.input_size, 1])
        labels = {'classes': tf.compat.v1.placeholder(tf.int32, [None, out, out]),
                  'weights': tf.compat.v1.placeholder(tf.float32, [None, out, out])}
        model_fn(features, labels, mode, params)
    return checkpoints.graph_variables(build)


def run(params, inputs, logger, distributed, amp=precision.Amp()):
    """Runs `params.exec_mode` on checked `inputs`: training, then prediction, evaluation or
    export as the mode asks.

    `inputs` is a utils.dataset.Inputs. Under Horovod every rank trains; rank 0 alone
    predicts, while the others are done when training is: prediction uses no collective op,
    so nothing waits on them. `amp` (utils.precision.Amp) is what --use_amp does here.
    """
    if params.saved_model:  # Predicting --input with an export: no Estimator, no checkpoint.
        unet = serving.ExportedUNet(params.saved_model)
        prediction.predict_files(prediction.with_saved_model(unet), params, logger,
                                 inputs.images)
        return
    with _estimator_dir(params, distributed) as model_dir:
        estimator = build_estimator(params, model_dir, logger, distributed, amp)
        if params.trains:
            weights = _loss_weights(params, logger, inputs.train)
            if params.eval_every:
                train_evaluating_every(estimator, params, logger, distributed, inputs, weights)
            else:
                train(estimator, params, logger, distributed, inputs.train, weights)
        if params.predicts and distributed.is_chief:
            if params.benchmarks:
                benchmark_predict(estimator, params, logger, inputs.test)
            elif params.input:
                prediction.predict_files(prediction.with_estimator(estimator, params, logger),
                                         params, logger, inputs.images)
            else:
                predict(estimator, params, logger, *inputs.test)
        if params.evaluates and distributed.is_chief and not params.eval_every:
            evaluate(estimator, params, logger, *inputs.held_out, inputs.held_out_slices)
        if params.exec_mode == 'export' and distributed.is_chief:
            export(estimator, params, logger)


def _gpu_visible():
    return bool(tf.config.list_physical_devices('GPU'))


@contextlib.contextmanager
def _estimator_dir(params, distributed):
    """The Estimator's model_dir: --model_dir for rank 0, else a scratch directory deleted
    afterwards.

    Only rank 0 writes into --model_dir: concurrent writers would race on the checkpoint
    files; the other ranks start from rank 0's weights through the broadcast. A benchmark
    runs in scratch on every rank: it neither resumes from nor overwrites a checkpoint.
    """
    if distributed.is_chief and not params.benchmarks:
        yield params.model_dir
    else:
        with tempfile.TemporaryDirectory(prefix=f'unet_rank{distributed.rank}_') as scratch:
            yield scratch


def build_estimator(params, model_dir, logger, distributed, amp=precision.Amp()):
    # Checkpoints and summaries are rank 0's alone, and no benchmark's; None switches them off.
    keeps = distributed.is_chief and not params.benchmarks
    config = tf.estimator.RunConfig(
        model_dir=model_dir,
        tf_random_seed=params.seed,
        save_summary_steps=params.log_every if keeps else None,
        save_checkpoints_steps=params.save_checkpoints_steps if keeps else None,
        keep_checkpoint_max=params.keep_checkpoint_max,
        session_config=session_config(params, distributed, amp),
        log_step_count_steps=None)
    return tf.estimator.Estimator(
        model_fn=build_model_fn(logger, distributed, amp), config=config, params=params)


def session_config(params, distributed, amp=precision.Amp()):
    """Device, precision and compiler settings of every session the Estimator opens."""
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    if _gpu_visible():
        # One GPU per process.
        config.gpu_options.allow_growth = True
        config.gpu_options.visible_device_list = str(distributed.local_rank)
    else:
        cores = len(os.sched_getaffinity(0))
        # Processes on one machine share its cores instead of each claiming all of them.
        config.intra_op_parallelism_threads = max(1, cores // distributed.local_size)
        # The U-Net is one chain of large ops: parallelism inside ops is what pays.
        config.inter_op_parallelism_threads = 1
    precision.enable_rewrite(config, amp)
    if params.use_xla:
        # On CPUs this clusters only with --tf_xla_cpu_global_jit in TF_XLA_FLAGS (main.py).
        config.graph_options.optimizer_options.global_jit_level = (
            tf.compat.v1.OptimizerOptions.ON_1)
    return config


def _loss_weights(params, logger, data):
    """The weight map of the training slices for a weighted --loss, else None."""
    if not params.weighted_loss or data is None:
        return None
    started = time.perf_counter()
    weights = weight_map.weight_map(data[1])
    every = slices.flat(weights)
    logger.message(f'--loss {params.loss}: weight map of {len(weights)} slices in '
                   f'{time.perf_counter() - started:.1f} s, mean {every.mean():.2f}, '
                   f'max {every.max():.2f}')
    return weights


def train(estimator, params, logger, distributed, data, weights=None, until=None,
          continuing=False):
    """Trains to step `until` (--max_steps by default) on `data` ((volume, classes)), with
    loss `weights` for a weighted --loss, or on one synthetic batch when `data` is None
    (--exec_mode benchmark). `continuing`: this run trained up to its checkpoint itself."""
    until = params.max_steps if until is None else until
    # Rank 0's checkpoint decides for every rank: a rank that skipped training while the
    # others waited for it in the broadcast would hang the job.
    start = dist_lib.from_chief(checkpoints.checkpoint_step(estimator.model_dir), distributed)
    if start >= until:
        if until == params.max_steps:
            logger.message(f'model_dir already holds step {start} >= '
                           f'--max_steps={params.max_steps}: nothing to train')
        return
    if start and not continuing:
        logger.message(f'resuming from the checkpoint at step {start}')
    if data is None:
        input_fn = data_loader.synthetic_train_input_fn(
            params.input_size, params.batch_size, params.seed + distributed.rank,
            params.weighted_loss)
    else:
        input_fn = data_loader.train_input_fn(*data, params.input_size, params.batch_size,
                                              params.augment, params.seed, distributed.rank,
                                              weights, first_sample=start * params.batch_size,
                                              augment_steps=params.augment_steps)
    with StopSignals() as signals:
        stop_hook = StopOnSignalHook(signals, dist_lib.max_fn(distributed), start)
        try:
            estimator.train(input_fn, max_steps=until,
                            hooks=dist_lib.broadcast_hooks(distributed) + [stop_hook])
        except tf.errors.InvalidArgumentError as err:
            report = _DIVERGED_REPORT.search(err.message)
            if report is None:
                raise
            raise TrainingDiverged(_diverged_message(report, params, estimator.model_dir)) \
                from None
        except (tf.errors.OpError, OSError) as err:
            if not files.is_disk_full(err):
                raise
            raise _disk_full_in_training(err, params, estimator.model_dir) from None
    # A signal that arrived after the last step stopped nothing, but was still asked for.
    signum = stop_hook.stop_signal or signals.received
    if signum is not None:
        name = signal.Signals(signum).name
        own = stop_hook.own_signal if stop_hook.stop_signal else signals.received is not None
        whose = '' if own else ' (sent to another rank)'
        where = (f'; checkpoint saved in {params.model_dir}: rerun the same command to resume'
                 if distributed.is_chief and not params.benchmarks else '')
        raise Interrupted(f'stopped by {name}{whose} after step {stop_hook.last_step}{where}',
                          signum)


_DIVERGED_REPORT = re.compile(DIVERGED + r' step=(?P<step>\S+) learning_rate=(?P<lr>\S+) '
                              r'loss=(?P<loss>\S+) gradient_norm=(?P<norm>\S+) amp=(?P<amp>\w+)')
"""What model_fn.finite_guard's assertion reports when a step diverged."""


def _diverged_message(report, params, model_dir):
    amp = report['amp'] if report['amp'] != 'None' else 'off'
    if params.use_amp and amp == 'off':
        amp += ' (--use_amp unavailable here)'
    newest = checkpoints.checkpoint_step(model_dir) if checkpoints.latest_checkpoint(
        model_dir) else None
    kept = f'newest checkpoint: step {newest}' if newest is not None else 'no checkpoint'
    advice = 'lower --learning_rate' + (', or try --optimizer adam'
                                        if params.optimizer == 'momentum' else '')
    return (f'training diverged at step {report["step"]}: loss {report["loss"]}, gradient norm '
            f'{report["norm"]}, learning rate {float(report["lr"]):g} (--optimizer '
            f'{params.optimizer}), AMP {amp}; stopped before the update reached the weights '
            f'({kept}); {advice}')


def _disk_full_in_training(err, params, model_dir):
    """The DiskFull to raise for a write that failed inside estimator.train (a checkpoint, the
    summaries, the graph), after removing what TensorFlow left half-written."""
    files.remove_temporaries(model_dir)
    text = getattr(err, 'message', None) or str(err)
    checkpoint = re.search(r'(model\.ckpt-\d+)_temp', text)
    written = re.search(r'(/\S+?);? (?:No space left|Disk quota)', text)
    if checkpoint:
        what = f'checkpoint {checkpoint[1]}'
    elif isinstance(err, OSError) and err.filename:  # Ours, e.g. log.jsonl.
        what = os.path.basename(err.filename)
    elif written:  # TensorFlow's, e.g. the summaries.
        what = os.path.basename(written[1])
    else:
        what = 'a training file'
    newest = checkpoints.latest_checkpoint(model_dir)
    resume = (f'rerun the same command to resume from step '
              f'{checkpoints.checkpoint_step(model_dir)}' if newest else
              'rerun the same command to start again')
    advice = _CHECKPOINT_ADVICE.format(keep=params.keep_checkpoint_max) + '; ' + resume
    needed = checkpoints.bytes_on_disk(model_dir, newest) if checkpoint and newest else None
    return files.DiskFull(files.disk_full_message(params.model_dir, what, needed, advice))


def train_evaluating_every(estimator, params, logger, distributed, inputs, weights):
    """Trains in stretches of --eval_every steps, evaluating the held-out slices after each
    and keeping the checkpoint with the best V_rand in best_dir.

    Rank 0 evaluates alone; the other ranks wait for it in the next stretch's broadcast.
    """
    start = dist_lib.from_chief(checkpoints.checkpoint_step(estimator.model_dir), distributed)
    stops = list(range((start // params.eval_every + 1) * params.eval_every, params.max_steps,
                       params.eval_every)) + [params.max_steps]
    best = checkpoints.best_score(params.best_dir, 'v_rand_thin') if distributed.is_chief \
        else None
    writer = tf.summary.create_file_writer(params.eval_dir) if distributed.is_chief else None
    for i, until in enumerate(stops):
        train(estimator, params, logger, distributed, inputs.train, weights, until,
              continuing=i > 0)
        if not distributed.is_chief:
            continue
        record = evaluate(estimator, params, logger, *inputs.held_out, inputs.held_out_slices)
        with writer.as_default():
            for name in EVAL_SUMMARIES:
                tf.summary.scalar(name, record[name], step=record['step'])
        writer.flush()
        if best is None or record['v_rand_thin'] > best:
            best = record['v_rand_thin']
            checkpoints.keep_best(params.best_dir, estimator.latest_checkpoint(), record)
            logger.message(f'best V_rand so far ({best:.4f}) at step {record["step"]}: '
                           f'checkpoint kept in {params.best_dir}')


EVAL_SUMMARIES = ('v_rand_thin', 'v_info_thin', 'dice_membrane', 'dice_background',
                  'pixel_error')
"""Held-out scores written to TensorBoard (<model_dir>/eval) at every --eval_every."""


def export(estimator, params, logger):
    """Writes a SavedModel of the newest checkpoint under export_dir (utils.serving).

    Returns:
        The SavedModel's directory.
    """
    try:
        path = estimator.export_saved_model(params.export_dir,
                                            serving.serving_input_receiver_fn)
    except (tf.errors.OpError, OSError) as err:
        if not files.is_disk_full(err):
            raise
        files.remove_temporaries(params.model_dir)
        needed = checkpoints.weights_bytes(estimator.latest_checkpoint())
        raise files.DiskFull(files.disk_full_message(
            params.export_dir, 'a SavedModel', needed)) from None
    path = path.decode() if isinstance(path, bytes) else path
    logger.message(f'exported step {checkpoints.checkpoint_step(estimator.model_dir)} to '
                   f'{path}: load it with utils.serving.ExportedUNet')
    return path


def benchmark_predict(estimator, params, logger, data):
    """Times --max_steps batches of inference, on the test volume's tiles cycled, or on random
    tiles of --input_size when `data` is None (--exec_mode benchmark). Writes nothing."""
    if data is None:
        rng = np.random.default_rng(params.seed)
        tiles = rng.integers(0, 256, (params.batch_size, params.input_size, params.input_size),
                             dtype=np.uint8)
    else:
        volume, _ = data
        plan = plan_tiles(*volume.shape[1:])
        tiles = np.concatenate([extract_tiles(page, plan) for page in volume])
        logger.message(f'timing inference of {volume.shape[1]}x{volume.shape[2]} slices as '
                       f'{len(plan.offsets)} tile(s) of {plan.input_shape[0]}x'
                       f'{plan.input_shape[1]} each')
    hooks = [ProgressHook(logger, {}, None, params.batch_size, params.log_every,
                          params.warmup_steps, params.max_steps, 'predict_summary'),
             *inspection_hooks(logger, params, 'predict')]
    input_fn = data_loader.predict_input_fn(tiles, params.batch_size, batches=params.max_steps)
    for _ in estimator.predict(input_fn, hooks=hooks, yield_single_examples=False):
        pass


def predict_probabilities(estimator, params, logger, volume):
    """Overlap-tiled prediction of every slice of `volume` (uint8 `[pages, H, W]`, or a list
    of slices of different sizes, predicted a size at a time), averaged over the 8 flips and
    rotations with --tta.

    Returns:
        float32 `[pages, H, W]`: probability of non-membrane per pixel.
    """
    if not isinstance(volume, np.ndarray):
        probabilities = [None] * len(volume)
        for shape in dict.fromkeys(slices.shapes(volume)):
            indices = [i for i, page in enumerate(volume) if page.shape == shape]
            stack = np.stack([volume[i] for i in indices])
            for i, probs in zip(indices, predict_probabilities(estimator, params, logger, stack)):
                probabilities[i] = probs
        return probabilities
    if params.tta:
        logger.message('--tta: averaging over 8 flips and rotations')
        return tta.average(lambda stack: _predict_tiled(estimator, params, logger, stack),
                           volume)
    return _predict_tiled(estimator, params, logger, volume)


def _predict_tiled(estimator, params, logger, volume):
    plan = plan_tiles(*volume.shape[1:])
    tiles = np.concatenate([extract_tiles(page, plan) for page in volume])
    logger.message(f'predicting {volume.shape[0]} slices of {volume.shape[1]}x{volume.shape[2]} '
                   f'as {len(plan.offsets)} tile(s) of {plan.input_shape[0]}x'
                   f'{plan.input_shape[1]} each')
    predictions = estimator.predict(data_loader.predict_input_fn(tiles, params.batch_size),
                                    hooks=inspection_hooks(logger, params, 'predict'),
                                    yield_single_examples=True)
    tile_probs = [p['probabilities'][..., BACKGROUND] for p in predictions]
    per_slice = len(plan.offsets)
    return np.stack([stitch(tile_probs[i:i + per_slice], plan)
                     for i in range(0, len(tile_probs), per_slice)])


def predict(estimator, params, logger, volume, classes):
    """Predicts every test slice and writes the outputs under pred_dir.

    Returns:
        float32 `[pages, H, W]`: probability of non-membrane per pixel.
    """
    _warn_if_short(logger, params.pred_dir, outputs.prediction_bytes(volume.shape, classes),
                   'the predictions')
    background_probs = predict_probabilities(estimator, params, logger, volume)
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
    background_probs = predict_probabilities(estimator, params, logger, volume)
    scores = metrics.evaluate(background_probs,
                              slices.stacked_if_equal(page == BACKGROUND for page in classes))
    record = dict(scores, step=checkpoints.checkpoint_step(estimator.model_dir),
                  slices=list(slice_indices), fold=params.fold, num_folds=params.num_folds)
    outputs.write_evaluation(params.eval_dir, record, background_probs)
    logger.log('evaluate', scores)
    return record


def _warn_if_short(logger, directory, needed, what):
    warning = files.space_warning(directory, needed, what)
    if warning:
        logger.message(warning)

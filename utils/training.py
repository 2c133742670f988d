"""Training an Estimator: to a step, stopped cleanly by a signal, with a divergence or a full
disk turned into one message; and training in stretches with a held-out evaluation after
each, keeping the best checkpoint."""
import os
import re
import signal
import time

import tensorflow as tf

from utils import checkpoints, data_loader, distributed as dist_lib, divergence, files, inference
from utils import slices, weight_map
from utils.errors import Interrupted
from utils.estimator_setup import checkpoint_advice
from utils.hooks.stop_hook import StopOnSignalHook, StopSignals

EVAL_SUMMARIES = ('v_rand_thin', 'v_info_thin', 'dice_membrane', 'dice_background',
                  'pixel_error')
"""Held-out scores written to TensorBoard (<model_dir>/eval) at every --eval_every."""


def loss_weights(params, logger, data):
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
                                              augment_steps=params.augment_steps,
                                              augmentation_kind=params.augmentation)
    with StopSignals() as signals:
        stop_hook = StopOnSignalHook(signals, dist_lib.max_fn(distributed), start)
        try:
            estimator.train(input_fn, max_steps=until,
                            hooks=dist_lib.broadcast_hooks(distributed) + [stop_hook])
        except tf.errors.InvalidArgumentError as err:
            diverged = divergence.diverged(err, params, estimator.model_dir)
            if diverged is None:
                raise
            raise diverged from None
        except (tf.errors.OpError, OSError) as err:
            if not files.is_disk_full(err):
                raise
            raise _disk_full(err, params, estimator.model_dir) from None
    # Every rank waits here until rank 0 has saved its last step: a rank stopped by a signal
    # exits with an error, and horovodrun then ends the others at once, which would cut
    # rank 0's checkpoint short (rank 1 has nothing to save and would get there first).
    dist_lib.barrier(distributed)
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


def _disk_full(err, params, model_dir):
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
    advice = checkpoint_advice(params) + '; ' + resume
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
        record = inference.evaluate(estimator, params, logger, *inputs.held_out,
                                    inputs.held_out_slices)
        with writer.as_default():
            for name in EVAL_SUMMARIES:
                tf.summary.scalar(name, record[name], step=record['step'])
        writer.flush()
        if best is None or record['v_rand_thin'] > best:
            best = record['v_rand_thin']
            checkpoints.keep_best(params.best_dir, estimator.latest_checkpoint(), record)
            logger.message(f'best V_rand so far ({best:.4f}) at step {record["step"]}: '
                           f'checkpoint kept in {params.best_dir}')

"""Training an Estimator: to a step, stopped cleanly by a signal, with a divergence or a full
disk turned into one message; and training in stretches with a held-out evaluation after
each, keeping the best checkpoint."""
import os
import re
import signal
import time

import tensorflow as tf

from utils.data import input_fns, slices, weight_map
from utils.graph import divergence
from utils.hooks.stop_hook import StopOnSignalHook, StopSignals
from utils.outputs.scores import CLOSED_SCORE_NAMES, SCORE_NAMES
from utils.run import best_checkpoint, checkpoints, evaluation
from utils.run.model_dir import checkpoint_advice
from utils.runtime import disk, distributed as dist_lib
from utils.runtime.errors import Interrupted, RankLost, error_text


def pixel_weights_of(params, logger, data):
    """The per-pixel map of the training slices that --loss reads: the paper's weight map
    for a weighted loss, the membranes' centre lines for ce_dice_skeleton; else None."""
    if not params.pixel_weighted or data is None:
        return None
    started = time.perf_counter()
    if params.weighted_loss:
        weights, what = weight_map.weight_map(data[1], params.border_weight), 'weight map'
    else:
        weights, what = weight_map.membrane_skeletons(data[1]), 'membrane skeletons'
    every = slices.flat(weights)
    logger.message(f'--loss {params.loss}: {what} of {len(weights)} slices in '
                   f'{time.perf_counter() - started:.1f} s, mean {every.mean():.2f}, '
                   f'max {every.max():.2f}')
    return weights


def train(estimator, params, logger, distributed, data, pixel_weights=None, until=None,
          continuing=False):
    """Trains to step `until` (--max_steps by default) on `data` ((volume, classes)), with the
    loss's `pixel_weights` (pixel_weights_of) for a --loss that reads them, or on one synthetic batch
    when `data` is None (--exec_mode benchmark). `continuing`: this run trained up to its
    checkpoint itself."""
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
        input_fn = input_fns.synthetic_train_input_fn(
            params.input_size, params.batch_size, params.seed + distributed.rank,
            params.pixel_weighted)
    else:
        input_fn = input_fns.train_input_fn(
            *data, input_fns.Sampling.of(params, distributed.rank, start), pixel_weights)
    with StopSignals() as signals:
        stop_hook = StopOnSignalHook(signals, dist_lib.max_fn(distributed), start)
        try:
            with _full_disk_reported(params, estimator.model_dir):
                estimator.train(input_fn, max_steps=until,
                                hooks=dist_lib.broadcast_hooks(distributed) + [stop_hook])
            # Every rank waits here until rank 0 has saved its last step: a rank stopped by a
            # signal exits with an error, and horovodrun then ends the others at once, which
            # would cut rank 0's checkpoint short (rank 1 has nothing to save and would get
            # there first).
            dist_lib.barrier(distributed)
        except tf.errors.InvalidArgumentError as err:
            diverged = divergence.diverged(err, params, _newest_step(estimator.model_dir))
            if diverged is None:
                raise
            raise diverged from None
        except Exception as err:
            lost = _rank_lost(err, params, distributed, estimator.model_dir, stop_hook.last_step)
            if lost is None:
                raise
            raise lost from None
    stopped = _interrupted(stop_hook, signals, params, distributed)
    if stopped is not None:
        raise stopped


def _interrupted(stop_hook, signals, params, distributed):
    """The Interrupted to raise when a SIGINT or SIGTERM stopped training, or arrived after
    its last step (which it stopped nothing of, but was still asked for); else None."""
    signum = stop_hook.stop_signal or signals.received
    if signum is None:
        return None
    name = signal.Signals(signum).name
    own = stop_hook.own_signal if stop_hook.stop_signal else signals.received is not None
    whose = '' if own else ' (sent to another rank)'
    where = (f'; checkpoint saved in {params.model_dir}: rerun the same command to resume'
             if distributed.is_chief and not params.timing_only else '')
    return Interrupted(f'stopped by {name}{whose} after step {stop_hook.last_step}{where}',
                       signum)


def _rank_lost(err, params, distributed, model_dir, last_step):
    """The RankLost to raise when `err` says a rank of the job is gone, else None: the ranks
    that no longer answer, and on rank 0 the checkpoint a rerun resumes from."""
    lost = dist_lib.lost_peers(err, distributed)
    if lost is None:
        return None
    who = ', '.join(str(peer) for peer in lost) or 'a rank of the job'
    rerun = 'rerun the same command with every host'
    if distributed.is_chief and not params.timing_only:
        newest = _newest_step(model_dir)
        rerun = (f'no checkpoint was written yet: {rerun} to start again' if newest is None else
                 f'the checkpoint of step {newest} in {params.model_dir} is complete: {rerun} '
                 'to resume from it')
    return RankLost(f'training stopped after step {last_step}: lost {who}, without which '
                    f'Horovod cannot go on; {rerun}')


def _newest_step(model_dir):
    """The step of the newest checkpoint in `model_dir`, None when there is none."""
    if checkpoints.latest_checkpoint(model_dir) is None:
        return None
    return checkpoints.checkpoint_step(model_dir)


def _full_disk_reported(params, model_dir):
    """The full-disk report of a write inside estimator.train (a checkpoint, the summaries,
    the graph, our log), after removing what TensorFlow left half-written: what was being
    written, what a checkpoint needs, and how to resume."""
    def what(err):
        text = error_text(err)
        checkpoint = _CHECKPOINT_BEING_WRITTEN.search(text)
        written = re.search(r'(/\S+?);? (?:No space left|Disk quota)', text)
        if checkpoint:
            return f'checkpoint {checkpoint[1]}'
        if isinstance(err, OSError) and err.filename:  # Ours, e.g. log.jsonl.
            return os.path.basename(err.filename)
        if written:  # TensorFlow's, e.g. the summaries.
            return os.path.basename(written[1])
        return 'a training file'

    def needed(err):
        newest = checkpoints.latest_checkpoint(model_dir)
        if newest and _CHECKPOINT_BEING_WRITTEN.search(error_text(err)):
            return checkpoints.bytes_on_disk(model_dir, newest)
        return None

    def advice(_):
        newest = _newest_step(model_dir)
        resume = ('rerun the same command to start again' if newest is None else
                  f'rerun the same command to resume from step {newest}')
        return checkpoint_advice(params) + '; ' + resume

    return disk.full_disk_reported(params.model_dir, what, needed, advice,
                                   cleanup=lambda: disk.remove_temporaries(model_dir))


_CHECKPOINT_BEING_WRITTEN = re.compile(r'(model\.ckpt-\d+)_temp')
"""How TensorFlow's saver names a checkpoint it is writing, in its errors."""


def train_evaluating_every(estimator, params, logger, distributed, inputs, pixel_weights):
    """Trains in stretches of --eval_every steps, evaluating the held-out slices after each
    and keeping the checkpoint with the best V_rand in best_dir.

    Rank 0 evaluates alone; the other ranks wait for it in the next stretch's broadcast.
    """
    start = dist_lib.from_chief(checkpoints.checkpoint_step(estimator.model_dir), distributed)
    stops = list(range((start // params.eval_every + 1) * params.eval_every, params.max_steps,
                       params.eval_every)) + [params.max_steps]
    best = best_checkpoint.best_score(params.best_dir, 'v_rand_thin') if distributed.is_chief \
        else None
    writer = tf.summary.create_file_writer(params.eval_dir) if distributed.is_chief else None
    for i, until in enumerate(stops):
        train(estimator, params, logger, distributed, inputs.train, pixel_weights, until,
              continuing=i > 0)
        if not distributed.is_chief:
            continue
        record = evaluation.evaluate(estimator, params, logger, *inputs.held_out,
                                     inputs.held_out_slices)
        with writer.as_default():
            for name in SCORE_NAMES + CLOSED_SCORE_NAMES:
                if name in record:
                    tf.summary.scalar(name, record[name], step=record['step'])
        writer.flush()
        if best is None or record['v_rand_thin'] > best:
            best = record['v_rand_thin']
            best_checkpoint.keep_best(params.best_dir, estimator.latest_checkpoint(), record)
            logger.message(f'best V_rand so far ({best:.4f}) at step {record["step"]}: '
                           f'checkpoint kept in {params.best_dir}')

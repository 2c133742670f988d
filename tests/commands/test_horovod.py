"""Data-parallel training under `horovodrun -np 2` (Gloo) on this CPU, with the real model."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, SMALL_INPUT, write_pairs

HOROVODRUN = os.path.join(os.path.dirname(sys.executable), 'horovodrun')
MAIN = os.path.join(ROOT, 'main.py')
TRAIN_FLAGS = ['--input_size', str(SMALL_INPUT), '--log_every', '1', '--warmup_steps', '0',
               '--seed', '5']


def horovodrun(processes, args, program=(MAIN,), **popen):
    """Starts `python *program *args` in `processes` ranks (program: main.py by default)."""
    command = [HOROVODRUN, '-np', str(processes), '-H', f'localhost:{processes}', '--gloo',
               sys.executable, *program, *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, **popen)


def finish(process, timeout=600):
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process.returncode, output


def read_log(model_dir):
    with open(os.path.join(model_dir, 'log.jsonl')) as f:
        return [json.loads(line) for line in f]


def record(records, step):
    found = [r for r in records if r.get('step') == step]
    assert len(found) == 1, (step, found)
    return found[0]['data']


OWN_DATA_FLAGS = ['--exec_mode', 'train_and_evaluate', '--fold', '1', '--num_folds', '2',
                  '--max_steps', '3', '--eval_every', '3']
"""Training on an images/ + labels/ folder of unequal pages, scored on the held-out fold."""


@pytest.fixture(scope='module')
def two_process_run(module_tmp_path):
    data_dir = module_tmp_path / 'data'
    write_pairs(data_dir, [(96, 120), (110, 100), (100, 96), (130, 104), (104, 112)], seed=5)
    model_dir = module_tmp_path / 'model'
    code, output = finish(horovodrun(2, ['--data_dir', str(data_dir), '--model_dir',
                                         str(model_dir), *OWN_DATA_FLAGS, *TRAIN_FLAGS]))
    assert code == 0, output
    return data_dir, model_dir


def test_two_ranks_train_one_model(two_process_run, tmp_path):
    data_dir, model_dir = two_process_run
    records = read_log(model_dir)
    consistency = record(records, 'train_consistency')
    assert consistency['ranks'] == 2
    # Bit-identical weights on both ranks after training.
    assert consistency['weights_checksum'][0] == consistency['weights_checksum'][1]
    # Each rank drew its own samples.
    assert consistency['samples_checksum'][0] != consistency['samples_checksum'][1]
    assert int(tf.train.load_variable(str(model_dir), 'global_step')) == 3
    # The global throughput counts both ranks' images.
    assert all(r['data']['images_per_sec'] > 0 for r in records
               if r['type'] == 'metric' and isinstance(r['step'], int))

    # The same command in one process gives other weights: rank 1's gradients were averaged in.
    import main
    single_dir = tmp_path / 'single'
    assert main.main(['--data_dir', str(data_dir), '--model_dir', str(single_dir),
                      *OWN_DATA_FLAGS, *TRAIN_FLAGS]) == 0
    single = record(read_log(single_dir), 'train_consistency')
    assert single['ranks'] == 1
    assert single['samples_checksum'][0] == consistency['samples_checksum'][0]
    assert single['weights_checksum'][0] != consistency['weights_checksum'][0]
    kernel = 'downsample_block_0/conv1/kernel'
    assert not np.array_equal(tf.train.load_variable(str(single_dir), kernel),
                              tf.train.load_variable(str(model_dir), kernel))


def test_only_rank_0_writes_into_model_dir(two_process_run):
    _, model_dir = two_process_run
    records = read_log(model_dir)
    assert len([r for r in records if r.get('step') == 'params']) == 1
    names = set(os.listdir(model_dir))
    events = {n for n in names if n.startswith('events.out.tfevents')}
    assert len(events) == 1
    # Rank 0's checkpoints at its start and its end, and nothing from another writer.
    checkpoints = {n for n in names if n.startswith('model.ckpt-')}
    assert {n.split('.')[1] for n in checkpoints} == {'ckpt-0', 'ckpt-3'}
    assert names - events - checkpoints == {'checkpoint', 'graph.pbtxt', 'log.jsonl', 'eval',
                                            'best'}
    # Rank 0 alone scored the held-out fold, once, and kept the best checkpoint.
    assert len([r for r in records if r.get('step') == 'evaluate']) == 1
    metrics = json.loads((model_dir / 'eval' / 'metrics.json').read_text())
    assert metrics['step'] == 3 and metrics['slices'] == [3, 4]
    assert int(tf.train.load_variable(str(model_dir / 'best'), 'global_step')) == 3


def test_train_and_predict_finishes_and_predicts_once(small_dataset, tmp_path):
    model_dir = tmp_path / 'model'
    code, output = finish(horovodrun(2, ['--exec_mode', 'train_and_predict', '--data_dir',
                                         small_dataset, '--model_dir', str(model_dir),
                                         '--max_steps', '2', *TRAIN_FLAGS]), timeout=600)
    assert code == 0, output
    assert len([r for r in read_log(model_dir) if r.get('step') == 'predict']) == 1
    assert os.path.getsize(model_dir / 'pred' / 'test-probs.tif') > 0


def _rank_pids(model_dir, rank):
    """PIDs of the processes of `rank` (main.py, or a helper running it) that train into
    `model_dir`."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            environ = open(f'/proc/{entry}/environ', 'rb').read().split(b'\0')
            cmdline = open(f'/proc/{entry}/cmdline', 'rb').read()
        except OSError:
            continue
        if (f'HOROVOD_RANK={rank}'.encode() in environ and str(model_dir).encode() in cmdline
                and any(program.encode() in cmdline for program in (MAIN, SLOWED))):
            pids.append(int(entry))
    return pids


def _start_endless_run(data_dir, model_dir, env=None, program=(MAIN,)):
    """Starts a 2-process training that would run for hours; returns it once at step 2,
    with the PIDs of rank 1."""
    process = horovodrun(2, ['--exec_mode', 'train', '--data_dir', data_dir,
                             '--model_dir', str(model_dir), '--max_steps', '100000',
                             *TRAIN_FLAGS], env=env, program=program)
    try:
        deadline = time.time() + 300
        while not any(r.get('step') == 2 for r in _records_so_far(model_dir)):
            assert process.poll() is None, process.communicate()[0]
            assert time.time() < deadline, 'training did not start'
            time.sleep(1)
        victims = _rank_pids(model_dir, 1)
        assert victims
    except BaseException:
        # An endless run left behind would slow every later test and outlive the suite.
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process, victims


def test_a_killed_rank_ends_the_job(small_dataset, tmp_path):
    process, victims = _start_endless_run(small_dataset, tmp_path / 'model')
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    code, output = finish(process, timeout=180)
    assert code != 0
    assert 'exited with non-zero status' in output
    assert time.time() - killed_at < 60, output


def _records_so_far(model_dir):
    try:
        return read_log(model_dir)
    except (OSError, json.JSONDecodeError):
        return []


def test_a_frozen_rank_ends_the_job(small_dataset, tmp_path):
    """A rank that stops answering (SIGSTOP) is given up on after the Gloo timeout."""
    env = dict(os.environ, HOROVOD_GLOO_TIMEOUT_SECONDS='10')
    process, victims = _start_endless_run(small_dataset, tmp_path / 'model', env)
    for pid in victims:
        os.kill(pid, signal.SIGSTOP)
    stopped_at = time.time()
    try:
        code, output = finish(process, timeout=180)
    finally:
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert code != 0
    assert 'Timed out waiting' in output
    assert time.time() - stopped_at < 90, output


SLOWED = os.path.join(ROOT, 'tests', 'helpers', 'slowed.py')
STALL_SHUTDOWN_SECONDS = 2


def test_the_other_ranks_wait_out_a_long_evaluation(small_dataset, tmp_path):
    """With --eval_every rank 0 evaluates alone while rank 1 waits for it in the next
    stretch's first collective op. Horovod's stall inspector, which ends a job after
    HOROVOD_STALL_SHUTDOWN_TIME_SECONDS (300 s from main.py, here 2 s), must not take that
    wait for a stall: an evaluation with --tta on a CPU can take minutes.

    Every evaluation sleeps three shutdown times first (tests/helpers), so it outlasts the
    shutdown time on any CPU, however fast; a slow one only makes the wait longer."""
    env = dict(os.environ, HOROVOD_STALL_CHECK_TIME_SECONDS='1',
               HOROVOD_STALL_SHUTDOWN_TIME_SECONDS=str(STALL_SHUTDOWN_SECONDS))
    model_dir = tmp_path / 'model'
    code, output = finish(horovodrun(
        2, ['--exec_mode', 'train_and_evaluate', '--data_dir', small_dataset, '--model_dir',
            str(model_dir), '--fold', '1', '--num_folds', '2', '--max_steps', '2',
            '--eval_every', '1', *TRAIN_FLAGS],
        program=(SLOWED, 'evaluation', str(3 * STALL_SHUTDOWN_SECONDS)), env=env))
    assert code == 0, output
    records = read_log(model_dir)
    evaluations = [i for i, r in enumerate(records) if r.get('step') == 'evaluate']
    assert len(evaluations) == 2 and 'Will shutdown' not in output
    # The first evaluation kept rank 1 waiting for longer than the shutdown time.
    started = [r for r in records[:evaluations[0]] if r.get('step') == 'train_summary'][-1]
    waited = records[evaluations[0]]['timestamp'] - started['timestamp']
    assert waited > 2 * STALL_SHUTDOWN_SECONDS, output


def test_sigterm_to_one_rank_stops_both_after_the_same_step(small_dataset, tmp_path):
    """The ranks agree on the signal before each step: rank 0, which received nothing, stops
    after the same step as rank 1 and saves it. Every save sleeps a few seconds first
    (tests/helpers), so rank 1, with nothing to save, would exit long before rank 0 is done,
    and horovodrun would end rank 0 then, unless rank 1 waits for it."""
    model_dir = tmp_path / 'model'
    process, victims = _start_endless_run(small_dataset, model_dir,
                                          program=(SLOWED, 'checkpoint', '5'))
    for pid in victims:
        os.kill(pid, signal.SIGTERM)
    code, output = finish(process, timeout=180)
    assert code != 0 and 'Exit code: 143' in output, output
    rank0 = re.search(r'\[0\]<stderr>:stopped by SIGTERM \(sent to another rank\) after step '
                      r'(\d+); checkpoint saved in ', output)
    assert rank0, output
    state = tf.train.get_checkpoint_state(str(model_dir))
    assert state.model_checkpoint_path.endswith(f'model.ckpt-{rank0[1]}')
    # Both ranks ended with the same weights: they stopped after the same step. (Rank 1's
    # own message may be lost: horovodrun ends it once rank 0 has exited.)
    consistency = record(read_log(model_dir), 'train_consistency')
    checksums = consistency['weights_checksum']
    assert consistency['ranks'] == 2 and checksums[0] == checksums[1]

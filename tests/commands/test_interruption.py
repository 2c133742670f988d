"""Training killed at any moment loses at most the steps since its last checkpoint; SIGINT
and SIGTERM lose nothing. The same command, rerun, resumes and finishes at --max_steps."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from conftest import ROOT, SMALL_INPUT

MAX_STEPS = 24
SAVE_EVERY = 5
KEEP = 2


def _command(data_dir, model_dir, save_every=SAVE_EVERY):
    return [sys.executable, os.path.join(ROOT, 'main.py'), '--exec_mode', 'train',
            '--data_dir', data_dir, '--model_dir', str(model_dir),
            '--input_size', str(SMALL_INPUT), '--max_steps', str(MAX_STEPS),
            '--log_every', '1', '--warmup_steps', '0',
            '--save_checkpoints_steps', str(save_every), '--keep_checkpoint_max', str(KEEP)]


def _start(data_dir, model_dir, save_every=SAVE_EVERY):
    return subprocess.Popen(_command(data_dir, model_dir, save_every), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _checkpoint_steps(model_dir):
    """Steps of the checkpoints the `checkpoint` state file lists (newest last)."""
    state = tf.train.get_checkpoint_state(str(model_dir))
    if state is None:
        return []
    return [int(path.rsplit('-', 1)[1]) for path in state.all_model_checkpoint_paths]


def _logged_steps(model_dir):
    """Steps of the progress lines in log.jsonl; a torn line is skipped."""
    steps = []
    path = os.path.join(model_dir, 'log.jsonl')
    if os.path.exists(path):
        for line in open(path):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record['type'] == 'metric' and isinstance(record['step'], int):
                steps.append(record['step'])
    return steps


def _wait_for(condition, process, timeout=240):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.05)


def _rerun_to_the_end(data_dir, model_dir, save_every=SAVE_EVERY):
    """Reruns the same command; returns its messages."""
    rerun = subprocess.run(_command(data_dir, model_dir, save_every), capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert _checkpoint_steps(model_dir)[-1] == MAX_STEPS
    return rerun.stdout


def _assert_nothing_corrupt(model_dir):
    """Every kept checkpoint restores completely; no more than KEEP are kept."""
    steps = _checkpoint_steps(model_dir)
    assert 1 <= len(steps) <= KEEP
    for step in steps:
        reader = tf.train.load_checkpoint(os.path.join(model_dir, f'model.ckpt-{step}'))
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    indexes = [f for f in os.listdir(model_dir) if f.endswith('.index')]
    assert len(indexes) == len(steps), indexes


@pytest.mark.parametrize('moment', ['while starting', 'after a checkpoint'])
def test_sigkill_then_rerun_resumes_from_the_last_checkpoint(moment, small_dataset, tmp_path):
    model_dir = tmp_path / 'model'
    process = _start(small_dataset, model_dir)
    if moment == 'while starting':
        # The logger's first record: flags checked, TensorFlow loaded, the graph not yet
        # built (a fixed sleep would land elsewhere on a faster or slower CPU).
        _wait_for(lambda: os.path.exists(os.path.join(model_dir, 'log.jsonl')), process)
    else:
        _wait_for(lambda: any(s >= SAVE_EVERY for s in _checkpoint_steps(model_dir)), process)
        _wait_for(lambda: max(_logged_steps(model_dir), default=0) > SAVE_EVERY + 1, process)
    process.kill()
    process.wait()
    saved = max(_checkpoint_steps(model_dir), default=0)
    assert saved < MAX_STEPS

    out = _rerun_to_the_end(small_dataset, model_dir)
    if saved:
        assert f'resuming from the checkpoint at step {saved}' in out
        # The rerun's steps follow the checkpoint's: those run since it are run again.
        steps = _logged_steps(model_dir)
        first_run, rerun = steps[:saved - MAX_STEPS], steps[saved - MAX_STEPS:]
        assert rerun == list(range(saved + 1, MAX_STEPS + 1))
        assert first_run == list(range(1, len(first_run) + 1)) and len(first_run) >= saved
    else:
        assert 'resuming' not in out
    _assert_nothing_corrupt(model_dir)


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_save_the_current_step(signum, small_dataset, tmp_path):
    model_dir = tmp_path / 'model'
    # No periodic checkpoint after step 0's: any later one is the signal's.
    process = _start(small_dataset, model_dir, save_every=1000)
    _wait_for(lambda: max(_logged_steps(model_dir), default=0) >= 3, process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)

    assert process.returncode == 128 + signum
    name = signal.Signals(signum).name
    match = re.fullmatch(rf'stopped by {name} after step (\d+); checkpoint saved in '
                         rf'{re.escape(str(model_dir))}: rerun the same command to resume\n', err)
    assert match, err
    stopped_at = int(match.group(1))
    assert 3 <= stopped_at < MAX_STEPS
    assert _checkpoint_steps(model_dir) == [0, stopped_at]
    assert max(_logged_steps(model_dir)) == stopped_at

    out = _rerun_to_the_end(small_dataset, model_dir, save_every=1000)
    assert f'resuming from the checkpoint at step {stopped_at}' in out
    _assert_nothing_corrupt(model_dir)

"""Cross-validation as one command (utils/run/cross_validation.py through
examples/unet_TRAIN_EVAL_CV_CPU.sh): every fold trained and scored, resumed where it
stopped, summarized with the numbers of each fold's own metrics.json."""
import json
import os
import signal
import statistics
import subprocess
import sys

import pytest

from conftest import ROOT, wait_for_step
from utils.outputs.scores import SCORE_NAMES
from utils.run import cross_validation

SCRIPT = os.path.join('examples', 'unet_TRAIN_EVAL_CV_CPU.sh')


SHORT = ['--num_folds', '3', '--max_steps', '2', '--eval_every', '1', '--input_size', '188',
         '--log_every', '1', '--warmup_steps', '0', '--save_checkpoints_steps', '1']


def _env():
    return dict(os.environ, PATH=f'{os.path.dirname(sys.executable)}:{os.environ["PATH"]}',
                USE_JEMALLOC='0')


def _cv(data_dir, results, *flags, **popen):
    return subprocess.Popen(['bash', SCRIPT, '.', data_dir, str(results), '1', *SHORT, *flags],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _params_records(fold_dir):
    with open(os.path.join(fold_dir, 'log.jsonl')) as f:
        return [line for line in f if '"step": "params"' in line]


def _json(path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def cross_validated(small_dataset, module_tmp_path):
    """Fold 1 interrupted after its first step, then the whole command."""
    results = module_tmp_path / 'cv'
    interrupted = subprocess.run(
        [sys.executable, 'main.py', '--exec_mode', 'train_and_evaluate', '--data_dir',
         small_dataset, '--model_dir', str(results / 'fold_1'), '--fold', '1', '--num_folds',
         '3', '--max_steps', '1', '--input_size', '188', '--optimizer', 'adam',
         '--learning_rate', '0.0003', '--augment', '--augment_steps', '560',
         '--batch_size', '1'], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert interrupted.returncode == 0, interrupted.stderr
    run = _cv(small_dataset, results)
    out, err = run.communicate(timeout=1200)
    assert run.returncode == 0, err[-3000:]
    return results, out


def test_every_fold_is_trained_and_scored(cross_validated):
    results, out = cross_validated
    for fold in range(3):
        metrics = _json(results / f'fold_{fold}' / 'eval' / 'metrics.json')
        assert (metrics['fold'], metrics['num_folds'], metrics['step']) == (fold, 3, 2)
    assert 'resuming from the checkpoint at step 1' in out  # fold 1 went on, not over
    assert len(_params_records(results / 'fold_1')) == 2


def test_the_summary_holds_each_folds_own_numbers(cross_validated):
    results, out = cross_validated
    summary = _json(results / cross_validation.SUMMARY_JSON)
    assert (summary['num_folds'], summary['max_steps']) == (3, 2)
    for row in summary['folds']:
        fold_dir = results / f'fold_{row["fold"]}'
        metrics = _json(fold_dir / 'eval' / 'metrics.json')
        for name in SCORE_NAMES:
            assert row[name] == metrics[name]
        assert row['best_step'] == _json(fold_dir / 'best' / 'metrics.json')['step']
        assert row['wall_seconds'] > 0
    for name in SCORE_NAMES:
        values = [row[name] for row in summary['folds']]
        assert summary['summary'][name]['mean'] == pytest.approx(statistics.fmean(values))
        assert summary['summary'][name]['std'] == pytest.approx(statistics.stdev(values))
    table = (results / cross_validation.SUMMARY_MARKDOWN).read_text()
    assert table.count('\n') == 2 + 3 + 1 and '| mean +/- std |' in table
    assert table in out


def test_a_rerun_skips_finished_folds(cross_validated, small_dataset):
    results, _ = cross_validated
    before = {fold: len(_params_records(results / f'fold_{fold}')) for fold in range(3)}
    summary = (results / cross_validation.SUMMARY_JSON).read_text()
    run = _cv(small_dataset, results)
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    assert out.count('finished earlier') == 3
    assert {fold: len(_params_records(results / f'fold_{fold}')) for fold in range(3)} == before
    assert (results / cross_validation.SUMMARY_JSON).read_text() == summary


def test_sigterm_stops_the_fold_that_runs_and_summarizes_nothing(small_dataset, tmp_path):
    results = tmp_path / 'cv'
    run = _cv(small_dataset, results, '--max_steps', '100000', '--eval_every', '100000',
              start_new_session=True)
    wait_for_step(results / 'fold_0', 2, run)
    os.killpg(run.pid, signal.SIGTERM)  # As a scheduler or Ctrl-C would: the whole group.
    _, err = run.communicate(timeout=300)
    assert run.returncode == 128 + signal.SIGTERM, err
    assert 'stopped by SIGTERM after step' in err
    assert not (results / cross_validation.SUMMARY_JSON).exists()
    assert not (results / 'fold_1').exists()


@pytest.mark.parametrize('command, message', [
    (['python', 'train.py'], 'the fold command names no main.py'),
    (['python', 'main.py', '--data_dir', 'd', '--exec_mode', 'train'],
     '--exec_mode=train: cross-validation'),
])
def test_a_command_that_cannot_cross_validate_is_one_line(command, message, tmp_path,
                                                          capsys):
    assert cross_validation.main(['--results', str(tmp_path), '--', *command]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err and err.count('\n') == 1

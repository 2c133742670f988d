"""--exec_mode benchmark and --benchmark: what they time, what they report, what they leave."""
import os

import pytest
import tensorflow as tf

import main
from conftest import SMALL_INPUT, read_log, run_main


def _summaries(model_dir):
    return {r['step']: r['data'] for r in read_log(model_dir)
            if r.get('step') in ('train_summary', 'predict_summary', 'predict_tiles')}


def _check_summary(summary, measured_steps):
    assert summary['measured_steps'] == measured_steps
    assert summary['images_per_sec'] > 0
    latencies = [summary[f'latency_{name}_ms'] for name in ('p90', 'p95', 'p99')]
    assert summary['latency_mean_ms'] > 0 and latencies == sorted(latencies)
    # Mean throughput and mean latency describe the same steps (batch 1 here).
    assert summary['images_per_sec'] == pytest.approx(1000 / summary['latency_mean_ms'])


def test_exec_mode_benchmark_times_training_and_inference_without_data(tmp_path):
    argv = ['--exec_mode', 'benchmark', '--model_dir', str(tmp_path), '--input_size',
            str(SMALL_INPUT), '--max_steps', '5', '--warmup_steps', '2', '--log_every', '2']
    assert main.main(argv) == 0
    summaries = _summaries(tmp_path)
    _check_summary(summaries['train_summary'], 3)
    _check_summary(summaries['predict_summary'], 3)
    # Random tiles of the training window's size: what a step's forward pass costs.
    assert summaries['predict_tiles'] == {'tile_height': SMALL_INPUT, 'tile_width': SMALL_INPUT}
    records = read_log(tmp_path)
    steps = [r['step'] for r in records if isinstance(r.get('step'), int)]
    assert steps == [2, 4, 5, 2, 4, 5]  # training's log lines, then inference's
    # Timing only: nothing but the log is left in --model_dir.
    assert os.listdir(tmp_path) == [main.LOG_FILE]


def test_benchmark_neither_resumes_nor_overwrites_a_checkpoint(small_dataset, tmp_path):
    assert run_main(small_dataset, tmp_path, '--max_steps', 1) == 0
    before = {name: os.path.getmtime(tmp_path / name) for name in os.listdir(tmp_path)
              if name != main.LOG_FILE}
    assert run_main(small_dataset, tmp_path, '--benchmark', '--augment', '--max_steps', 3,
                    '--warmup_steps', 1) == 0
    _check_summary(_summaries(tmp_path)['train_summary'], 2)
    after = {name: os.path.getmtime(tmp_path / name) for name in os.listdir(tmp_path)
             if name != main.LOG_FILE}
    assert after == before
    assert int(tf.train.load_variable(str(tmp_path), 'global_step')) == 1


def test_predict_benchmark_cycles_test_tiles_and_writes_no_prediction(small_dataset, tmp_path):
    # No checkpoint is needed: the speed of a forward pass does not depend on the weights.
    assert run_main(small_dataset, tmp_path, '--benchmark', '--max_steps', 4,
                    '--warmup_steps', 1, '--batch_size', 2, exec_mode='predict') == 0
    summary = _summaries(tmp_path)['predict_summary']
    assert summary['measured_steps'] == 3
    assert summary['images_per_sec'] == pytest.approx(2000 / summary['latency_mean_ms'])
    texts = [r['text'] for r in read_log(tmp_path) if 'text' in r]
    assert any('timing inference of 96x96 slices as 1 tile(s) of 284x284' in t for t in texts)
    assert _summaries(tmp_path)['predict_tiles'] == {'tile_height': 284, 'tile_width': 284}
    assert not os.path.exists(tmp_path / 'pred')


@pytest.mark.parametrize('argv', [
    ['--exec_mode', 'benchmark', '--max_steps', '200'],
    ['--data_dir', 'd', '--benchmark', '--max_steps', '10', '--warmup_steps', '10'],
])
def test_benchmark_with_nothing_to_measure_is_an_error(argv, tmp_path, capsys):
    assert main.main(argv + ['--model_dir', str(tmp_path / 'm')]) == 2
    err = capsys.readouterr().err
    assert 'more than --warmup_steps' in err and err.count('\n') == 1
    assert not (tmp_path / 'm').exists()


def test_data_dir_is_required_where_data_is_read(capsys):
    assert main.main(['--exec_mode', 'train']) == 2
    assert "--data_dir=None is invalid" in capsys.readouterr().err

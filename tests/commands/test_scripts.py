"""scripts/: the benchmark, the matmul peak and the PyTorch reference run and report sane
figures (their numbers are measurements, not tested values)."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

SCRIPTS = os.path.join(ROOT, 'scripts')
QUICK_INPUT = 188
"""The smallest window the tiling accepts here: a 4x4 output keeps every run short."""


def _script(name, *argv, python=sys.executable):
    return subprocess.run([python, os.path.join(SCRIPTS, name), *map(str, argv)], cwd=ROOT,
                          capture_output=True, text=True)


def test_matmul_peak_reports_best_and_sustained_rates():
    result = _script('matmul_peak.py', '--size', 256, '--repeats', 3)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''  # TensorFlow's start-up noise is filtered
    peak = json.loads(result.stdout)
    for dtype in ('float32', 'bfloat16'):
        # The best single product is at least the rate over all of them.
        assert peak[dtype]['best'] >= peak[dtype]['sustained'] > 0


TORCH_RATES = {'train': 0.5, 'inference': 2.0}
"""What the stand-in for a PyTorch interpreter reports, in img/s."""


def _stand_in_for_pytorch(tmp_path):
    """An executable that answers like scripts/pytorch_reference.py, so that the benchmark's
    handling of it (bracketing, ratios) is tested where PyTorch is not installed."""
    path = tmp_path / 'python-with-torch'
    result = {'torch': 'stand-in', 'jemalloc': False, 'input_size': QUICK_INPUT,
              'results': [{'dtype': 'float32', 'channels_last': True,
                           'train_images_per_sec': TORCH_RATES['train'],
                           'inference_images_per_sec': TORCH_RATES['inference']}]}
    path.write_text(f"#!/bin/sh\necho '{json.dumps(result)}'\n")
    path.chmod(0o755)
    return path


def test_benchmark_measures_every_row_against_a_bracketing_peak(small_dataset, tmp_path):
    output = tmp_path / 'benchmark.json'
    result = _script('benchmark.py', '--data_dir', small_dataset, '--output', output,
                     '--input_size', QUICK_INPUT, '--batch_sizes', '1,2', '--precisions',
                     'fp32,amp', '--steps', 2, '--warmup_steps', 1, '--peak_size', 256,
                     '--peak_repeats', 2, '--jemalloc', 'off', '--pytorch_python',
                     _stand_in_for_pytorch(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())
    rows = {(r['mode'], r['data'], r['batch_size'], r['precision']): r for r in report['rows']}
    expected = {(mode, 'synthetic', batch, 'fp32') for mode in ('train', 'inference')
                for batch in (1, 2)}
    expected.add(('train', 'ISBI-format, --augment', 1, 'fp32'))
    assert expected <= set(rows)

    def brackets(dtype):
        sustained = [peak[dtype]['sustained'] for peak in report['peaks']]
        return [(before + after) / 2 for before, after in zip(sustained, sustained[1:])]

    for r in rows.values():
        assert r['images_per_sec'] > 0 and r['gflop_per_sec'] > 0
        # Each row is compared with the mean of the peaks measured just before and after it.
        assert r['fraction_of_peak'] == pytest.approx(r['gflop_per_sec'] /
                                                      r['peak_gflop_per_sec'])
        assert any(r['peak_gflop_per_sec'] == pytest.approx(b)
                   for b in brackets(r['conv_dtype']))
        # The throughput is the batch over the mean step time of the same measured steps,
        # and the rate of work is that throughput times the FLOPs of an image.
        assert r['images_per_sec'] == pytest.approx(
            r['batch_size'] * 1000 / r['latency_mean_ms'], rel=1e-9)
        assert r['gflop_per_sec'] == pytest.approx(
            r['images_per_sec'] * report['flop_per_image'][r['mode']] / 1e9, rel=1e-9)
        assert 0 < r['latency_p90_ms'] <= r['latency_p95_ms'] <= r['latency_p99_ms']
    # One peak before the first timed run and one after each: the augmented run, the PyTorch
    # run and every compute-only run (a batch size and precision: a training and an
    # inference row).
    compute_only_runs = {(batch, precision) for _, data, batch, precision in rows
                         if data == 'synthetic'}
    assert len(report['peaks']) == 1 + 2 + len(compute_only_runs)
    # PyTorch against the first row pair, as measured and at the peaks bracketing each.
    torch_run = report['pytorch']
    for mode in ('train', 'inference'):
        tf_row = rows[(mode, 'synthetic', 1, 'fp32')]
        measured = torch_run[mode]
        assert measured['images_per_sec'] == TORCH_RATES[mode]
        assert measured['tensorflow_over_pytorch'] == pytest.approx(
            tf_row['images_per_sec'] / TORCH_RATES[mode])
        torch_gflops = TORCH_RATES[mode] * report['flop_per_image'][mode] / 1e9
        assert any(measured['fraction_of_peak'] == pytest.approx(torch_gflops / b)
                   for b in brackets('float32'))
        assert measured['tensorflow_over_pytorch_at_equal_peak'] == pytest.approx(
            tf_row['fraction_of_peak'] / measured['fraction_of_peak'])
    if 'amp_fallback' in report:  # no bfloat16 hardware: one AMP run, in float32, says so
        assert report['amp_fallback'].startswith('warning: --use_amp')
        assert [r['conv_dtype'] for r in rows.values() if r['precision'] == 'amp'] == \
            ['float32', 'float32']
    assert report['input_pipeline']['ratio'] > 0
    assert report['whole_slice_inference']['speedup'] > 0
    assert report['flop_per_image']['train'] == 3 * report['flop_per_image']['inference']
    assert '| mode | input | batch |' in result.stdout


@pytest.mark.parametrize('script, flags, message', [
    ('benchmark.py', ['--input_size', 570], '--input_size'),
    ('benchmark.py', ['--pytorch_python', '/nonexistent/python'],
     '--pytorch_python=/nonexistent/python'),
    ('benchmark.py', ['--peak_repeats', 0], '--peak_size and --peak_repeats must be >= 1'),
    ('benchmark_prediction.py', ['--sizes', '512,128'],
     '--sizes=[512, 128]: expected three sides >= 1'),
    ('benchmark_prediction.py', ['--sizes', '512,x,9'], "--sizes='512,x,9': expected three"),
    ('benchmark_prediction.py', ['--batch_size', 0], '--batch_size and --repeats must be >= 1'),
    ('benchmark_prediction.py', ['--repeats', 0], '--batch_size and --repeats must be >= 1'),
    ('benchmark_prediction.py', ['--large_pages', 1], '--large_pages=1: expected >= 2'),
])
def test_benchmarks_reject_bad_flags_before_measuring(script, flags, message, tmp_path):
    result = _script(script, '--output', tmp_path / 'b.json', *flags)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / 'b.json').exists()


@pytest.mark.skipif(importlib.util.find_spec('torch') is None,
                    reason='PyTorch is not a dependency; the reference needs it installed')
def test_pytorch_reference_times_the_same_network():
    result = _script('pytorch_reference.py', '--input_size', QUICK_INPUT, '--steps', 1,
                     '--warmup_steps', 0, '--config', 'float32:channels_last')
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    (only,) = measured['results']
    assert only['dtype'] == 'float32' and only['channels_last']
    assert only['train_images_per_sec'] > 0 and only['inference_images_per_sec'] > 0


def test_rescore_reproduces_the_evaluation_and_scores_its_variants(tmp_path):
    from scipy.ndimage import gaussian_filter

    from utils.data.tiff_io import write_stack
    from utils.outputs import cells as cells_lib
    from utils.outputs import scores
    rng = np.random.default_rng(3)
    labels = np.full((4, 48, 48), 255, np.uint8)
    labels[:, :, 23:26] = labels[:, 23:26, :] = 0  # four cells a slice
    write_stack(str(tmp_path / 'train-volume.tif'), rng.integers(0, 256, labels.shape, np.uint8))
    write_stack(str(tmp_path / 'train-labels.tif'), labels)
    background = labels[2:] == 255
    probs = np.clip(gaussian_filter(background.astype(float), (0, 1.5, 1.5)) +
                    rng.normal(0, 0.05, background.shape), 0, 1).astype(np.float32)
    eval_dir = tmp_path / 'eval'
    eval_dir.mkdir()
    write_stack(str(eval_dir / 'held-out-probs.tif'), probs)
    (eval_dir / 'metrics.json').write_text(json.dumps({'fold': 1, 'step': 9, 'slices': [2, 3]}))
    result = _script('rescore.py', '--data_dir', tmp_path, '--eval_dir', eval_dir,
                     '--temperatures', '1,2', '--watersheds', '1:0.4', '--per_slice')
    assert result.returncode == 0, result.stderr
    rows = {cells[0]: cells[1:] for cells in
            ([cell.strip() for cell in line.strip('|').split('|')]
             for line in result.stdout.splitlines()[3:])}
    assert list(rows) == ['raw', 'raw, cells (sigma 1, depth 0.4)', 'T 2',
                          'T 2, cells (sigma 1, depth 0.4)']
    raw = scores.evaluate(probs, background)
    assert rows['raw'][0] == f'{raw["v_rand_thin"]:.4f} ({raw["v_rand_thin_threshold"]:.1f})'
    watershed = cells_lib.Watershed(1.0, 0.4)
    closed = np.stack([cells_lib.closed_probs(p, watershed.cells(p)) for p in probs])
    expected = scores.evaluate(closed, background)
    assert rows['raw, cells (sigma 1, depth 0.4)'][1] == (
        f'{expected["v_info_thin"]:.4f} ({expected["v_info_thin_threshold"]:.1f})')
    # A temperature keeps 0.5 where it is: the masks, hence the Dice, do not change.
    assert rows['T 2'][2] == rows['raw'][2] == f'{raw["dice_membrane"]:.4f}'
    assert len(rows['raw'][3].split(' / ')) == 2  # a V_rand per slice


def test_rescore_refuses_a_bad_setting_in_one_line(tmp_path):
    result = _script('rescore.py', '--data_dir', tmp_path, '--eval_dir', tmp_path,
                     '--watersheds', '1')
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith(
        'error: --temperatures takes numbers, --watersheds SIGMA:DEPTH pairs')


def test_rescore_names_a_missing_evaluation_in_one_line(tmp_path):
    result = _script('rescore.py', '--data_dir', tmp_path, '--eval_dir', tmp_path / 'eval')
    assert result.returncode == 2
    assert result.stderr.startswith(f'error: {tmp_path / "eval" / "metrics.json"}: not an '
                                    'evaluation of main.py')
    assert result.stderr.count('\n') == 1

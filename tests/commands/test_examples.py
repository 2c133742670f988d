"""The launch scripts, as NVIDIA's recipe's README types them and as ours does.

Two kinds of test: with `python` and `horovodrun` replaced by recorders on PATH, every
script is checked to pass main.py flags it accepts, with the mode its name promises, for
both forms of its first argument (the folder holding main.py, or main.py itself); then
every script runs for real, its schedule shortened by flags after the batch size, and what
it wrote is checked.
"""
import ctypes.util
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest
import tensorflow as tf
from PIL import Image

from conftest import ROOT
from utils.runtime.flags import build_parser
from utils.runtime.params import Params

EXAMPLES = os.path.join(ROOT, 'examples')
SCRIPTS = sorted(name for name in os.listdir(EXAMPLES)
                 if name.startswith('unet_') and name != 'unet_SYNTHETIC_CPU.sh')
SEED_SCRIPTS = ['unet_FP32_1GPU.sh', 'unet_FP32_8GPU.sh', 'unet_TF-AMP_1GPU.sh',
                'unet_TF-AMP_8GPU.sh', 'unet_INFER_FP32.sh', 'unet_INFER_TF-AMP.sh',
                'unet_INFER_BENCHMARK_FP32.sh', 'unet_INFER_BENCHMARK_TF-AMP.sh'] + [
    f'unet_TRAIN_BENCHMARK_{precision}_{gpus}GPU.sh'
    for precision in ('FP32', 'TF-AMP') for gpus in (1, 8)]
FORMS = {'folder': '.', 'main.py': 'main.py'}
"""The first argument, typed from the recipe's folder: NVIDIA's recipe's README passes the folder,
ours main.py."""
RECORDER = '''#!/bin/sh
{ echo "LD_PRELOAD=${LD_PRELOAD:-}"; echo "$(basename "$0")"; for a in "$@"; do echo "$a"; done; } \
  > "$RECORD"
'''


def _recording(tmp_path, script, *args, **environ):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    for name in ('python', 'horovodrun'):
        (bin_dir / name).write_text(RECORDER)
        (bin_dir / name).chmod(0o755)
    record = tmp_path / 'record'
    env = {k: v for k, v in os.environ.items() if k != 'LD_PRELOAD'}
    env.update(PATH=f'{bin_dir}:{env["PATH"]}', RECORD=str(record), **environ)
    result = subprocess.run(['bash', os.path.join('examples', script), *args], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = record.read_text().splitlines() if record.exists() else []
    return result, lines


def _main_argv(launcher, argv, processes):
    """main.py's path, its flags, and the results directory, from a recorded launch: main.py
    itself, possibly under horovodrun, or the cross-validation module in front of it."""
    results = None
    cross_validates = argv[:2] == ['-m', 'utils.run.cross_validation']
    assert launcher == ('horovodrun' if processes > 1 and not cross_validates else 'python')
    if cross_validates:
        assert argv[2:5] == ['--results', 'results', '--']
        results, argv = 'results', argv[5:]
        if processes > 1:
            assert argv[0] == 'horovodrun'
            argv = argv[1:]
        else:
            assert argv[0] == 'python'
            argv = argv[1:]
    if processes > 1:
        assert argv[:4] == ['-np', str(processes), '-H', f'localhost:{processes}']
        argv = argv[argv.index('python') + 1:]
    return argv[0], argv[1:], results


def _processes(script):
    return 8 if '8GPU' in script else 2 if '2PROC' in script else 1


def _launched_params(tmp_path, script, *args):
    """The Params main.py would build from the script's recorded launch with `args`."""
    result, lines = _recording(tmp_path, script, *args)
    assert result.returncode == 0, result.stderr
    _, flags, _ = _main_argv(lines[1], lines[2:], _processes(script))
    return Params(**vars(build_parser().parse_args(flags)))


def test_every_seed_script_is_there():
    assert set(SEED_SCRIPTS) <= set(SCRIPTS)


@pytest.mark.parametrize('script', SCRIPTS)
def test_script_names_its_interpreter(script):
    # Users also run them as ./examples/<script>.sh once made executable.
    with open(os.path.join(EXAMPLES, script)) as source:
        assert source.readline() == '#!/usr/bin/env bash\n'


@pytest.mark.parametrize('form', FORMS)
@pytest.mark.parametrize('script', SCRIPTS)
def test_script_launches_main_with_valid_flags(script, form, tmp_path):
    result, lines = _recording(tmp_path, script, FORMS[form], 'data', 'results', '3')
    assert result.returncode == 0, result.stderr
    preload, launcher, argv = lines[0], lines[1], lines[2:]
    path, flags, cv_results = _main_argv(launcher, argv, _processes(script))
    assert os.path.samefile(os.path.join(ROOT, path), os.path.join(ROOT, 'main.py'))
    params = Params(**vars(build_parser().parse_args(flags)))
    model_dir = cv_results or params.model_dir  # Cross-validation sets one per fold.
    assert (params.data_dir, model_dir, params.batch_size) == ('data', 'results', 3)
    assert params.use_amp == ('AMP' in script)
    assert params.benchmark == ('BENCHMARK' in script)
    if 'BENCHMARK' in script:  # NVIDIA's recipe's: 200 warm-up steps, then 100 measured.
        assert (params.warmup_steps, params.max_steps) == (200, 300)
    if 'INFER' in script:
        assert params.exec_mode == 'predict'
    elif 'EVAL_FOLD0' in script:
        assert params.exec_mode == 'train_and_evaluate' and params.fold == 0
        assert params.eval_every > 0 and params.augment
    elif 'EVAL_CV' in script:
        assert params.exec_mode == 'train_and_evaluate' and params.num_folds == 5
        assert params.eval_every > 0 and params.augment and cv_results
    elif 'BENCHMARK' in script:
        assert params.exec_mode == 'train' and params.augment
    else:
        assert params.trains and params.predicts
    # jemalloc is preloaded exactly when the system has it.
    assert ('libjemalloc.so.2' in preload) == bool(ctypes.util.find_library('jemalloc'))


@pytest.mark.parametrize('cv_script, fold_script', [
    ('unet_TRAIN_EVAL_CV_CPU.sh', 'unet_TRAIN_EVAL_FOLD0_CPU.sh'),
    ('unet_TRAIN_EVAL_CV_1GPU.sh', 'unet_TRAIN_EVAL_FOLD0_1GPU.sh'),
    ('unet_TRAIN_EVAL_CV_8GPU.sh', 'unet_TRAIN_EVAL_FOLD0_1GPU.sh')])
def test_cross_validation_trains_each_fold_with_the_fold_scripts_schedule(
        cv_script, fold_script, tmp_path):
    """The schedule is written in both scripts; a change to one alone would score the
    cross-validation with another recipe than the one the fold-0 figures describe."""
    schedules = []
    for script in (cv_script, fold_script):
        params = dataclasses.asdict(_launched_params(tmp_path, script, 'main.py', 'data',
                                                     'results', '2'))
        schedules.append({k: v for k, v in params.items() if k not in ('fold', 'model_dir')})
    assert schedules[0] == schedules[1]


def test_the_gpu_schedule_ends_on_plain_slices_as_the_cpu_one_does(tmp_path):
    """Both fold scripts train augmented, then on the slices as they are. The GPU's last
    stretch cannot be measured here, so it is sized by what Adam moves the weights, steps x
    rate: no less than the CPU script's own stretch and no more than the longest one that
    helped on the CPU, 240 steps at its rate (docs/accuracy.md)."""
    cpu, gpu = (_launched_params(tmp_path, script, 'main.py', 'data', 'results')
                for script in ('unet_TRAIN_EVAL_FOLD0_CPU.sh', 'unet_TRAIN_EVAL_FOLD0_1GPU.sh'))
    for p in (cpu, gpu):
        assert p.augment and p.optimizer == 'adam' and 0 < p.augment_steps < p.max_steps
    cpu_tail = (cpu.max_steps - cpu.augment_steps) * cpu.learning_rate
    gpu_tail = (gpu.max_steps - gpu.augment_steps) * gpu.learning_rate
    assert cpu_tail <= gpu_tail <= 240 * cpu.learning_rate


def test_the_batch_size_is_optional(tmp_path):
    params = _launched_params(tmp_path, 'unet_FP32_1GPU.sh', '.', 'data', 'results')
    assert params.batch_size == 1


@pytest.mark.parametrize('batch', [['1'], []])
def test_flags_after_the_batch_size_are_passed_on(batch, tmp_path):
    params = _launched_params(tmp_path, 'unet_TRAIN_EVAL_FOLD0_CPU.sh', 'main.py', 'data',
                              'results', *batch, '--loss', 'weighted_ce_dice',
                              '--max_steps', '960')
    assert params.loss == 'weighted_ce_dice' and params.max_steps == 960
    assert params.augment_steps == 560  # The script's, not overridden.


def test_num_gpus_sets_the_number_of_processes(tmp_path):
    result, lines = _recording(tmp_path, 'unet_FP32_8GPU.sh', '.', 'data', 'results',
                               NUM_GPUS='4')
    assert result.returncode == 0, result.stderr
    assert lines[2:6] == ['-np', '4', '-H', 'localhost:4']


@pytest.mark.parametrize('args, problem', [
    (['main.py', 'data'], 'expected at least 3 arguments, got 2'),
    (['nowhere', 'data', 'results'], 'nowhere: not main.py nor a folder holding it'),
    (['README.md', 'data', 'results'], 'README.md: not main.py nor a folder holding it'),
    (['examples', 'data', 'results'], 'examples: a folder without main.py'),
    (['.', 'data', 'results', 'two'], "batch size 'two' is not a whole number >= 1"),
    (['.', 'data', 'results', '0'], "batch size '0' is not a whole number >= 1"),
])
def test_bad_arguments_print_the_usage_and_what_is_wrong(args, problem, tmp_path):
    result, lines = _recording(tmp_path, 'unet_FP32_1GPU.sh', *args)
    assert result.returncode == 2 and not lines
    usage, error = result.stderr.splitlines()
    assert usage == ('usage: bash examples/unet_FP32_1GPU.sh <main.py or its folder> '
                     '<path to dataset> <path to results> [batch size] [main.py flags]')
    assert error.startswith(f'error: {problem}')


def test_use_jemalloc_0_switches_the_preload_off(tmp_path):
    result, lines = _recording(tmp_path, 'unet_FP32_1GPU.sh', 'main.py', 'data', 'results',
                               USE_JEMALLOC='0')
    assert result.returncode == 0, result.stderr
    assert lines[0] == 'LD_PRELOAD='


# The real runs: every script once, the first argument's two forms taken in turn.

SHORT = ['--max_steps', '2', '--input_size', '188', '--log_every', '1', '--warmup_steps', '0',
         '--num_folds', '2']
"""Flags after the batch size that shorten any schedule to two steps of small windows
(--num_folds matters only to the scripts that pass --fold)."""
SHORT_BENCHMARK = ['--max_steps', '3', '--warmup_steps', '1', '--input_size', '188',
                   '--log_every', '1']


def _run(script, first_arg, data_dir, results, flags, **environ):
    env = dict(os.environ, PATH=f'{os.path.dirname(sys.executable)}:{os.environ["PATH"]}',
               USE_JEMALLOC='0', **environ)
    result = subprocess.run(['bash', os.path.join('examples', script), first_arg, data_dir,
                             str(results), '1', *flags], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def _log(results):
    with open(os.path.join(results, 'log.jsonl')) as f:
        return [json.loads(line) for line in f]


def _records(results, step):
    return [r['data'] for r in _log(results) if r.get('step') == step]


def _checkpoint_step(results):
    return int(tf.train.load_variable(str(results), 'global_step'))


def _assert_predicted(results, pages=2):
    with Image.open(os.path.join(results, 'pred', 'test-probs.tif')) as probs:
        assert (probs.n_frames, probs.size, probs.mode) == (pages, (96, 96), 'F')
    assert len(os.listdir(os.path.join(results, 'pred', 'overlays'))) == pages


TRAINING = ['unet_FP32_1GPU.sh', 'unet_TF-AMP_1GPU.sh', 'unet_FP32_8GPU.sh',
            'unet_TF-AMP_8GPU.sh', 'unet_CPU_2PROC.sh']


@pytest.fixture(scope='module')
def trained(small_dataset, module_tmp_path):
    """The results of unet_FP32_1GPU.sh, which the inference scripts predict with."""
    results = module_tmp_path / 'trained'
    _run('unet_FP32_1GPU.sh', '.', small_dataset, results, SHORT)
    return results


@pytest.mark.parametrize('script', TRAINING)
def test_training_scripts_train_and_predict(script, small_dataset, trained, tmp_path):
    form = list(FORMS.values())[TRAINING.index(script) % 2]
    environ = {'NUM_GPUS': '1'} if '8GPU' in script else {}  # unet_CPU_2PROC runs 2 ranks
    results = trained if script == 'unet_FP32_1GPU.sh' else tmp_path / 'results'
    if results != trained:
        _run(script, form, small_dataset, results, SHORT, **environ)
    (params,) = _records(results, 'params')
    assert params['augment'] == (script != 'unet_CPU_2PROC.sh')
    assert params['use_amp'] == ('AMP' in script)
    assert _checkpoint_step(results) == 2
    (consistency,) = _records(results, 'train_consistency')
    assert consistency['ranks'] == (2 if '2PROC' in script else 1)
    _assert_predicted(results)


@pytest.mark.parametrize('script, form', [('unet_INFER_FP32.sh', 'main.py'),
                                          ('unet_INFER_TF-AMP.sh', '.')])
def test_inference_scripts_predict_with_the_trained_model(script, form, small_dataset, trained):
    before = len(_records(trained, 'predict'))
    _run(script, form, small_dataset, trained, [])
    assert len(_records(trained, 'predict')) == before + 1
    assert _records(trained, 'params')[-1]['exec_mode'] == 'predict'
    _assert_predicted(trained)


BENCHMARKS = sorted(name for name in SCRIPTS if 'BENCHMARK' in name)


@pytest.mark.parametrize('script', BENCHMARKS)
def test_benchmark_scripts_measure_and_keep_nothing(script, small_dataset, tmp_path):
    form = list(FORMS.values())[BENCHMARKS.index(script) % 2]
    results = tmp_path / 'results'
    environ = {'NUM_GPUS': '1'} if '8GPU' in script else {}
    _run(script, form, small_dataset, results, SHORT_BENCHMARK, **environ)
    kind = 'predict_summary' if 'INFER' in script else 'train_summary'
    (summary,) = _records(results, kind)
    assert summary['measured_steps'] == 2 and summary['images_per_sec'] > 0
    assert not [n for n in os.listdir(results) if n.startswith('model.ckpt')]
    assert not os.path.exists(os.path.join(results, 'pred'))


@pytest.mark.parametrize('script, form', [('unet_TRAIN_EVAL_FOLD0_CPU.sh', '.'),
                                          ('unet_TRAIN_EVAL_FOLD0_1GPU.sh', 'main.py')])
def test_fold_scripts_train_and_score_the_fold(script, form, small_dataset, tmp_path):
    results = tmp_path / 'results'
    _run(script, form, small_dataset, results, SHORT + ['--eval_every', '1'])
    evaluations = _records(results, 'evaluate')
    assert len(evaluations) == 2 and 0 <= evaluations[-1]['dice_membrane'] <= 1
    with open(os.path.join(results, 'eval', 'metrics.json')) as f:
        assert json.load(f)['step'] == 2 and os.path.isdir(os.path.join(results, 'best'))


@pytest.mark.parametrize('script, form, environ', [
    ('unet_TRAIN_EVAL_CV_1GPU.sh', '.', {}),
    ('unet_TRAIN_EVAL_CV_8GPU.sh', 'main.py', {'NUM_GPUS': '1'})])
def test_cross_validation_scripts_score_every_fold(script, form, environ, small_dataset,
                                                   tmp_path):
    """(unet_TRAIN_EVAL_CV_CPU.sh runs, interrupted and resumed, in
    tests/utils/test_cross_validation.py.)"""
    results = tmp_path / 'results'
    _run(script, form, small_dataset, results, SHORT + ['--eval_every', '2'], **environ)
    with open(results / 'cv_summary.json') as f:
        summary = json.load(f)
    assert [row['fold'] for row in summary['folds']] == [0, 1]
    assert all(row['step'] == 2 for row in summary['folds'])


def test_synthetic_demo_runs_with_its_schedule_shortened(small_dataset, tmp_path):
    """On a small synthetic set made beforehand (the script generates one only where none
    is; the generator has its own tests)."""
    env = dict(os.environ, PATH=f'{os.path.dirname(sys.executable)}:{os.environ["PATH"]}')
    data, results = tmp_path / 'data', tmp_path / 'results'
    shutil.copytree(small_dataset, data)
    result = subprocess.run(['bash', 'examples/unet_SYNTHETIC_CPU.sh', str(data), str(results),
                             '--max_steps', '2', '--input_size', '188'], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1].startswith('Held-out membrane Dice: ')
    assert _checkpoint_step(results) == 2
    assert len(os.listdir(results / 'pred' / 'overlays')) == 2

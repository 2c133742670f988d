"""The launch scripts: each passes main.py flags it accepts, with the mode its name promises.

`python` and `horovodrun` are replaced by recorders on PATH, so nothing is trained here.
"""
import ctypes.util
import os
import subprocess

import pytest

import main
from conftest import ROOT
from utils.params import Params

EXAMPLES = os.path.join(ROOT, 'examples')
SCRIPTS = sorted(name for name in os.listdir(EXAMPLES)
                 if name.startswith('unet_') and name != 'unet_SYNTHETIC_CPU.sh')
SEED_SCRIPTS = ['unet_FP32_1GPU.sh', 'unet_FP32_8GPU.sh', 'unet_TF-AMP_1GPU.sh',
                'unet_TF-AMP_8GPU.sh', 'unet_INFER_FP32.sh', 'unet_INFER_TF-AMP.sh',
                'unet_INFER_BENCHMARK_FP32.sh', 'unet_INFER_BENCHMARK_TF-AMP.sh'] + [
    f'unet_TRAIN_BENCHMARK_{precision}_{gpus}GPU.sh'
    for precision in ('FP32', 'TF-AMP') for gpus in (1, 8)]
RECORDER = '''#!/bin/sh
{ echo "LD_PRELOAD=${LD_PRELOAD:-}"; echo "$(basename "$0")"; for a in "$@"; do echo "$a"; done; } \
  > "$RECORD"
'''


def _launch(tmp_path, script, *args, **environ):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    for name in ('python', 'horovodrun'):
        (bin_dir / name).write_text(RECORDER)
        (bin_dir / name).chmod(0o755)
    record = tmp_path / 'record'
    env = {k: v for k, v in os.environ.items() if k != 'LD_PRELOAD'}
    env.update(PATH=f'{bin_dir}:{env["PATH"]}', RECORD=str(record), **environ)
    result = subprocess.run(['bash', os.path.join(EXAMPLES, script), *args], env=env,
                            capture_output=True, text=True, timeout=30)
    lines = record.read_text().splitlines() if record.exists() else []
    return result, lines


def test_every_seed_script_is_there():
    assert set(SEED_SCRIPTS) <= set(SCRIPTS)


@pytest.mark.parametrize('script', SCRIPTS)
def test_script_names_its_interpreter(script):
    # Users also run them as ./examples/<script>.sh once made executable.
    with open(os.path.join(EXAMPLES, script)) as source:
        assert source.readline() == '#!/usr/bin/env bash\n'


@pytest.mark.parametrize('script', SCRIPTS)
def test_script_launches_main_with_valid_flags(script, tmp_path):
    result, lines = _launch(tmp_path, script, 'path/main.py', 'data', 'results', '3')
    assert result.returncode == 0, result.stderr
    preload, launcher, argv = lines[0], lines[1], lines[2:]
    if '8GPU' in script or '2PROC' in script:
        processes = '8' if '8GPU' in script else '2'
        assert launcher == 'horovodrun'
        assert argv[:4] == ['-np', processes, '-H', f'localhost:{processes}']
        argv = argv[argv.index('python') + 1:]
    else:
        assert launcher == 'python'
    assert argv[0] == 'path/main.py'
    params = Params(**vars(main.build_parser().parse_args(argv[1:])))
    assert (params.data_dir, params.model_dir, params.batch_size) == ('data', 'results', 3)
    assert params.use_amp == ('AMP' in script)
    assert params.benchmark == ('BENCHMARK' in script)
    if 'INFER' in script:
        assert params.exec_mode == 'predict'
    elif 'EVAL_FOLD0' in script:
        assert params.exec_mode == 'train_and_evaluate' and params.fold == 0
        assert params.eval_every > 0 and params.augment
    elif 'BENCHMARK' in script:
        assert params.exec_mode == 'train' and params.augment
    else:
        assert params.trains and params.predicts
    # jemalloc is preloaded exactly when the system has it.
    assert ('libjemalloc.so.2' in preload) == bool(ctypes.util.find_library('jemalloc'))


def test_flags_after_the_batch_size_are_passed_on(tmp_path):
    result, lines = _launch(tmp_path, 'unet_TRAIN_EVAL_FOLD0_CPU.sh', 'main.py', 'data',
                            'results', '1', '--loss', 'weighted_ce_dice', '--max_steps', '960')
    assert result.returncode == 0, result.stderr
    params = Params(**vars(main.build_parser().parse_args(lines[3:])))
    assert params.loss == 'weighted_ce_dice' and params.max_steps == 960
    assert params.augment_steps == 560  # The script's, not overridden.


def test_missing_arguments_print_the_usage(tmp_path):
    result, lines = _launch(tmp_path, 'unet_FP32_1GPU.sh', 'main.py', 'data')
    assert result.returncode == 2 and not lines
    assert 'usage: bash ' in result.stderr and '<path to results> [batch size]' in result.stderr


def test_use_jemalloc_0_switches_the_preload_off(tmp_path):
    result, lines = _launch(tmp_path, 'unet_FP32_1GPU.sh', 'main.py', 'data', 'results',
                            USE_JEMALLOC='0')
    assert result.returncode == 0, result.stderr
    assert lines[0] == 'LD_PRELOAD='

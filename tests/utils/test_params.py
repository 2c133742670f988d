import dataclasses
import inspect
import os
import re
import subprocess
import sys

import pytest

import main
from conftest import ROOT
from utils.params import DEFAULTS, Params

SEED_DEFAULTS = dict(exec_mode='train_and_predict', model_dir='./results', batch_size=1,
                     max_steps=1000, seed=0, weight_decay=0.0005, log_every=100,
                     warmup_steps=200, learning_rate=0.01, momentum=0.99, decay_steps=5000,
                     decay_rate=0.95, augment=False)
"""The flags and defaults of NVIDIA's UNet Medical for TensorFlow, kept as they were."""


def test_seed_flags_keep_their_defaults():
    args = main.build_parser().parse_args(['--data_dir', 'd'])
    params = Params(**vars(args))
    for name, value in SEED_DEFAULTS.items():
        assert getattr(params, name) == value, name
    assert params.input_size == 572


SEED_USAGE = ['--exec_mode', 'train_and_predict', '--model_dir', 'm', '--data_dir', 'd',
              '--batch_size', '2', '--max_steps', '3', '--seed', '4', '--weight_decay', '0.001',
              '--log_every', '5', '--warmup_steps', '1', '--learning_rate', '0.02',
              '--momentum', '0.9', '--decay_steps', '100', '--decay_rate', '0.5', '--augment',
              '--no-augment', '--benchmark', '--no-benchmark', '--use_amp', '--use_xla']
"""Every flag of the seed's usage block, in its order."""


def test_every_flag_of_the_seed_usage_block_is_accepted():
    params = Params(**vars(main.build_parser().parse_args(SEED_USAGE)))
    assert (params.batch_size, params.momentum, params.decay_rate) == (2, 0.9, 0.5)
    # The later of a pair wins, as in the seed.
    assert params.augment is False and params.benchmark is False
    assert params.use_amp and params.use_xla


@pytest.mark.parametrize('flags, benchmark', [
    ([], False), (['--benchmark'], True), (['--no-benchmark'], False),
    (['--benchmark', '--no-benchmark'], False), (['--no-benchmark', '--benchmark'], True)])
def test_no_benchmark_switches_benchmark_off(flags, benchmark):
    args = main.build_parser().parse_args(['--data_dir', 'd', *flags])
    assert args.benchmark is benchmark


@pytest.mark.parametrize('abbreviation', ['--input_s', '--batch', '--max_step', '--exec',
                                          '--overw'])
def test_an_abbreviated_flag_is_an_error_not_the_flag_it_starts(abbreviation, capsys):
    with pytest.raises(SystemExit) as exit_:
        main.build_parser().parse_args(['--data_dir', 'd', abbreviation, '300'])
    assert exit_.value.code == 2
    assert f'unrecognized arguments: {abbreviation} 300' in capsys.readouterr().err


@pytest.mark.parametrize('flags, expected', [
    ([], 0.01), (['--optimizer', 'adam'], 0.0001),
    (['--optimizer', 'adam', '--learning_rate', '0.003'], 0.003),
    (['--learning_rate', '0.5'], 0.5)])
def test_the_default_learning_rate_follows_the_optimizer(flags, expected):
    args = main.build_parser().parse_args(['--data_dir', 'd', *flags])
    assert Params(**vars(args)).learning_rate == expected


def test_every_flag_is_a_params_field_and_every_field_a_flag():
    parser = main.build_parser()
    dests = {action.dest for action in parser._actions if action.dest != 'help'}
    assert dests == {field.name for field in dataclasses.fields(Params)}


def test_every_field_is_read_by_the_code():
    sources = [open(os.path.join(ROOT, 'main.py')).read()]
    for folder in ('utils', 'model'):
        for directory, _, names in os.walk(os.path.join(ROOT, folder)):
            sources += [open(os.path.join(directory, name)).read() for name in names
                        if name.endswith('.py') and name != 'params.py']
    code = '\n'.join(sources)
    # A field may be read through a Params property that the code reads, e.g. benchmarks.
    readers = {name: inspect.getsource(prop.fget) for name, prop in vars(Params).items()
               if isinstance(prop, property) and re.search(rf'params\.{name}\b', code)}
    for field in dataclasses.fields(Params):
        read_directly = re.search(rf'params\.{field.name}\b', code)
        read_by_property = any(re.search(rf'self\.{field.name}\b', source)
                               for source in readers.values())
        assert read_directly or read_by_property, field.name


def test_params_are_frozen():
    params = Params(data_dir='d')
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.batch_size = 2
    assert dataclasses.replace(params, batch_size=2).batch_size == 2
    assert DEFAULTS['max_steps'] == 1000


@pytest.mark.parametrize('flag, value, message', [
    ('batch_size', 0, 'an integer >= 1'), ('batch_size', -3, 'an integer >= 1'),
    ('max_steps', 0, 'an integer >= 1'), ('log_every', 0, 'an integer >= 1'),
    ('warmup_steps', -1, 'an integer >= 0'), ('learning_rate', 0.0, 'a number > 0'),
    ('momentum', 1.0, r'a number in \[0, 1\)'), ('weight_decay', -1e-3, 'a number >= 0'),
    ('decay_steps', 0, 'a number > 0'), ('decay_rate', -1, 'a number >= 0'),
    ('seed', -1, 'an integer >= 0'), ('input_size', 570, 'nearest valid: 556 or 572'),
    ('profile_step', -1, 'an integer >= 0'), ('augment_steps', -1, 'an integer >= 0'),
    ('augment_steps', 100, '0 without --augment'),
    ('augmentation', 'warp', 'one of full, flips'),
    ('augmentation', 'flips', 'full .*without --augment'),
    ('ema_decay', 1.0, r'a number in \[0, 1\)'), ('ema_decay', -0.5, r'a number in \[0, 1\)'),
])
def test_invalid_values_name_the_flag(flag, value, message):
    with pytest.raises(ValueError, match=f'--{flag}.*{message}'):
        Params(data_dir='d', **{flag: value})


def test_ema_decay_is_for_training_modes():
    with pytest.raises(ValueError, match='--ema_decay=0.9 is invalid: expected 0 with '
                                         '--exec_mode predict'):
        Params(data_dir='d', exec_mode='predict', ema_decay=0.9)
    assert Params(data_dir='d', exec_mode='train_and_evaluate', ema_decay=0.9).ema_decay == 0.9


def test_main_rejects_a_bad_flag_in_one_line(capsys, tmp_path):
    model_dir = tmp_path / 'model'
    assert main.main(['--data_dir', 'd', '--model_dir', str(model_dir), '--max_steps', '0']) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --max_steps=0 is invalid: expected an integer >= 1"
    assert not model_dir.exists()


def test_help_and_flag_errors_do_not_import_tensorflow():
    probe = ('import sys, main\n'
             'code = main.main(["--data_dir", "d", "--batch_size", "0"])\n'
             'assert "tensorflow" not in sys.modules\n'
             'sys.exit(code)\n')
    result = subprocess.run([sys.executable, '-c', probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == 'error: --batch_size=0 is invalid: expected an integer >= 1'


def test_eval_every_needs_train_and_evaluate():
    with pytest.raises(ValueError, match='--eval_every=5 is invalid: expected 0 unless '
                                         '--exec_mode train_and_evaluate'):
        Params(data_dir='d', exec_mode='train', eval_every=5)

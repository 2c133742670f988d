"""The command line: NVIDIA's recipe's flags and defaults, one Params field per flag, each read."""
import dataclasses

import pytest

from utils.runtime.flags import build_parser
from utils.runtime.params import Params

SEED_DEFAULTS = dict(exec_mode='train_and_predict', model_dir='./results', batch_size=1,
                     max_steps=1000, seed=0, weight_decay=0.0005, log_every=100,
                     warmup_steps=200, learning_rate=0.01, momentum=0.99, decay_steps=5000,
                     decay_rate=0.95, augment=False)
"""The flags and defaults of NVIDIA's UNet Medical for TensorFlow, kept as they were."""


def test_seed_flags_keep_their_defaults():
    args = build_parser().parse_args(['--data_dir', 'd'])
    params = Params(**vars(args))
    for name, value in SEED_DEFAULTS.items():
        assert getattr(params, name) == value, name
    assert params.input_size == 572


SEED_USAGE = ['--exec_mode', 'train_and_predict', '--model_dir', 'm', '--data_dir', 'd',
              '--batch_size', '2', '--max_steps', '3', '--seed', '4', '--weight_decay', '0.001',
              '--log_every', '5', '--warmup_steps', '1', '--learning_rate', '0.02',
              '--momentum', '0.9', '--decay_steps', '100', '--decay_rate', '0.5', '--augment',
              '--no-augment', '--benchmark', '--no-benchmark', '--use_amp', '--use_xla']
"""Every flag of the usage block of NVIDIA's recipe, in its order."""


def test_every_flag_of_the_seed_usage_block_is_accepted():
    params = Params(**vars(build_parser().parse_args(SEED_USAGE)))
    assert (params.batch_size, params.momentum, params.decay_rate) == (2, 0.9, 0.5)
    # The later of a pair wins, as in NVIDIA's recipe.
    assert params.augment is False and params.benchmark is False
    assert params.use_amp and params.use_xla


@pytest.mark.parametrize('flags, benchmark', [
    ([], False), (['--benchmark'], True), (['--no-benchmark'], False),
    (['--benchmark', '--no-benchmark'], False), (['--no-benchmark', '--benchmark'], True)])
def test_no_benchmark_switches_benchmark_off(flags, benchmark):
    args = build_parser().parse_args(['--data_dir', 'd', *flags])
    assert args.benchmark is benchmark


@pytest.mark.parametrize('flags, cells', [
    ([], False), (['--no-cells'], False), (['--cells'], True), (['--no-cells', '--cells'], True),
    (['--cells', '--no-cells'], False)])
def test_cells_switches_the_watershed_on(flags, cells):
    args = build_parser().parse_args(['--data_dir', 'd', *flags])
    assert args.cells is cells


def test_the_watershed_flags_are_read_as_numbers():
    args = build_parser().parse_args(['--data_dir', 'd', '--cell_smoothing', '2',
                                      '--cell_marker_depth', '0.25'])
    assert (args.cell_smoothing, args.cell_marker_depth) == (2.0, 0.25)


def test_contrast_augment_is_read_as_a_number_and_off_by_default():
    assert build_parser().parse_args(['--data_dir', 'd']).contrast_augment == 0.0
    args = build_parser().parse_args(['--data_dir', 'd', '--augment', '--contrast_augment', '.5'])
    assert args.contrast_augment == 0.5


@pytest.mark.parametrize('abbreviation', ['--input_s', '--batch', '--max_step', '--exec',
                                          '--overw'])
def test_an_abbreviated_flag_is_an_error_not_the_flag_it_starts(abbreviation, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(['--data_dir', 'd', abbreviation, '300'])
    assert exit_.value.code == 2
    assert f'unrecognized arguments: {abbreviation} 300' in capsys.readouterr().err


@pytest.mark.parametrize('flags, expected', [
    ([], 0.01), (['--optimizer', 'adam'], 0.0001),
    (['--optimizer', 'adam', '--learning_rate', '0.003'], 0.003),
    (['--learning_rate', '0.5'], 0.5)])
def test_the_default_learning_rate_follows_the_optimizer(flags, expected):
    args = build_parser().parse_args(['--data_dir', 'd', *flags])
    assert Params(**vars(args)).learning_rate == expected


def test_every_flag_is_a_params_field_and_every_field_a_flag():
    parser = build_parser()
    dests = {action.dest for action in parser._actions if action.dest != 'help'}
    assert dests == {field.name for field in dataclasses.fields(Params)}

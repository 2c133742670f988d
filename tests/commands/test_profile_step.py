"""--profile_step on real runs: one step of training and of prediction traced."""
import json
import os

import pytest

import main
from conftest import SMALL_INPUT, read_log


def test_profile_step_traces_training_and_inference(tmp_path):
    argv = ['--exec_mode', 'benchmark', '--model_dir', str(tmp_path), '--input_size',
            str(SMALL_INPUT), '--max_steps', '3', '--warmup_steps', '1', '--log_every', '10',
            '--profile_step', '2']
    assert main.main(argv) == 0
    profiles = {r['data']['mode']: r['data'] for r in read_log(tmp_path)
                if r.get('step') == 'profile'}
    assert set(profiles) == {'train', 'predict'}
    for mode, expected_conv in (('train', 'Conv2DBackpropFilter'), ('predict', 'Conv2D')):
        profile = profiles[mode]
        assert profile['step_of_run'] == 2
        # Convolutions are most of a U-Net step; the ranking shows it.
        slowest = next(iter(profile['op_types']))
        assert 'Conv2D' in slowest
        assert any(expected_conv in name for name in profile['op_types'])
        assert 0 < sum(profile['op_types'].values()) == pytest.approx(profile['op_ms'], abs=0.01)
        assert 0 < profile['wall_ms']
        events = json.loads((tmp_path / 'profile' / f'{mode}-step2.json').read_text())[
            'traceEvents']
        ops = [e for e in events if e.get('ph') == 'X']
        assert any(expected_conv in e['args']['op'] for e in ops)
    assert sorted(os.listdir(tmp_path / 'profile')) == ['predict-step2.json', 'train-step2.json']


def test_profile_step_beyond_the_run_traces_nothing(tmp_path):
    argv = ['--exec_mode', 'benchmark', '--model_dir', str(tmp_path), '--input_size',
            str(SMALL_INPUT), '--max_steps', '2', '--warmup_steps', '1', '--log_every', '10',
            '--profile_step', '5']
    assert main.main(argv) == 0
    assert not any(r.get('step') == 'profile' for r in read_log(tmp_path))
    assert not (tmp_path / 'profile').exists()

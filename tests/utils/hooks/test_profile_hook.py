"""--profile_step: one step traced, its time per op type logged, a Chrome trace written."""
import json
import os

import pytest
from tensorflow.core.framework import step_stats_pb2

import main
from conftest import SMALL_INPUT
from conftest import read_log
from utils.hooks.profile_hook import op_time_summary


def _node(name, op_type, start_us, duration_us):
    return step_stats_pb2.NodeExecStats(
        node_name=name, timeline_label=f'{name} = {op_type}(a, b)',
        all_start_micros=start_us, all_end_rel_micros=duration_us)


def test_op_time_summary_sums_per_type_ranks_and_folds_the_rest():
    stats = step_stats_pb2.StepStats(dev_stats=[
        step_stats_pb2.DeviceStepStats(device='cpu:0', node_stats=[
            step_stats_pb2.NodeExecStats(node_name='_SOURCE', all_start_micros=0,
                                         all_end_rel_micros=10**6),
            _node('conv1', 'Conv2D', 1000, 3000), _node('conv2', 'Conv2D', 4000, 2000),
            _node('relu', 'Relu', 6000, 500), _node('pool', 'MaxPool', 6500, 250),
            _node('add', 'AddV2', 6750, 250)]),
        step_stats_pb2.DeviceStepStats(device='cpu:1', node_stats=[
            _node('copy', 'Identity', 2000, 6000)])])
    summary = op_time_summary(stats, top=2)
    # _SOURCE (the executor's own bookkeeping) neither counts nor stretches the wall time.
    assert summary['wall_ms'] == 7.0  # 1000 us to 8000 us
    assert summary['op_ms'] == 12.0
    assert list(summary['op_types'].items()) == [('Identity', 6.0), ('Conv2D', 5.0),
                                                 ('other', 1.0)]


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

"""--profile_step: one step traced, its time per op type logged, a Chrome trace written."""
from tensorflow.core.framework import step_stats_pb2

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

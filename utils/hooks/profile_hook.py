"""--profile_step: where one step's time goes, op by op.

Traces one step with the runtime's step statistics (RunOptions.FULL_TRACE), writes them as a
Chrome trace (open in chrome://tracing or ui.perfetto.dev) and logs the time per op type, so
that a slow run says which kernels to look at without a separate profiler. The traced step
runs a little slower than the others (tracing has a cost); pick one after --warmup_steps, or
it shows start-up costs rather than the run's steady state.
"""
import collections
import os
import re

import tensorflow as tf
from tensorflow.python.client import timeline

from utils.runtime.disk import write_atomically

RECORD = 'profile'
TOP_OP_TYPES = 8
"""Op types named in the log record; the rest are summed under 'other'."""

_OP_TYPE = re.compile(r'=\s*([\w.]+)\(')
"""timeline_label reads 'name = OpType(inputs)'."""


class ProfileHook(tf.compat.v1.train.SessionRunHook):
    """Traces the `step`-th step this hook sees (1-based) and reports it.

    Args:
        logger: a dllogger.Logger.
        step: which run of the session to trace, counted from 1 in this process.
        output_dir: where the Chrome trace goes (created when needed).
        mode: 'train' or 'predict', in the file name and the record.
    """

    def __init__(self, logger, step, output_dir, mode):
        self._logger = logger
        self._step = step
        self._output_dir = output_dir
        self._mode = mode
        self._steps_run = 0

    def before_run(self, run_context):
        self._steps_run += 1
        if self._steps_run != self._step:
            return None
        return tf.compat.v1.train.SessionRunArgs(
            None, options=tf.compat.v1.RunOptions(
                trace_level=tf.compat.v1.RunOptions.FULL_TRACE))

    def after_run(self, run_context, run_values):
        if self._steps_run != self._step:
            return
        step_stats = run_values.run_metadata.step_stats
        path = os.path.join(self._output_dir, f'{self._mode}-step{self._step}.json')
        trace = timeline.Timeline(step_stats).generate_chrome_trace_format()
        write_atomically(path, lambda f: f.write(trace.encode()))
        record = dict(mode=self._mode, step_of_run=self._step, **op_time_summary(step_stats))
        self._logger.log(RECORD, record)
        self._logger.message(f'trace of {self._mode} step {self._step} written to {path} '
                             f'(chrome://tracing or ui.perfetto.dev)')


def op_time_summary(step_stats, top=TOP_OP_TYPES):
    """Milliseconds of a traced step: its wall time, and the summed op time per op type.

    Returns:
        {'wall_ms': first op start to last op end, 'op_ms': sum over ops,
         'op_types': {type: ms} of the `top` slowest types (then 'other'), slowest first}.
    """
    per_type = collections.Counter()
    starts, ends = [], []
    for device in step_stats.dev_stats:
        for node in device.node_stats:
            if node.node_name == '_SOURCE':
                continue
            match = _OP_TYPE.search(node.timeline_label)
            op_type = match.group(1) if match else node.node_name.split(':')[0]
            per_type[op_type] += node.all_end_rel_micros / 1000
            starts.append(node.all_start_micros)
            ends.append(node.all_start_micros + node.all_end_rel_micros)
    ranked = per_type.most_common()
    op_types = {name: round(ms, 3) for name, ms in ranked[:top]}
    rest = sum(ms for _, ms in ranked[top:])
    if rest:
        op_types['other'] = round(rest, 3)
    return {'wall_ms': (max(ends) - min(starts)) / 1000 if starts else 0.0,
            'op_ms': round(sum(per_type.values()), 3), 'op_types': op_types}

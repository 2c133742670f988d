"""Progress of training or prediction: every `log_every` steps a line with the given tensors,
throughput and ETA; at the end a summary of the step times.

The summary excludes the first `warmup_steps` steps, which pay for graph optimisation, memory
allocation and input-pipeline start-up, and reports mean throughput and the mean and
percentiles of the measured step times (latency per batch).
"""
import time

import numpy as np
import tensorflow as tf

LATENCY_PERCENTILES = (90, 95, 99)


class ProgressHook(tf.compat.v1.train.SessionRunHook):
    """Logs step, tensors, images_per_sec and ETA through dllogger, and a summary at the end.

    Args:
        logger: a dllogger.Logger.
        tensors: dict of scalar tensors to log, e.g. {'loss': ..., 'dice_loss': ...}.
        global_step: the global step tensor, or None to count this hook's own steps
            (prediction has no global step that advances).
        images_per_step: images one step consumes over all processes (global batch).
        log_every, warmup_steps: from Params.
        max_steps: the last step, for the ETA.
        summary_name: the step name of the summary record, e.g. 'train_summary'.
    """

    def __init__(self, logger, tensors, global_step, images_per_step, log_every,
                 warmup_steps, max_steps, summary_name):
        self._logger = logger
        self._tensors = dict(tensors)
        if global_step is not None:
            self._tensors['global_step'] = global_step
        self._images_per_step = images_per_step
        self._log_every = log_every
        self._warmup_steps = warmup_steps
        self._max_steps = max_steps
        self._summary_name = summary_name
        self._steps_run = 0
        self._step_seconds = []
        self._interval_start = None
        self._interval_steps = 0
        self._step_start = None

    def begin(self):
        self._logger.metadata('images_per_sec', 'images/s')
        self._logger.metadata('eta', 'h:mm:ss')

    def before_run(self, run_context):
        self._step_start = time.perf_counter()
        if self._interval_start is None:
            self._interval_start = self._step_start
        return tf.compat.v1.train.SessionRunArgs(self._tensors)

    def after_run(self, run_context, run_values):
        now = time.perf_counter()
        self._steps_run += 1
        if self._steps_run > self._warmup_steps:
            self._step_seconds.append(now - self._step_start)
        self._interval_steps += 1
        values = dict(run_values.results)
        if 'global_step' in values:
            # The value was read before this step's update.
            step = int(values.pop('global_step')) + 1
        else:
            step = self._steps_run
        if step % self._log_every and step < self._max_steps:
            return
        seconds = now - self._interval_start
        images_per_sec = self._images_per_step * self._interval_steps / seconds
        seconds_per_step = seconds / self._interval_steps
        eta = _format_seconds(max(0, self._max_steps - step) * seconds_per_step)
        data = {name: float(value) for name, value in values.items()}
        data.update(images_per_sec=images_per_sec, eta=eta)
        self._logger.log(step, data)
        self._interval_start = None
        self._interval_steps = 0

    def end(self, session):
        if not self._step_seconds:
            self._logger.message(
                f'throughput not measured: {self._steps_run} steps run, all within '
                f'--warmup_steps={self._warmup_steps}')
            return
        self._logger.log(self._summary_name,
                         step_time_summary(self._step_seconds, self._images_per_step))


def step_time_summary(step_seconds, images_per_step):
    """Mean throughput, and mean and percentile latency in ms, of measured step times.

    The percentiles are of the step times themselves (linear interpolation between the
    closest ranks), not confidence bounds of their mean.
    """
    milliseconds = 1000.0 * np.asarray(step_seconds, dtype=np.float64)
    summary = {
        'measured_steps': len(step_seconds),
        'images_per_sec': images_per_step * len(step_seconds) / float(np.sum(step_seconds)),
        'latency_mean_ms': float(milliseconds.mean()),
    }
    for percentile in LATENCY_PERCENTILES:
        summary[f'latency_p{percentile}_ms'] = float(np.percentile(milliseconds, percentile))
    return summary


def _format_seconds(seconds):
    seconds = int(round(seconds))
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'

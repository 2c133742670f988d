"""Training progress: every `log_every` steps a line with losses, throughput and ETA.

Throughput excludes the first `warmup_steps` steps, which pay for graph optimisation, memory
allocation and input-pipeline start-up; the summary at the end reports the mean over the
steps after warm-up only.
"""
import time

import tensorflow as tf


class ProgressHook(tf.compat.v1.train.SessionRunHook):
    """Logs step, losses, images_per_sec and ETA through dllogger.

    Args:
        logger: a dllogger.Logger.
        tensors: dict of scalar tensors to log, e.g. {'loss': ..., 'dice_loss': ...}.
        global_step: the global step tensor.
        images_per_step: images one step consumes over all processes (global batch).
        log_every, warmup_steps, max_steps: from Params.
    """

    def __init__(self, logger, tensors, global_step, images_per_step, log_every,
                 warmup_steps, max_steps):
        self._logger = logger
        self._tensors = dict(tensors, global_step=global_step)
        self._images_per_step = images_per_step
        self._log_every = log_every
        self._warmup_steps = warmup_steps
        self._max_steps = max_steps
        self._steps_run = 0
        self._measured_steps = 0
        self._measured_seconds = 0.0
        self._interval_start = None
        self._interval_steps = 0
        self._step_start = None
        self._last_step = None

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
            self._measured_steps += 1
            self._measured_seconds += now - self._step_start
        self._interval_steps += 1
        values = run_values.results
        step = int(values['global_step']) + 1  # The value was read before this step's update.
        self._last_step = step
        if step % self._log_every and step < self._max_steps:
            return
        seconds = now - self._interval_start
        images_per_sec = self._images_per_step * self._interval_steps / seconds
        seconds_per_step = seconds / self._interval_steps
        eta = _format_seconds(max(0, self._max_steps - step) * seconds_per_step)
        data = {name: float(value) for name, value in values.items() if name != 'global_step'}
        data.update(images_per_sec=images_per_sec, eta=eta)
        self._logger.log(step, data)
        self._interval_start = None
        self._interval_steps = 0

    def end(self, session):
        if self._measured_steps == 0:
            self._logger.message(
                f'throughput not measured: {self._steps_run} steps run, all within '
                f'--warmup_steps={self._warmup_steps}')
            return
        self._logger.log('train_summary', {
            'measured_steps': self._measured_steps,
            'images_per_sec': self._images_per_step * self._measured_steps / self._measured_seconds,
            'step_time_ms': 1000.0 * self._measured_seconds / self._measured_steps,
        })


def _format_seconds(seconds):
    seconds = int(round(seconds))
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'

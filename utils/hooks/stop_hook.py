"""SIGINT and SIGTERM end training after the current step, with a checkpoint of it.

A scheduler's SIGTERM or a user's Ctrl-C would otherwise lose every step since the last
periodic checkpoint. Caught here instead, the signal lets the step finish and asks the
session to stop; as the session ends, the Estimator's CheckpointSaverHook saves that step.
Under Horovod the ranks agree by an allreduce of their flags before each step, so all of
them stop after the same step and none waits in a collective for a rank that left.
A second signal ends the process at once: the checkpoint being written is then lost, but
the previous one stays whole (TensorFlow writes to a temporary file and renames it).
"""
import os
import signal
import threading

import tensorflow as tf

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """While entered, STOP_SIGNALS are recorded instead of ending the process.

    `received` is the first signal's number, or None. Outside the main thread (where
    Python cannot install handlers) it records nothing and changes nothing.
    """

    def __init__(self):
        self.received = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum, frame):
        if self.received is not None:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        self.received = signum


class StopOnSignalHook(tf.compat.v1.train.SessionRunHook):
    """Requests a stop after the step during which (or before which) a signal arrived.

    Args:
        signals: an entered StopSignals.
        allreduce: function summing an int32 scalar over all ranks (Horovod), or None for
            one process.
        start_step: the global step training starts from (a resumed run's checkpoint).
    """

    def __init__(self, signals, allreduce=None, start_step=0):
        self._signals = signals
        self._allreduce = allreduce
        self.last_step = start_step
        """The global step after the last step run: where training stopped."""

    def begin(self):
        self._local_flag = tf.compat.v1.placeholder_with_default(
            tf.constant(0, tf.int32), [], name='stop_requested')
        self._any_flag = (self._allreduce(self._local_flag) if self._allreduce
                          else self._local_flag)

    def before_run(self, run_context):
        flag = int(self._signals.received is not None)
        return tf.compat.v1.train.SessionRunArgs(self._any_flag,
                                                 feed_dict={self._local_flag: flag})

    def after_run(self, run_context, run_values):
        self.last_step += 1
        # One process need not wait for the next step's agreement.
        if run_values.results or (self._allreduce is None and self._signals.received):
            run_context.request_stop()

"""SIGINT and SIGTERM end training after the current step, with a checkpoint of it.

A scheduler's SIGTERM or a user's Ctrl-C would otherwise lose every step since the last
periodic checkpoint. Caught here instead, the signal lets the step finish and asks the
session to stop; as the session ends, the Estimator's CheckpointSaverHook saves that step.
Under Horovod the ranks agree by an allreduce of their signals before each step, so a signal
to any rank stops all of them after the same step, and none waits in a collective for a
rank that left.
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
    """Requests a stop after the step during which (or before which) a signal arrived, on
    this rank or, under Horovod, on any rank.

    Args:
        signals: an entered StopSignals.
        allreduce_max: function taking an int32 scalar's maximum over all ranks (Horovod),
            or None for one process.
        start_step: the global step training starts from (a resumed run's checkpoint).

    After training, `stop_signal` is the number of the signal that stopped it (received by
    this rank or another), or None; `own_signal` whether this rank had received it when the
    stop was decided (a signal arriving later, e.g. horovodrun's to the ranks left once one
    exited, does not change who stopped the run); `last_step` the global step it stopped
    after.
    """

    def __init__(self, signals, allreduce_max=None, start_step=0):
        self._signals = signals
        self._allreduce_max = allreduce_max
        self._fed_signal = 0
        self.last_step = start_step
        self.stop_signal = None
        self.own_signal = False

    def begin(self):
        self._local_signal = tf.compat.v1.placeholder_with_default(
            tf.constant(0, tf.int32), [], name='stop_signal')
        self._any_signal = (self._allreduce_max(self._local_signal) if self._allreduce_max
                            else self._local_signal)

    def before_run(self, run_context):
        self._fed_signal = self._signals.received or 0
        return tf.compat.v1.train.SessionRunArgs(
            self._any_signal, feed_dict={self._local_signal: self._fed_signal})

    def after_run(self, run_context, run_values):
        self.last_step += 1
        # A rank that received a signal during this step stops only after the next step's
        # agreement; one process need not wait.
        alone = self._allreduce_max is None
        received = run_values.results or (alone and self._signals.received)
        if received:
            self.stop_signal = int(received)
            self.own_signal = bool(self._fed_signal or (alone and self._signals.received))
            run_context.request_stop()

"""StopOnSignalHook's decision, in one process with a stand-in for the other rank."""
import signal

import numpy as np
import tensorflow as tf

from utils.hooks.stop_hook import StopOnSignalHook, StopSignals


def _run_until_stopped(hook, steps=10, after_step=None):
    """Runs up to `steps` steps with `hook`; `after_step(n)` is called once step n returned,
    i.e. before step n + 1 starts. Returns the number of steps run."""
    with tf.Graph().as_default():
        counter = tf.compat.v1.train.get_or_create_global_step()
        step = tf.compat.v1.assign_add(counter, 1)
        ran = 0
        with tf.compat.v1.train.MonitoredSession(hooks=[hook]) as session:
            while not session.should_stop() and ran < steps:
                ran += 1
                session.run(step)
                if after_step:
                    after_step(ran)
    return ran


def test_a_signal_from_another_rank_stays_attributed_to_it():
    """Rank 1's SIGTERM (here: a stand-in allreduce that reports 15 once told to) stops this
    rank after the next step; horovodrun's own SIGTERM to this rank, arriving once that was
    agreed, does not make the stop this rank's (it used to: rank 0 then said it was
    signalled itself)."""
    signals = StopSignals()
    other_rank = {'signal': 0}

    def allreduce_with_other_rank(local):
        theirs = tf.compat.v1.py_func(lambda: np.int32(other_rank['signal']), [], tf.int32)
        return tf.maximum(local, theirs)

    hook = StopOnSignalHook(signals, allreduce_with_other_rank)

    def signals_arrive(step):
        if step == 2:
            other_rank['signal'] = signal.SIGTERM  # rank 1's, agreed on in step 3
        if step == 3:
            signals.received = signal.SIGTERM  # horovodrun's, once rank 1 has left

    assert _run_until_stopped(hook, after_step=signals_arrive) == 3
    assert hook.stop_signal == signal.SIGTERM and hook.last_step == 3
    assert not hook.own_signal


def test_a_signal_this_rank_received_is_its_own():
    signals = StopSignals()
    hook = StopOnSignalHook(signals, lambda local: tf.identity(local))

    def local_signal(step):
        if step == 2:
            signals.received = signal.SIGINT

    # Received between steps 2 and 3: fed to step 3's agreement, stopped after it.
    assert _run_until_stopped(hook, after_step=local_signal) == 3
    assert hook.stop_signal == signal.SIGINT and hook.own_signal


def test_one_process_stops_after_the_next_step_without_waiting_for_an_agreement():
    signals = StopSignals()
    hook = StopOnSignalHook(signals)

    def local_signal(step):
        if step == 2:
            signals.received = signal.SIGTERM

    assert _run_until_stopped(hook, after_step=local_signal) == 3
    assert hook.own_signal and hook.last_step == 3

"""A step whose loss or gradients are not finite: the graph's guard that stops it before the
update, and the one-line message the user reads. Both sides of the report's format live here."""
import re

import tensorflow as tf

from utils.runtime.errors import TrainingDiverged

_REPORT = 'DIVERGED step={} learning_rate={} loss={} gradient_norm={} amp={}'
_PARSED = re.compile(r'DIVERGED step=(?P<step>\S+) learning_rate=(?P<lr>\S+) '
                     r'loss=(?P<loss>\S+) gradient_norm=(?P<norm>\S+) amp=(?P<amp>\w+)')


def finite_guard(loss, gradients, global_step, learning_rate, amp_dtype):
    """An assertion that the loss and the gradients' norm are finite.

    The weight update waits for it, so a NaN or Inf stops training before it reaches the
    weights: no checkpoint can hold poisoned weights. Under Horovod the gradients are the
    averaged ones, so every rank stops at the same step.
    """
    gradient_norm = (tf.linalg.global_norm(gradients) if gradients
                     else tf.constant(0.0, tf.float32))
    finite = tf.logical_and(tf.math.is_finite(loss), tf.math.is_finite(gradient_norm))
    report = tf.strings.format(_REPORT.replace('amp={}', f'amp={amp_dtype}'),
                               (global_step + 1, learning_rate, loss, gradient_norm))
    return tf.debugging.Assert(finite, [report], name='finite_guard')


def diverged(err, params, newest_step):
    """The TrainingDiverged for `err` (an error of estimator.train) if finite_guard raised it,
    else None.

    Its message names the step, the loss, the gradients' norm, the learning rate, the AMP
    state, the newest checkpoint's step (`newest_step`, None without one), and what to try.
    """
    if not isinstance(err, tf.errors.InvalidArgumentError):
        return None
    report = _PARSED.search(err.message)
    if report is None:
        return None
    amp = report['amp'] if report['amp'] != 'None' else 'off'
    if params.use_amp and amp == 'off':
        amp += ' (--use_amp unavailable here)'
    kept = f'newest checkpoint: step {newest_step}' if newest_step is not None else \
        'no checkpoint'
    advice = 'lower --learning_rate' + (', or try --optimizer adam'
                                        if params.optimizer == 'momentum' else '')
    return TrainingDiverged(
        f'training diverged at step {report["step"]}: loss {report["loss"]}, gradient norm '
        f'{report["norm"]}, learning rate {float(report["lr"]):g} (--optimizer '
        f'{params.optimizer}), AMP {amp}; stopped before the update reached the weights '
        f'({kept}); {advice}')

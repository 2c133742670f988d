"""main.py with rank 0's evaluations, or every checkpoint save, made longer by a fixed sleep,
for tests that need one slower than some timeout or than another rank, on any CPU, however
fast.

    python tests/helpers/slowed.py evaluation|checkpoint SECONDS <main.py flags>
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import main  # noqa: E402
from utils.run import training  # noqa: E402


def _slowed(function, seconds):
    def slow_function(*args, **kwargs):
        time.sleep(seconds)
        return function(*args, **kwargs)
    return slow_function


if __name__ == '__main__':
    what, seconds = sys.argv[1], float(sys.argv[2])
    if what == 'evaluation':
        # training calls evaluation.evaluate through its module: patch what it calls.
        training.evaluation.evaluate = _slowed(training.evaluation.evaluate, seconds)
    elif what == 'checkpoint':
        import tensorflow as tf
        tf.compat.v1.train.Saver.save = _slowed(tf.compat.v1.train.Saver.save, seconds)
    else:
        sys.exit(f'unknown {what!r}: expected evaluation or checkpoint')
    sys.exit(main.main(sys.argv[3:]))

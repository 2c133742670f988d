"""main.py with rank 0's evaluations made longer by a fixed sleep, for tests that need an
evaluation slower than some timeout on any CPU, however fast.

    python tests/helpers/slow_evaluation.py SECONDS <main.py flags>
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import main  # noqa: E402
from utils import inference  # noqa: E402


def _slowed(evaluate, seconds):
    def slow_evaluate(*args, **kwargs):
        time.sleep(seconds)
        return evaluate(*args, **kwargs)
    return slow_evaluate


if __name__ == '__main__':
    inference.evaluate = _slowed(inference.evaluate, float(sys.argv[1]))
    sys.exit(main.main(sys.argv[2:]))

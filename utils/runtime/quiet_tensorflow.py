"""TensorFlow imported without the start-up noise of TF 2.15, for main.py and the scripts.
Importing this module does not import TensorFlow."""
import importlib
import os
import sys
import tempfile


START_UP_NOISE = ('Unable to register cuDNN factory', 'Unable to register cuFFT factory',
                  'Unable to register cuBLAS factory')


def import_tensorflow():
    """Imports TensorFlow without the three error lines TF 2.15 prints at every start.

    They say CUDA plugin factories were registered twice, also on machines without a GPU,
    and are harmless (tensorflow/tensorflow#62075), but they would stand above every
    message of ours. TensorFlow's C++ code writes them to file descriptor 2, so it is
    captured while TensorFlow and Horovod load; every other line is passed on.
    """
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
            try:
                importlib.import_module('horovod.tensorflow')  # It loads TensorFlow's plugins.
            except ImportError:
                pass
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            for line in captured.read().decode(errors='replace').splitlines(keepends=True):
                if not any(noise in line for noise in START_UP_NOISE):
                    sys.stderr.write(line)
            sys.stderr.flush()
    return tf

"""Errors a user can act on: main.py prints their message as one line and exits with 2."""
import re


def error_text(err):
    """What `err` says: a TensorFlow error's own message (str() adds its op and traceback
    details), or any other error's str()."""
    return getattr(err, 'message', None) or str(err)


class UserError(Exception):
    """Bad input or state the user can fix; the message names the file or flag."""


class DatasetError(UserError, ValueError):
    """A dataset file is missing, unreadable or inconsistent; the message names the file."""


class TrainingDiverged(UserError):
    """The loss or the gradients became NaN or Inf; the message names step, rate and AMP."""


class RankLost(UserError):
    """A rank of a Horovod job died or became unreachable mid-run; the message names it."""


class Interrupted(Exception):
    """Training stopped on SIGINT or SIGTERM, after saving a checkpoint of its last step.

    main.py prints the message and exits with 128 + the signal's number, as a shell does.
    """

    def __init__(self, message, signum):
        super().__init__(message)
        self.exit_code = 128 + signum


def out_of_memory_message(text, params, gpu_visible):
    """One line for TensorFlow's out-of-memory error `text`: what ran out, the sizes that
    decide it, and what to try."""
    shape = re.search(r'OOM when allocating tensor with shape\s*\[([^\]]*)\]', text)
    tensor = f' (a tensor of shape [{shape[1]}])' if shape else ''
    device = 'GPU' if gpu_visible else 'CPU'
    amp = ', or --use_amp' if gpu_visible and not params.use_amp else ''
    return (f'out of {device} memory{tensor} with --batch_size={params.batch_size} '
            f'--input_size={params.input_size}; try a smaller --batch_size or --input_size{amp}')

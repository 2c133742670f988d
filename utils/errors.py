"""Errors a user can act on: main.py prints their message as one line and exits with 2."""


class UserError(Exception):
    """Bad input or state the user can fix; the message names the file or flag."""


class DatasetError(UserError, ValueError):
    """A dataset file is missing, unreadable or inconsistent; the message names the file."""


class TrainingDiverged(UserError):
    """The loss or the gradients became NaN or Inf; the message names step, rate and AMP."""


class Interrupted(Exception):
    """Training stopped on SIGINT or SIGTERM, after saving a checkpoint of its last step.

    main.py prints the message and exits with 128 + the signal's number, as a shell does.
    """

    def __init__(self, message, signum):
        super().__init__(message)
        self.exit_code = 128 + signum

"""Errors a user can act on: main.py prints their message as one line and exits with 2."""


class UserError(Exception):
    """Bad input or state the user can fix; the message names the file or flag."""


class DatasetError(UserError, ValueError):
    """A dataset file is missing, unreadable or inconsistent; the message names the file."""

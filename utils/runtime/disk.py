"""Writing files so that neither a crash nor a full disk leaves a truncated or stray file, and
a full disk ends in one line that names the path and says what to do. Free of TensorFlow.
"""
import contextlib
import errno
import glob
import os
import shutil
import stat
import tempfile

from utils.runtime.errors import UserError, error_text

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_DISK_FULL_TEXTS = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT))
"""How TensorFlow's C++ writers report them: the C library's text, inside the error message."""
FREE_SPACE_ADVICE = 'free some space, or use another --model_dir'


class DiskFull(UserError):
    """A write failed for lack of space (or quota); the message names the path."""


def is_disk_full(err):
    """Whether `err` (an OSError, or a TensorFlow error carrying the C library's text) means
    that the file system is full or the quota is used up."""
    if isinstance(err, OSError):
        return err.errno in DISK_FULL_ERRNOS
    return any(text in error_text(err) for text in _DISK_FULL_TEXTS)


def free_bytes(path):
    """Free space for an unprivileged writer on the file system that holds (or would hold)
    `path`."""
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    return shutil.disk_usage(existing).free


def megabytes(size):
    return f'{size / 2 ** 20:.0f} MB' if size >= 2 ** 20 else f'{size / 2 ** 10:.0f} KB'


def disk_full_message(path, what, needed=None, advice=FREE_SPACE_ADVICE):
    """One line: where, what, how much was needed and is free, and what to do."""
    need = f'{megabytes(needed)} needed, ' if needed else ''
    return (f'{path}: no space left on the device while writing {what} '
            f'({need}{megabytes(free_bytes(path))} free); {advice}')


def describe(err):
    """The one line main.py prints for an error a user can act on: an OSError of a full disk
    names its file and says what to do, anything else is its own message."""
    if isinstance(err, OSError) and is_disk_full(err) and err.filename:
        return disk_full_message(err.filename, os.path.basename(err.filename))
    return str(err)


def space_warning(directory, needed, what, advice=FREE_SPACE_ADVICE):
    """A one-line warning when `directory`'s file system has less than `needed` bytes free
    for `what`, else None."""
    free = free_bytes(directory)
    if free >= needed:
        return None
    return (f'warning: {directory}: {megabytes(free)} free, but {what} may need '
            f'{megabytes(needed)}; {advice}')


def ordinary_mode(requested):
    """The permissions open() or mkdir() would give for `requested` (0o666 for a file, 0o777
    for a directory) under the process umask; mkstemp and mkdtemp ignore the umask."""
    umask = os.umask(0o022)  # Reading the umask means setting it; restored at once.
    os.umask(umask)
    return requested & ~umask


def _mode_for(path):
    """An existing file's permissions, else those of a new file."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return ordinary_mode(0o666)


def temporary_beside(path):
    """A new temporary file in `path`'s directory (created if need be), to be renamed over
    `path` when complete: (binary file object open for reading and writing, its path)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.')
    # mkstemp's 0600 would make every output private; give what open(path, 'w') gives.
    os.fchmod(fd, _mode_for(path))
    return os.fdopen(fd, 'w+b'), tmp_path  # w+: Pillow's multi-page writer reads back.


@contextlib.contextmanager
def full_disk_reported(path, what, needed=None, advice=FREE_SPACE_ADVICE, cleanup=None,
                       staged=False):
    """The one way a write, ours or TensorFlow's, reports a full disk.

    A full disk (or quota) inside the block ends in DiskFull with disk_full_message's line,
    after `cleanup()` has removed what the write left; any other error passes unchanged, and
    so does the DiskFull of a write nested inside, which has named its own file already,
    unless the block is `staged`: written into a temporary place whose names mean nothing to
    the user. `path`, `what`, `needed` and `advice` may be functions of the error, for what
    only it tells or what it leaves.
    """
    try:
        yield
    except BaseException as err:
        if not (is_disk_full(err) or staged and isinstance(err, DiskFull)):
            raise
        if cleanup is not None:
            cleanup()
        path, what, needed, advice = (value(err) if callable(value) else value
                                      for value in (path, what, needed, advice))
        raise DiskFull(disk_full_message(path, what, needed, advice)) from None


def write_atomically(path, write, what=None):
    """Calls `write(file_object)` on a temporary file beside `path`, then renames it to `path`.

    A crash or a full disk leaves `path` as it was and no temporary file behind; a full disk
    raises DiskFull naming `path` and `what` (by default, the file's name).
    """
    with full_disk_reported(path, what or os.path.basename(path)):
        tmp_file, tmp_path = temporary_beside(path)
        try:
            with tmp_file:
                write(tmp_file)
                tmp_file.flush()
                os.fsync(tmp_file.fileno())
            os.replace(tmp_path, path)
        except BaseException:
            os.unlink(tmp_path)
            raise


def warn_if_short(logger, directory, needed, what, advice=FREE_SPACE_ADVICE):
    """Logs space_warning's line through `logger` (a dllogger.Logger) when there is one."""
    warning = space_warning(directory, needed, what, advice)
    if warning:
        logger.message(warning)


TENSORFLOW_TEMPORARIES = ('model.ckpt-*_temp*', 'export/temp-*')
"""What TensorFlow's savers leave when a write fails: a checkpoint's staging directory and a
SavedModel's."""


def remove_temporaries(model_dir, patterns=TENSORFLOW_TEMPORARIES):
    """Deletes the half-written files and directories `patterns` match in `model_dir`."""
    for path in [match for pattern in patterns
                 for match in glob.glob(os.path.join(glob.escape(model_dir), pattern))]:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

"""Output files are replaced atomically: a write that fails or a process killed mid-write
leaves the previous file byte-identical."""
import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from utils.data.tiff_io import read_stack, write_stack
from utils.outputs import names, writers
from utils.runtime.disk import write_atomically

GOOD = np.linspace(0, 1, 2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_outputs_get_the_permissions_of_an_ordinary_write(tmp_path):
    old_umask = os.umask(0o027)
    try:
        writers.write_predictions(str(tmp_path), GOOD)
        assert _mode(tmp_path / names.PROBS_FILE) == 0o640  # not mkstemp's 0600
        # Rewriting keeps the mode the user gave the file.
        os.chmod(tmp_path / names.PROBS_FILE, 0o444)
        writers.write_predictions(str(tmp_path), GOOD[::-1].copy())
        assert _mode(tmp_path / names.PROBS_FILE) == 0o444
        assert read_stack(str(tmp_path / names.PROBS_FILE)).shape == GOOD.shape
    finally:
        os.umask(old_umask)


def test_a_failing_write_leaves_the_old_file_and_no_temporary(tmp_path):
    writers.write_predictions(str(tmp_path), GOOD)
    before = (tmp_path / names.PROBS_FILE).read_bytes()

    def half_then_fail(file):
        file.write(before[:len(before) // 2])
        raise OSError('No space left on device')

    with pytest.raises(OSError, match='No space left'):
        write_atomically(str(tmp_path / names.PROBS_FILE), half_then_fail)
    assert (tmp_path / names.PROBS_FILE).read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == sorted([names.PROBS_FILE, names.MASKS_FILE])


def test_a_process_killed_mid_write_leaves_the_old_file(tmp_path):
    path = tmp_path / names.PROBS_FILE
    write_stack(str(path), GOOD)
    before = path.read_bytes()
    child_code = (
        'import os, signal\n'
        'from utils.runtime.disk import write_atomically\n'
        'def die(file):\n'
        '    file.write(b"II*\\0" + b"x" * 1000)\n'
        '    file.flush()\n'
        '    os.kill(os.getpid(), signal.SIGKILL)\n'
        f'write_atomically({str(path)!r}, die)\n')
    child = subprocess.run([sys.executable, '-c', child_code], cwd=ROOT, timeout=120)
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert read_stack(str(path)).shape == GOOD.shape  # Still a whole, readable stack.

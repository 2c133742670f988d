"""Randomly corrupted TIFFs end in a DatasetError or a correct load: never a crash or a hang.

The files are read in a child process, so a decoder that crashes the interpreter (Pillow
11.0 did, on a flipped byte in a page's photometric tag) fails this test with the file's
name instead of killing the test run."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from utils.data.tiff_io import write_stack

CASES_PER_SOURCE = 150


SECONDS_PER_FILE = 10


_READER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from utils.runtime.errors import DatasetError
from utils.data.tiff_io import read_stack
for path in sys.argv[2:]:
    print(json.dumps({'path': path, 'started': True}), flush=True)
    start = time.perf_counter()
    try:
        stack = read_stack(path)
        outcome = {'loaded': list(stack.shape), 'dtype': str(stack.dtype),
                   'digest': int(stack.astype(np.int64).sum())}
    except DatasetError as err:
        outcome = {'error': str(err)}
    except Exception as err:
        outcome = {'unexpected': f'{type(err).__name__}: {err}'}
    outcome.update(path=path, seconds=time.perf_counter() - start)
    print(json.dumps(outcome), flush=True)
"""


def _sources(directory):
    """A tiny 8-bit stack (its structure outweighs its pixels) and a float one (scaled)."""
    rng = np.random.default_rng(0)
    sources = {'uint8': rng.integers(0, 256, (6, 8, 6), dtype=np.uint8),
               'float32': rng.normal(size=(3, 16, 12)).astype(np.float32)}
    paths = {}
    for name, stack in sources.items():
        paths[name] = os.path.join(directory, f'{name}.tif')
        write_stack(paths[name], stack)
    return paths


def _corrupt(source, directory, rng):
    """CASES_PER_SOURCE damaged copies of `source`: half truncated, half with flipped bytes.

    Returns:
        {path: 'truncated' or 'flipped'}.
    """
    data = open(source, 'rb').read()
    cases = {}
    for i in range(CASES_PER_SOURCE):
        damaged = bytearray(data)
        if i % 2:
            damaged = damaged[:rng.integers(0, len(data))]
            kind = 'truncated'
        else:
            for position in rng.integers(0, len(data), rng.integers(1, 6)):
                damaged[position] ^= int(rng.integers(1, 256))
            kind = 'flipped'
        path = os.path.join(directory, f'{os.path.basename(source)}.{i:03d}.tif')
        with open(path, 'wb') as f:
            f.write(bytes(damaged))
        cases[path] = kind
    return cases


def test_corrupted_tiffs_fail_cleanly_or_load(tmp_path):
    rng = np.random.default_rng(2012)
    sources = _sources(str(tmp_path))
    cases, originals = {}, {}
    for source in sources.values():
        corrupted = _corrupt(source, str(tmp_path), rng)
        cases.update(corrupted)
        originals.update(dict.fromkeys(corrupted, source))
    reference = _read_all(list(sources.values()))
    results = _read_all(list(cases))

    assert len(results) == len(cases)
    outcomes = {'error': 0, 'loaded': 0}
    for path, result in results.items():
        assert 'unexpected' not in result, (path, result)
        assert result['seconds'] < SECONDS_PER_FILE, (path, result)
        if 'error' in result:
            # One line that names the file.
            assert result['error'].startswith(path) and '\n' not in result['error']
            outcomes['error'] += 1
            continue
        outcomes['loaded'] += 1
        original = reference[originals[path]]
        assert result['dtype'] == 'uint8'
        assert result['loaded'][1:] == original['loaded'][1:] or cases[path] == 'flipped'
        if cases[path] == 'truncated':
            # Only the bytes after the last page's data may go without changing the stack.
            assert result == dict(original, path=path, seconds=result['seconds'])
    # Both outcomes occur, so neither branch above went untested.
    assert outcomes['error'] > 50 and outcomes['loaded'] > 50, outcomes


def _read_all(paths):
    """Reads every path in one child process; fails naming the file that killed it."""
    try:
        child = subprocess.run([sys.executable, '-c', _READER, ROOT, *paths],
                               capture_output=True, text=True,
                               timeout=SECONDS_PER_FILE * 3 + len(paths))
    except subprocess.TimeoutExpired as err:
        last = (err.stdout or b'').decode().strip().splitlines()[-1:]
        pytest.fail(f'reading hung at {last}')
    lines = [json.loads(line) for line in child.stdout.splitlines()]
    if child.returncode != 0:
        pytest.fail(f'the reader died with code {child.returncode} at {lines[-1:]}: '
                    f'{child.stderr[-500:]}')
    return {line['path']: line for line in lines if 'started' not in line}

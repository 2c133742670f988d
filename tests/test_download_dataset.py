"""download_dataset.py against a real HTTP server on 127.0.0.1, never the internet.

The server misbehaves on request: it cuts a response short, stalls, fails with HTTP 500,
ignores byte ranges, or serves a file that is not the challenge's.
"""
import dataclasses
import http.server
import os
import re
import socket
import threading
import time

import numpy as np
import pytest

import download_dataset
from conftest import write_pages
from utils.data.tiff_io import read_stack

NAMES = tuple(download_dataset.CHALLENGE)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `files` ({name: bytes}); `faults` ({name: [fault, ...]}) are used up in order,
    one per request: 'cut' (half the body, then close), 'stall', '500'."""
    files = {}
    faults = {}
    ranges = True
    stall_seconds = 2.0
    seen = []

    def do_GET(self):
        name = self.path.lstrip('/')
        _Handler.seen.append((name, self.headers.get('Range')))
        if name not in self.files:
            self.send_error(404)
            return
        fault = self.faults[name].pop(0) if self.faults.get(name) else None
        if fault == '500':
            self.send_error(500)
            return
        body, start = self.files[name], 0
        requested = re.fullmatch(r'bytes=(\d+)-', self.headers.get('Range') or '')
        if requested and self.ranges:
            start = int(requested[1])
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(body) - 1}/{len(body)}')
        else:
            self.send_response(200)
        self.send_header('Content-Length', str(len(body) - start))
        self.end_headers()
        if fault == 'stall':
            time.sleep(self.stall_seconds)
        sent = body[start:] if fault != 'cut' else body[start:start + (len(body) - start) // 2]
        self.wfile.write(sent)
        self.wfile.flush()
        if fault == 'cut':
            self.close_connection = True

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # A client that gave up on a stalled response: expected here.


@pytest.fixture()
def server(tmp_path):
    """Yields (base_url, specs): three small 2-page files and the specs that describe them."""
    files, specs = {}, {}
    for i, name in enumerate(NAMES):
        pages = np.random.default_rng(i).integers(0, 256, (2, 512, 512), dtype=np.uint8)
        path = tmp_path / f'source-{name}'
        write_pages(path, pages)
        files[name] = path.read_bytes()
        specs[name] = download_dataset.FileSpec(
            2, (512, 512), download_dataset.pixels_sha256(read_stack(str(path))))
    _Handler.files, _Handler.faults, _Handler.ranges, _Handler.seen = files, {}, True, []
    httpd = _QuietServer(('127.0.0.1', 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/', specs
    httpd.shutdown()
    httpd.server_close()


def _download(data_dir, base_url, specs, **options):
    messages = []
    options = {'retries': 3, 'timeout': 5.0, 'backoff_seconds': 0.01, **options}
    fetched = download_dataset.download(str(data_dir), base_url, specs, say=messages.append,
                                        **options)
    return fetched, messages


def _assert_served_copies(data_dir):
    for name in NAMES:
        assert (data_dir / name).read_bytes() == _Handler.files[name]
    assert not [p for p in os.listdir(data_dir) if p.endswith('.part')]


def test_downloads_verifies_and_then_skips(server, tmp_path):
    base_url, specs = server
    assert _download(tmp_path, base_url, specs)[0] == list(NAMES)
    _assert_served_copies(tmp_path)
    seen = len(_Handler.seen)
    assert _download(tmp_path, base_url, specs)[0] == []
    assert len(_Handler.seen) == seen


def test_a_cut_response_is_resumed_with_a_byte_range(server, tmp_path):
    base_url, specs = server
    _Handler.faults = {'train-labels.tif': ['cut']}
    fetched, messages = _download(tmp_path, base_url, specs)
    assert fetched == list(NAMES)
    _assert_served_copies(tmp_path)
    ranges = [r for n, r in _Handler.seen if n == 'train-labels.tif']
    assert ranges[0] is None and len(ranges) == 2
    # The second request asks for what the first did not deliver: at most the sent half
    # (urllib3 drops the chunk it was reading when the connection broke).
    resumed_at = int(re.fullmatch(r'bytes=(\d+)-', ranges[1])[1])
    assert 0 < resumed_at <= len(_Handler.files['train-labels.tif']) // 2
    assert any('attempt 1 of 3 failed: connection closed after' in m for m in messages)
    assert any(m.endswith(f'resuming at byte {resumed_at}') for m in messages)


def test_a_server_without_ranges_sends_the_whole_file_again(server, tmp_path):
    base_url, specs = server
    _Handler.faults, _Handler.ranges = {'test-volume.tif': ['cut', 'cut']}, False
    assert _download(tmp_path, base_url, specs)[0] == list(NAMES)
    _assert_served_copies(tmp_path)
    assert len([n for n, _ in _Handler.seen if n == 'test-volume.tif']) == 3


def test_a_partial_file_of_an_earlier_run_is_continued(server, tmp_path):
    base_url, specs = server
    body = _Handler.files['train-volume.tif']
    (tmp_path / 'train-volume.tif.part').write_bytes(body[:1000])
    _download(tmp_path, base_url, specs)
    _assert_served_copies(tmp_path)
    assert ('train-volume.tif', 'bytes=1000-') in _Handler.seen


def test_http_500_is_retried_with_back_off(server, tmp_path):
    base_url, specs = server
    _Handler.faults = {'train-volume.tif': ['500', '500']}
    start = time.monotonic()
    _, messages = _download(tmp_path, base_url, specs, backoff_seconds=0.2)
    assert time.monotonic() - start >= 0.2 + 0.4  # Waits of 0.2 s, then 0.4 s.
    _assert_served_copies(tmp_path)
    assert sum('HTTP 500' in m for m in messages) == 2


def test_a_stalled_server_times_out_and_keeps_nothing_under_the_real_name(server, tmp_path,
                                                                         capsys, monkeypatch):
    base_url, specs = server
    monkeypatch.setattr(download_dataset, 'CHALLENGE', specs)
    _Handler.faults = {'train-volume.tif': ['stall', 'stall']}
    code = download_dataset.main(['--data_dir', str(tmp_path), '--base_url', base_url,
                                  '--retries', '2', '--timeout', '0.5'])
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (f'error: {base_url}train-volume.tif: no data for 0.5 s (--timeout) after '
                       f'2 attempts; check the network, or copy the files into {tmp_path} by hand')
    assert not (tmp_path / 'train-volume.tif').exists()


def test_404_is_one_clear_line(server, tmp_path, capsys, monkeypatch):
    base_url, specs = server
    monkeypatch.setattr(download_dataset, 'CHALLENGE', specs)
    del _Handler.files['test-volume.tif']
    assert download_dataset.main(['--data_dir', str(tmp_path), '--base_url', base_url]) == 1
    err = capsys.readouterr().err
    assert err == f'error: {base_url}test-volume.tif: not found (HTTP 404)\n'
    assert not (tmp_path / 'test-volume.tif').exists()
    assert not (tmp_path / 'test-volume.tif.part').exists()


def test_other_pixels_are_refused_unless_the_checksum_is_skipped(server, tmp_path, capsys,
                                                                monkeypatch):
    base_url, specs = server
    wrong = dict(specs, **{'train-labels.tif': dataclasses.replace(
        specs['train-labels.tif'], pixels_sha256='0' * 64)})
    monkeypatch.setattr(download_dataset, 'CHALLENGE', wrong)
    argv = ['--data_dir', str(tmp_path), '--base_url', base_url]
    assert download_dataset.main(argv) == 1
    err = capsys.readouterr().err
    assert 'train-labels.tif.part: pixels differ from the challenge data' in err
    assert '--skip_checksum accepts them' in err and not (tmp_path / 'train-labels.tif').exists()
    assert download_dataset.main(argv + ['--skip_checksum']) == 0
    _assert_served_copies(tmp_path)


def test_a_file_of_another_shape_is_refused(server, tmp_path):
    base_url, specs = server
    path = tmp_path / 'small.tif'
    write_pages(path, np.zeros((2, 64, 64), np.uint8))
    _Handler.files['train-volume.tif'] = path.read_bytes()
    with pytest.raises(download_dataset.DownloadError, match='pages are 64x64, expected 512x512'):
        _download(tmp_path / 'data', base_url, specs)


def test_a_damaged_file_is_fetched_again(server, tmp_path):
    base_url, specs = server
    (tmp_path / 'train-labels.tif').write_bytes(b'not a tiff')
    fetched, messages = _download(tmp_path, base_url, specs)
    assert fetched == list(NAMES)
    _assert_served_copies(tmp_path)
    assert any('cannot read TIFF' in m and m.endswith('fetching it again') for m in messages)


def test_no_server_is_a_clear_error(tmp_path, capsys):
    with socket.socket() as probe:  # A port nothing listens on.
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    code = download_dataset.main(['--data_dir', str(tmp_path / 'd'), '--retries', '2',
                                  '--base_url', f'http://127.0.0.1:{port}/'])
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f'error: http://127.0.0.1:{port}/train-volume.tif: cannot connect '
                              '(Connection refused) after 2 attempts; check the network')

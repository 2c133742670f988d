"""download_dataset.py against a real HTTP server on 127.0.0.1, never the internet."""
import functools
import http.server
import os
import socket
import threading

import numpy as np
import pytest

import download_dataset
from conftest import write_pages


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests_seen = []

    def do_GET(self):
        _CountingHandler.requests_seen.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(tmp_path):
    """Serves tmp_path/served over HTTP; yields (base_url, served_dir)."""
    served = tmp_path / 'served'
    served.mkdir()
    for name in download_dataset.FILES:
        write_pages(served / name, np.full((2, 512, 512), 255, np.uint8))
    handler = functools.partial(_CountingHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _CountingHandler.requests_seen = []
    yield f'http://127.0.0.1:{httpd.server_address[1]}/', served
    httpd.shutdown()
    httpd.server_close()


def test_downloads_verifies_and_then_skips(server, tmp_path):
    base_url, served = server
    data_dir = tmp_path / 'data'
    assert download_dataset.main(['--data_dir', str(data_dir), '--base_url', base_url]) == 0
    for name in download_dataset.FILES:
        assert (data_dir / name).read_bytes() == (served / name).read_bytes()
    assert not [p for p in os.listdir(data_dir) if p.endswith('.part')]
    seen = len(_CountingHandler.requests_seen)
    assert download_dataset.main(['--data_dir', str(data_dir), '--base_url', base_url]) == 0
    assert len(_CountingHandler.requests_seen) == seen


def test_a_damaged_file_is_fetched_again(server, tmp_path):
    base_url, served = server
    data_dir = tmp_path / 'data'
    data_dir.mkdir()
    (data_dir / 'train-labels.tif').write_bytes(b'not a tiff')
    assert download_dataset.download(str(data_dir), base_url) == list(download_dataset.FILES)
    assert (data_dir / 'train-labels.tif').read_bytes() == (served / 'train-labels.tif').read_bytes()


def test_404_is_one_clear_line(server, tmp_path, capsys):
    base_url, served = server
    os.remove(served / 'test-volume.tif')
    data_dir = tmp_path / 'data'
    assert download_dataset.main(['--data_dir', str(data_dir), '--base_url', base_url]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'test-volume.tif: not found (HTTP 404)' in err
    assert not (data_dir / 'test-volume.tif').exists()
    assert not (data_dir / 'test-volume.tif.part').exists()


def test_a_file_that_is_not_the_challenge_data_is_refused(server, tmp_path, capsys):
    base_url, served = server
    write_pages(served / 'train-volume.tif', np.zeros((2, 64, 64), np.uint8))
    assert download_dataset.main(['--data_dir', str(tmp_path / 'd'), '--base_url', base_url]) == 1
    assert 'pages are 64x64, expected 512x512' in capsys.readouterr().err


def test_no_server_is_a_clear_error(tmp_path, capsys):
    with socket.socket() as probe:  # A port nothing listens on.
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    code = download_dataset.main(['--data_dir', str(tmp_path / 'd'), '--retries', '2',
                                  '--base_url', f'http://127.0.0.1:{port}/'])
    assert code == 1
    err = capsys.readouterr().err
    assert 'failed after 2 attempts' in err and 'check the network' in err

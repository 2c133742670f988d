"""Prediction into files: the progress line over all pages, memory bounded by a page."""
import tracemalloc

import numpy as np
import pytest
from PIL import Image, ImageSequence

from conftest import identity_model, write_pages
from dllogger import Logger
from utils.data import images
from utils.data.tiff_io import read_stack
from utils.run import prediction
from utils.runtime.params import Params


def test_progress_is_logged_every_few_seconds_and_at_the_end(monkeypatch):
    clock = iter([100.0, 103.0, 111.0, 112.0, 113.0])
    monkeypatch.setattr(prediction.time, 'monotonic', lambda: next(clock))
    logged = []

    class Recorder:
        def log(self, step, data):
            logged.append(data)

    progress = prediction._Progress(Recorder(), total=4, every_seconds=10.0)  # starts at 100 s
    for _ in range(4):
        progress.page_done()  # at 103, 111, 112, 113 s
    assert [d['pages'] for d in logged] == ['2/4', '4/4']  # 11 s after the start, and the end
    assert logged[0]['pages_per_sec'] == pytest.approx(2 / 11)
    assert logged[0]['eta'] == '00:00:11'  # 2 pages to go at 2 / 11 s per page


def test_memory_is_bounded_by_the_page_not_the_stack(tmp_path):
    """200 pages of 256x256 through reading, tiling, stitching and writing: a whole-stack
    implementation would hold the stack's float32 probabilities (52 MB) at least; streaming
    holds a page and a batch. Measured with tracemalloc, which numpy reports to."""
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 256, (200, 256, 256), np.uint8)
    write_pages(tmp_path / 'long.tif', stack)
    files = images.discover([str(tmp_path / 'long.tif')])
    params = Params(exec_mode='predict', input=(str(tmp_path / 'long.tif'),),
                    output_dir=str(tmp_path / 'out'), batch_size=4)
    del stack
    tracemalloc.start()
    prediction.predict_files(identity_model(), params, Logger(), files)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f'peak {peak / 2 ** 20:.1f} MB')
    assert peak < 16 * 2 ** 20, f'{peak / 2 ** 20:.1f} MB'
    with Image.open(tmp_path / 'out' / 'long_probs.tif') as written:
        probs = [np.asarray(page) for page in ImageSequence.Iterator(written)]
    assert len(probs) == 200 and probs[7].shape == (256, 256)
    np.testing.assert_allclose(probs[7], read_stack(str(tmp_path / 'long.tif'))[7] / 255,
                               atol=1e-6)

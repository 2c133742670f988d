"""Shared fixtures: tiny ISBI-format datasets built in tmp_path, never the real data."""
import json
import os
import shutil
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import main  # noqa: E402
from utils.data import synthetic  # noqa: E402
from utils.data.tiff_io import write_stack  # noqa: E402

SHARED_ISBI = os.path.join(ROOT, '..', 'shared', 'data', 'isbi2012')
SMALL_INPUT = 204
"""A valid input side whose 20x20 output keeps the model tests fast."""


@pytest.fixture(scope='session')
def small_dataset(tmp_path_factory):
    """A synthetic ISBI-format set: 4 training and 2 test slices of 96x96."""
    data_dir = tmp_path_factory.mktemp('small_dataset')
    synthetic.generate_dataset(str(data_dir), seed=1, train_pages=4, test_pages=2, size=96)
    return str(data_dir)


@pytest.fixture(scope='module')
def module_tmp_path(tmp_path_factory, request):
    """A directory for the run a module's tests share, removed when the module ends.

    Every trained model_dir holds about 500 MB of full-size U-Net checkpoints; kept to the end
    of the session (pytest's default for tmp_path_factory) they filled a CI machine's disk.
    """
    path = tmp_path_factory.mktemp(request.module.__name__.rpartition('.')[2])
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture()
def dataset_copy(small_dataset, tmp_path):
    """A fresh copy of small_dataset that a test may break."""
    target = tmp_path / 'data'
    target.mkdir()
    for name in os.listdir(small_dataset):
        (target / name).write_bytes(open(os.path.join(small_dataset, name), 'rb').read())
    return str(target)


def wait_for_step(model_dir, step, process, timeout=300):
    """Waits until `process` (a Popen) has logged training step `step` in
    <model_dir>/log.jsonl; fails if it ends or `timeout` seconds pass first."""
    log = os.path.join(model_dir, 'log.jsonl')
    deadline = time.monotonic() + timeout
    while not (os.path.exists(log) and f'"step": {step}' in open(log).read()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f'no step {step} in {log} after {timeout} s'
        time.sleep(0.1)


def write_pages(path, pages):
    """Writes `pages` (uint8 or float32 `[n, H, W]`) as a multi-page TIFF."""
    write_stack(str(path), np.asarray(pages))


def write_pairs(data_dir, sizes, seed):
    """Your own annotated data: <data_dir>/images/slice_K (PNG and TIFF in turn) and
    labels/slice_K.png (0 = membrane on about a fifth of the pixels, 255 elsewhere), one pair
    per (height, width) in `sizes`."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    for folder in ('images', 'labels'):
        os.makedirs(os.path.join(data_dir, folder))
    for i, (height, width) in enumerate(sizes):
        image = rng.integers(0, 256, (height, width), np.uint8)
        labels = np.where(rng.random((height, width)) < 0.2, 0, 255).astype(np.uint8)
        kind = ('png', 'tif')[i % 2]
        Image.fromarray(image).save(os.path.join(data_dir, 'images', f'slice_{i}.{kind}'))
        Image.fromarray(labels).save(os.path.join(data_dir, 'labels', f'slice_{i}.png'))


def run_main(data_dir, model_dir, *flags, exec_mode='train'):
    """main.main on `data_dir` at SMALL_INPUT, with no warm-up steps; returns its exit code."""
    argv = ['--data_dir', data_dir, '--model_dir', str(model_dir), '--exec_mode', exec_mode,
            '--input_size', str(SMALL_INPUT), '--warmup_steps', '0', *map(str, flags)]
    return main.main(argv)


def read_log(model_dir):
    """The records of <model_dir>/log.jsonl."""
    with open(os.path.join(model_dir, main.LOG_FILE)) as f:
        return [json.loads(line) for line in f]


def identity_model():
    """Stands in for the network: the tiles' centres, 0..1, as the probability of background
    (the same shapes as the U-Net's outputs)."""
    from model.sizes import BORDER

    def predict_batches(batched):
        for batch in batched.batches():
            centre = batch[:, BORDER:-BORDER, BORDER:-BORDER].astype(np.float32) / 255
            yield {'probabilities': np.stack([1 - centre, centre], axis=-1)}
    return predict_batches

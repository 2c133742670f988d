"""The ISBI files on disk: loading, conversion of other pixel types, classes.

Every kind of bad file is in tests/test_bad_input.py."""
import os

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_ISBI, write_pairs
from utils.data import dataset
from utils.data.tiff_io import read_stack
from utils.runtime.errors import DatasetError


def test_loads_volume_and_classes(small_dataset):
    volume, classes = dataset.load_training_data(small_dataset)
    assert volume.shape == classes.shape == (4, 96, 96)
    assert volume.dtype == np.uint8
    assert set(np.unique(classes)) == {dataset.MEMBRANE, dataset.BACKGROUND}
    test_volume, test_classes = dataset.load_test_data(small_dataset)
    assert test_volume.shape == test_classes.shape == (2, 96, 96)


def test_labels_zero_and_one_are_accepted():
    classes = dataset.labels_to_classes(np.array([[0, 1], [1, 1]], np.uint8), 'l.tif')
    assert classes.tolist() == [[0, 1], [1, 1]]


def test_rgb_pages_become_grey_by_luminance(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 1] = 200
    path = tmp_path / 'rgb.tif'
    Image.fromarray(rgb).save(path, save_all=True, append_images=[Image.fromarray(rgb)])
    stack = read_stack(str(path))
    assert stack.shape == (2, 8, 8)
    assert stack[0, 0, 0] == round(200 * 0.587)


def test_16_bit_pages_are_scaled_to_8_bit(tmp_path):
    path = tmp_path / 'deep.tif'
    Image.fromarray(np.array([[1000, 3000], [5000, 1000]], np.uint16)).save(path)
    assert read_stack(str(path))[0].tolist() == [[0, 128], [255, 0]]


@pytest.mark.skipif(not os.path.isdir(SHARED_ISBI), reason='real ISBI data not in ../shared')
def test_real_isbi_files_load():
    volume, classes = dataset.load_training_data(SHARED_ISBI)
    assert volume.shape == classes.shape == (30, 512, 512)
    assert 0.15 < np.mean(classes == dataset.MEMBRANE) < 0.3
    test_volume, test_classes = dataset.load_test_data(SHARED_ISBI)
    assert test_volume.shape == (30, 512, 512) and test_classes is None


def test_images_and_labels_folders_of_unequal_sizes(tmp_path):
    write_pairs(tmp_path, [(96, 120), (100, 100), (130, 96)], seed=0)
    volume, classes = dataset.load_training_data(str(tmp_path))
    assert [page.shape for page in volume] == [(96, 120), (100, 100), (130, 96)]
    assert [page.shape for page in classes] == [page.shape for page in volume]
    assert all(set(np.unique(c)) <= {dataset.MEMBRANE, dataset.BACKGROUND} for c in classes)
    same = tmp_path / 'same'
    write_pairs(same, [(96, 96), (96, 96)], seed=1)
    volume, _ = dataset.load_training_data(str(same))
    assert isinstance(volume, np.ndarray) and volume.shape == (2, 96, 96)  # one stack


@pytest.mark.parametrize('damage, message', [
    (lambda d: (d / 'labels' / 'slice_1.png').unlink(), 'slice_1.tif: no file of the same name in'),
    (lambda d: (d / 'labels' / 'slice_1.png').rename(d / 'labels' / 'other.png'),
     'slice_1.tif: no file of the same name in'),
    (lambda d: _save(d / 'labels' / 'slice_0.png', np.arange(96 * 120).reshape(96, 120) % 3),
     'labels must have two classes'),
    (lambda d: _save(d / 'labels' / 'slice_0.png', np.zeros((50, 50), np.uint8)),
     'pages of 50x50 do not match'),
])
def test_bad_pairs_are_named(damage, message, tmp_path):
    write_pairs(tmp_path, [(96, 120), (100, 100)], seed=1)
    damage(tmp_path)
    with pytest.raises(DatasetError, match=message):
        dataset.load_training_data(str(tmp_path))


def _save(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import main
from conftest import SHARED_ISBI, SMALL_INPUT, write_pages
from model.sizes import output_size
from utils import data_loader
from utils.errors import DatasetError
from utils.tiff_io import read_stack


def test_loads_volume_and_classes(small_dataset):
    volume, classes = data_loader.load_training_data(small_dataset)
    assert volume.shape == classes.shape == (4, 96, 96)
    assert volume.dtype == np.uint8
    assert set(np.unique(classes)) == {data_loader.MEMBRANE, data_loader.BACKGROUND}
    test_volume, test_classes = data_loader.load_test_data(small_dataset)
    assert test_volume.shape == test_classes.shape == (2, 96, 96)


def test_labels_zero_and_one_are_accepted():
    classes = data_loader.labels_to_classes(np.array([[0, 1], [1, 1]], np.uint8), 'l.tif')
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


def _train_batches(volume, classes, augment, seed=0, rank=0, batch_size=2, count=3):
    input_fn = data_loader.train_input_fn(volume, classes, SMALL_INPUT, batch_size, augment,
                                          seed, rank)
    return [batch for batch, _ in zip(input_fn().as_numpy_iterator(), range(count))]


def test_training_windows_pair_image_with_the_label_under_its_output(small_dataset):
    volume, classes = data_loader.load_training_data(small_dataset)
    # Make the label readable from the image: a membrane pixel is exactly black.
    volume = np.where(classes == data_loader.MEMBRANE, 0, 200).astype(np.uint8)
    out = output_size(SMALL_INPUT)
    for images, labels in _train_batches(volume, classes, augment=False):
        assert images.shape == (2, SMALL_INPUT, SMALL_INPUT, 1)
        assert labels.shape == (2, out, out)
        assert images.min() >= -1 and images.max() <= 1
        border = (SMALL_INPUT - out) // 2
        centre = images[:, border:border + out, border:border + out, 0]
        assert np.array_equal(centre > -1, labels == data_loader.BACKGROUND)


def test_training_samples_are_reproducible_and_depend_on_seed_and_rank(small_dataset):
    volume, classes = data_loader.load_training_data(small_dataset)
    first = _train_batches(volume, classes, augment=True)
    again = _train_batches(volume, classes, augment=True)
    for (a_img, a_lab), (b_img, b_lab) in zip(first, again):
        assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    other_seed = _train_batches(volume, classes, augment=True, seed=1)
    other_rank = _train_batches(volume, classes, augment=True, rank=1)
    assert not np.array_equal(first[0][0], other_seed[0][0])
    assert not np.array_equal(first[0][0], other_rank[0][0])


def test_augment_changes_the_samples(small_dataset):
    volume, classes = data_loader.load_training_data(small_dataset)
    plain = _train_batches(volume, classes, augment=False, count=1)[0][0]
    augmented = _train_batches(volume, classes, augment=True, count=1)[0][0]
    assert not np.array_equal(plain, augmented)


def test_predict_input_fn_normalises_tiles():
    tiles = np.stack([np.full((188, 188), 0, np.uint8), np.full((188, 188), 255, np.uint8)])
    batches = list(data_loader.predict_input_fn(tiles, batch_size=2)().as_numpy_iterator())
    assert len(batches) == 1 and batches[0].shape == (2, 188, 188, 1)
    assert batches[0][0].max() == -1.0 and batches[0][1].min() == 1.0


def _break_with(data_dir, case):
    """Damages a copy of the small dataset in one way; returns the file the error must name."""
    volume_path = os.path.join(data_dir, data_loader.TRAIN_VOLUME)
    labels_path = os.path.join(data_dir, data_loader.TRAIN_LABELS)
    if case == 'missing file':
        os.remove(labels_path)
        return labels_path, 'file not found'
    if case == 'empty file':
        open(volume_path, 'wb').close()
        return volume_path, 'file is empty'
    if case == 'random bytes':
        with open(volume_path, 'wb') as f:
            f.write(np.random.default_rng(0).bytes(5000))
        return volume_path, 'cannot read TIFF'
    if case == 'truncated':
        data = open(volume_path, 'rb').read()
        with open(volume_path, 'wb') as f:
            f.write(data[:len(data) // 2])
        return volume_path, 'cannot read TIFF'
    if case == 'page count mismatch':
        write_pages(labels_path, np.full((3, 96, 96), 255, np.uint8))
        return labels_path, '3 pages of 96x96 do not match'
    if case == 'page size mismatch':
        write_pages(labels_path, np.full((4, 96, 80), 255, np.uint8))
        return labels_path, '4 pages of 96x80 do not match'
    if case == 'labels not binary':
        write_pages(labels_path, np.tile(np.arange(96, dtype=np.uint8), (4, 96, 1)))
        return labels_path, 'labels must have two classes'
    raise AssertionError(case)


BAD_DATA_CASES = ['missing file', 'empty file', 'random bytes', 'truncated',
                  'page count mismatch', 'page size mismatch', 'labels not binary']


@pytest.mark.parametrize('case', BAD_DATA_CASES)
def test_bad_training_data_is_a_dataset_error_naming_the_file(dataset_copy, case):
    path, message = _break_with(dataset_copy, case)
    with pytest.raises(DatasetError, match=message) as error:
        data_loader.load_training_data(dataset_copy)
    assert str(error.value).startswith(path)


@pytest.mark.parametrize('case', BAD_DATA_CASES)
def test_main_reports_bad_data_in_one_line_and_leaves_model_dir_alone(dataset_copy, tmp_path,
                                                                      capsys, case):
    model_dir = tmp_path / 'model'
    model_dir.mkdir()
    (model_dir / 'checkpoint').write_text('a previous run')
    path, message = _break_with(dataset_copy, case)
    code = main.main(['--data_dir', dataset_copy, '--model_dir', str(model_dir),
                      '--input_size', str(SMALL_INPUT)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f'error: {path}: ') and message in err and err.count('\n') == 1
    assert os.listdir(model_dir) == ['checkpoint']
    assert (model_dir / 'checkpoint').read_text() == 'a previous run'


def test_missing_directory(tmp_path):
    with pytest.raises(DatasetError, match='data directory not found'):
        data_loader.load_training_data(str(tmp_path / 'nowhere'))


def test_pages_smaller_than_the_output_window(small_dataset):
    volume, _ = data_loader.load_training_data(small_dataset)
    with pytest.raises(DatasetError, match='smaller than the 388x388 output window'):
        data_loader.check_trainable(volume, 572, 1, 'v.tif')


def test_batch_larger_than_the_data(small_dataset):
    volume, _ = data_loader.load_training_data(small_dataset)
    with pytest.raises(DatasetError, match='--batch_size=5 is larger than the 4 training slices'):
        data_loader.check_trainable(volume, SMALL_INPUT, 5, 'v.tif')


@pytest.mark.skipif(not os.path.isdir(SHARED_ISBI), reason='real ISBI data not in ../shared')
def test_real_isbi_files_load():
    volume, classes = data_loader.load_training_data(SHARED_ISBI)
    assert volume.shape == classes.shape == (30, 512, 512)
    assert 0.15 < np.mean(classes == data_loader.MEMBRANE) < 0.3
    test_volume, test_classes = data_loader.load_test_data(SHARED_ISBI)
    assert test_volume.shape == (30, 512, 512) and test_classes is None

"""Every kind of bad input ends in one line naming the file or flag, exit code 2, and a
--model_dir whose earlier outputs (checkpoint, predictions, log) are byte-identical afterwards.
"""
import hashlib
import os
import shutil
import stat

import numpy as np
import pytest
import tensorflow as tf

import main
from conftest import SMALL_INPUT, write_pages
from utils.data import dataset
from utils.run import inputs as run_inputs
from utils.runtime.errors import DatasetError

VOLUME = dataset.TRAIN_VOLUME
LABELS = dataset.TRAIN_LABELS


@pytest.fixture(scope='module')
def good_model_dir(small_dataset, module_tmp_path):
    """A model_dir with the outputs of a real run: checkpoints, predictions, log, summaries."""
    model_dir = module_tmp_path / 'model'
    assert _main(small_dataset, model_dir, '--max_steps', 2,
                 exec_mode='train_and_predict') == 0
    assert os.path.exists(model_dir / 'pred' / 'test-probs.tif')
    return model_dir


def _main(data_dir, model_dir, *flags, exec_mode='train'):
    return main.main(['--data_dir', str(data_dir), '--model_dir', str(model_dir),
                      '--exec_mode', exec_mode, '--input_size', str(SMALL_INPUT),
                      '--warmup_steps', '0', *map(str, flags)])


def _snapshot(path):
    """{relative path: sha256} of every file under `path` (or of `path`, a file)."""
    if os.path.isfile(path):
        return {'': hashlib.sha256(open(path, 'rb').read()).hexdigest()}
    digests = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            digests[os.path.relpath(full, path)] = hashlib.sha256(
                open(full, 'rb').read()).hexdigest()
    return digests


def _damage(data_dir, case):
    """Damages a copy of the small dataset one way.

    Returns:
        (the file the message must name, a fragment of the message, extra flags).
    """
    volume = os.path.join(data_dir, VOLUME)
    labels = os.path.join(data_dir, LABELS)
    if case == 'data directory missing':
        shutil.rmtree(data_dir)
        return data_dir, 'data directory not found', []
    if case == 'file missing':
        os.remove(labels)
        return labels, 'file not found', []
    if case == 'empty file':
        open(volume, 'wb').close()
        return volume, 'file is empty', []
    if case == 'random bytes named .tif':
        with open(volume, 'wb') as f:
            f.write(np.random.default_rng(0).bytes(5000))
        return volume, 'cannot read TIFF', []
    if case == 'truncated TIFF':
        data = open(volume, 'rb').read()
        with open(volume, 'wb') as f:
            f.write(data[:len(data) // 2])
        return volume, 'cannot read TIFF', []
    if case == 'single page where a stack is needed':
        write_pages(volume, np.full((1, 96, 96), 128, np.uint8))
        write_pages(labels, np.full((1, 96, 96), 255, np.uint8))
        return volume, 'a single-page TIFF, but --batch_size=2 needs a multi-page stack', [
            '--batch_size', 2]
    if case == 'page counts differ':
        write_pages(labels, np.full((3, 96, 96), 255, np.uint8))
        return labels, '3 pages of 96x96 do not match', []
    if case == 'page sizes differ':
        write_pages(labels, np.full((4, 96, 80), 255, np.uint8))
        return labels, '4 pages of 96x80 do not match', []
    if case == 'labels of more than two classes':
        write_pages(labels, np.tile(np.arange(96, dtype=np.uint8), (4, 96, 1)))
        return labels, 'labels must have two classes', []
    if case == 'float pages with NaN':
        pages = np.random.default_rng(0).random((4, 96, 96)).astype(np.float32)
        pages[1, 5, 5] = np.nan
        write_pages(volume, pages)
        return volume, 'pages contain NaN or infinite values', []
    if case == 'pages smaller than the output tile':
        return volume, 'smaller than the 388x388 output window of --input_size=572', [
            '--input_size', 572]
    if case == 'test volume damaged':
        test_volume = os.path.join(data_dir, dataset.TEST_VOLUME)
        with open(test_volume, 'wb') as f:
            f.write(b'II*\0' + bytes(100))
        return test_volume, 'cannot read TIFF', ['--exec_mode', 'predict']
    raise AssertionError(case)


DATA_CASES = ['data directory missing', 'file missing', 'empty file', 'random bytes named .tif',
              'truncated TIFF', 'single page where a stack is needed', 'page counts differ',
              'page sizes differ', 'labels of more than two classes', 'float pages with NaN',
              'pages smaller than the output tile', 'test volume damaged']


def _assert_one_line(capsys, *fragments):
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize('case', DATA_CASES)
def test_bad_data(case, dataset_copy, good_model_dir, tmp_path, capsys):
    model_dir = tmp_path / 'model'
    shutil.copytree(good_model_dir, model_dir)
    before = _snapshot(model_dir)
    path, message, flags = _damage(dataset_copy, case)
    assert _main(dataset_copy, model_dir, *flags) == 2
    _assert_one_line(capsys, f'error: {path}: ', message)
    assert _snapshot(model_dir) == before


@pytest.mark.parametrize('case', [c for c in DATA_CASES if c != 'test volume damaged'])
def test_bad_training_data_is_a_dataset_error_naming_the_file(case, dataset_copy):
    path, message, flags = _damage(dataset_copy, case)
    with pytest.raises(DatasetError, match=message) as error:
        volume, _ = dataset.load_training_data(dataset_copy)
        settings = dict(zip(flags[::2], flags[1::2]))
        run_inputs.check_trainable(volume, settings.get('--input_size', SMALL_INPUT),
                                    settings.get('--batch_size', 1), path)
    assert str(error.value).startswith(path)


@pytest.mark.parametrize('flag, value', [('--batch_size', 0), ('--batch_size', -3),
                                         ('--max_steps', 0)])
def test_bad_flag_values(flag, value, small_dataset, good_model_dir, tmp_path, capsys):
    model_dir = tmp_path / 'model'
    shutil.copytree(good_model_dir, model_dir)
    before = _snapshot(model_dir)
    assert _main(small_dataset, model_dir, flag, value) == 2
    _assert_one_line(capsys, f'{flag}={value} is invalid: expected an integer >= 1')
    assert _snapshot(model_dir) == before


def test_model_dir_that_is_a_file(small_dataset, tmp_path, capsys):
    path = tmp_path / 'results'
    path.write_text('keep me')
    assert _main(small_dataset, path) == 2
    _assert_one_line(capsys, f'--model_dir={path}: exists and is not a directory')
    assert path.read_text() == 'keep me'


def test_model_dir_under_a_file(small_dataset, tmp_path, capsys):
    path = tmp_path / 'results'
    path.write_text('keep me')
    assert _main(small_dataset, path / 'run1') == 2
    _assert_one_line(capsys, f'--model_dir={path}/run1: {path} is a file, not a directory')
    assert path.read_text() == 'keep me'


def _unwritable_dir(tmp_path):
    """A model_dir that cannot be written: a read-only directory, or as root (whom
    permissions do not stop) a path in sysfs, which refuses new files to everyone."""
    if os.geteuid() != 0:
        locked = tmp_path / 'locked'
        locked.mkdir()
        (locked / 'keep.txt').write_text('keep me')
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return locked
    target = '/sys/unet_model_dir_probe'
    try:
        os.mkdir(target)
    except OSError:
        return target
    os.rmdir(target)
    pytest.skip('running as root with a writable /sys: no directory here is unwritable')


def test_model_dir_not_writable(small_dataset, tmp_path, capsys):
    model_dir = _unwritable_dir(tmp_path)
    before = _snapshot(model_dir) if os.path.isdir(model_dir) else None
    assert _main(small_dataset, model_dir) == 2
    _assert_one_line(capsys, f'--model_dir={model_dir}: not writable')
    if before is not None:
        assert _snapshot(model_dir) == before


def _save_foreign_checkpoint(model_dir):
    """A checkpoint of another network: a dense layer, and a first kernel of another shape."""
    with tf.Graph().as_default():
        tf.compat.v1.get_variable('dense/kernel', [16, 2])
        tf.compat.v1.get_variable('downsample_block_0/conv1/kernel', [5, 5, 1, 64])
        tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(session, str(model_dir / 'model.ckpt'),
                                            global_step=7)


def _truncate_index(model_dir):
    index = tf.train.latest_checkpoint(str(model_dir)) + '.index'
    data = open(index, 'rb').read()
    with open(index, 'wb') as f:
        f.write(data[:len(data) // 3])


@pytest.mark.parametrize('case, flags, message', [
    ('foreign', [], 'checkpoint model.ckpt-7 was written by a different network'),
    ('foreign', ['--exec_mode', 'predict'],
     'downsample_block_0/conv1/kernel has shape [5, 5, 1, 64] there but [3, 3, 1, 64] here'),
    ('other optimizer', ['--optimizer', 'adam', '--learning_rate', 0.001, '--max_steps', 4],
     'was written with another --optimizer'),
    ('damaged', [], 'cannot be read'),
    ('no averages', ['--ema_decay', 0.9, '--max_steps', 4],
     'was written without --ema_decay, which cannot start averaging midway'),
])
def test_checkpoint_that_does_not_fit(case, flags, message, small_dataset, good_model_dir,
                                      tmp_path, capsys):
    model_dir = tmp_path / 'model'
    if case == 'foreign':
        model_dir.mkdir()
        _save_foreign_checkpoint(model_dir)
    else:
        shutil.copytree(good_model_dir, model_dir)
    if case == 'damaged':
        _truncate_index(model_dir)
    before = _snapshot(model_dir)
    assert _main(small_dataset, model_dir, *flags) == 2
    _assert_one_line(capsys, f'--model_dir={model_dir}: checkpoint ', message,
                     'use another --model_dir')
    assert _snapshot(model_dir) == before


def test_float_and_16_bit_labels_are_converted(dataset_copy, tmp_path):
    """Labels saved as float 0/1 or 16-bit 0/65535 pages mean the same classes."""
    _, classes = dataset.load_training_data(dataset_copy)
    labels = os.path.join(dataset_copy, LABELS)
    for pages in (classes.astype(np.float32), classes.astype(np.uint16) * 65535):
        write_pages(labels, pages) if pages.dtype == np.float32 else _write_16_bit(labels, pages)
        assert np.array_equal(dataset.load_training_data(dataset_copy)[1], classes)


def _write_16_bit(path, pages):
    from PIL import Image
    images = [Image.fromarray(page) for page in pages]
    images[0].save(path, format='TIFF', save_all=True, append_images=images[1:])

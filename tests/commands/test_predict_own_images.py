"""Your own images: --input files, folders and globs of any size and pixel type predicted
into --output_dir page by page (utils/data/images.py, utils/run/prediction.py,
utils/outputs/writers.py)."""
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageSequence

import main
from conftest import SMALL_INPUT, read_log, write_pages
from utils.data import images
from utils.data.tiff_io import read_stack
from utils.graph import weight_average
from utils.outputs import names
from utils.runtime.errors import DatasetError


def _pages(path):
    with Image.open(path) as image:
        return [np.asarray(page) for page in ImageSequence.Iterator(image)]


@pytest.fixture(scope='module')
def model_dir(small_dataset, module_tmp_path):
    """Two training steps and NVIDIA's recipe's own prediction of test-volume.tif; with a moving
    average of the weights, so every prediction here (checkpoint, export, --tta) loads it."""
    directory = module_tmp_path / 'model'
    assert main.main(['--exec_mode', 'train_and_predict', '--data_dir', small_dataset,
                      '--model_dir', str(directory), '--max_steps', '2', '--input_size',
                      str(SMALL_INPUT), '--warmup_steps', '0', '--ema_decay', '0.5']) == 0
    return directory


def _images(folder):
    """One input of each kind and pixel type, of awkward sizes."""
    rng = np.random.default_rng(3)
    folder.mkdir()
    for i in (10, 2, 1):  # natural order: 1, 2, 10
        Image.fromarray(rng.integers(0, 256, (60, 90), np.uint8)).save(folder / f'cut_{i}.png')
    Image.fromarray(rng.integers(0, 256, (37, 50, 3), np.uint8)).save(folder / 'colour.jpg')
    Image.fromarray(rng.integers(0, 65535, (5, 300), np.uint16)).save(folder / 'deep.tif')
    # Wider than one tile's output (836): two tiles side by side, stitched.
    Image.fromarray(rng.integers(0, 256, (6, 1300), np.uint8)).save(folder / 'wide.png')
    write_pages(folder / 'stack.tif', rng.integers(0, 256, (3, 64, 48), np.uint8))
    palette = Image.fromarray(rng.integers(0, 4, (40, 40), np.uint8), mode='P')
    palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255] + [0] * 756)
    palette.save(folder / 'palette.png')
    return folder


@pytest.fixture(scope='module')
def predicted(model_dir, module_tmp_path):
    inputs = _images(module_tmp_path / 'inputs')
    out = module_tmp_path / 'out'
    assert main.main(['--exec_mode', 'predict', '--model_dir', str(model_dir), '--input',
                      str(inputs), '--output_dir', str(out), '--overlays', '--cells',
                      '--batch_size', '3']) == 0
    return inputs, out


def test_a_folder_is_read_in_natural_order(predicted):
    inputs, _ = predicted
    names = [os.path.basename(f.path) for f in images.discover([str(inputs)])]
    assert names == ['colour.jpg', 'cut_1.png', 'cut_2.png', 'cut_10.png', 'deep.tif',
                     'palette.png', 'stack.tif', 'wide.png']


def test_every_input_gets_its_outputs_at_its_size(predicted):
    inputs, out = predicted
    for image_file in images.discover([str(inputs)]):
        paths = names.output_paths(str(out), image_file, True, cells=True)
        probs, masks = _pages(paths.probs), _pages(paths.mask)
        cells, closed = _pages(paths.cells), _pages(paths.closed_mask)
        assert [p.shape for p in probs] == [m.shape for m in masks] == list(image_file.sizes)
        assert [c.shape for c in cells] == [m.shape for m in closed] == list(image_file.sizes)
        for p, m, c, closed_mask in zip(probs, masks, cells, closed):
            assert p.dtype == np.float32 and 0 <= p.min() and p.max() <= 1
            assert set(np.unique(m)) <= {0, 255}
            assert np.array_equal(m == 255, p >= 0.5)
            assert c.dtype == np.uint16 and c.max() >= 1
            # The closed mask: the mask with the lines between cells as membrane.
            assert np.array_equal(closed_mask == 255, (p >= 0.5) & (c > 0))
        # The masks in the input's own kind; PNG for JPEG. Labels in TIFF.
        suffix = {'tiff': '.tif', 'png': '.png', 'jpeg': '.png'}[image_file.kind]
        assert paths.mask.endswith(suffix) and paths.closed_mask.endswith(suffix)
        assert paths.cells.endswith('_cells.tif')
        assert len(paths.overlays) == image_file.pages
        for path, (height, width) in zip(paths.overlays, image_file.sizes):
            with Image.open(path) as overlay:  # image, prediction and cells, titled
                assert overlay.size == (3 * width, height + 14) and overlay.mode == 'RGB'


def test_progress_reaches_every_page(predicted, model_dir):
    records = [r for r in read_log(model_dir) if r.get('step') == 'predict_progress']
    # 10 pages: cut_1, cut_2, cut_10, colour, deep, palette, 3 of stack, wide.
    assert records[-1]['data']['pages'] == '10/10'
    assert records[-1]['data']['eta'] == '00:00:00'


def test_pages_are_converted_as_for_training(predicted, tmp_path):
    inputs, _ = predicted
    (deep,) = images.discover([str(inputs / 'deep.tif')])
    (page,) = images.read_pages(deep)
    assert np.array_equal(page, read_stack(str(inputs / 'deep.tif'))[0])
    assert page.min() == 0 and page.max() == 255  # scaled from the file's own range
    (colour,) = images.read_pages(images.discover([str(inputs / 'colour.jpg')])[0])
    with Image.open(inputs / 'colour.jpg') as image:
        assert np.array_equal(colour, np.asarray(image.convert('L')))


def test_the_same_page_gives_the_seeds_prediction(model_dir, tmp_path, small_dataset):
    """test-volume.tif through --input: NVIDIA's recipe's pred/test-probs.tif, page for page."""
    out = tmp_path / 'out'
    assert main.main(['--exec_mode', 'predict', '--model_dir', str(model_dir), '--input',
                      os.path.join(small_dataset, 'test-volume.tif'), '--output_dir',
                      str(out)]) == 0
    ours = np.stack(_pages(out / 'test-volume_probs.tif'))
    seeds = np.stack(_pages(model_dir / 'pred' / names.PROBS_FILE))
    np.testing.assert_allclose(ours, seeds, atol=1e-6)


def _checkpoint_of(model_dir, out, averages):
    """A copy of model_dir's checkpoint that holds the weights alone: each weight's moving
    average in its place when `averages`, else the weight itself."""
    reader = tf.train.load_checkpoint(str(model_dir))
    suffix = '/' + weight_average.AVERAGE_NAME
    stored = reader.get_variable_to_shape_map()
    weights = [name[:-len(suffix)] for name in stored if name.endswith(suffix)]
    with tf.Graph().as_default():
        variables = [tf.compat.v1.Variable(reader.get_tensor(name + suffix if averages
                                                             else name), name=name)
                     for name in weights]
        variables.append(tf.compat.v1.Variable(reader.get_tensor('global_step'),
                                               name='global_step'))
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver(variables).save(session, str(out / 'model.ckpt'),
                                                     global_step=2)


def test_prediction_loads_the_weights_moving_averages(model_dir, tmp_path, small_dataset):
    assert any('predicting with the moving averages of the weights' in r.get('text', '')
               for r in read_log(model_dir))
    probabilities = {}
    for averages in (True, False):
        copy = tmp_path / str(averages)
        copy.mkdir()
        _checkpoint_of(model_dir, copy, averages)
        assert main.main(['--exec_mode', 'predict', '--data_dir', small_dataset,
                          '--model_dir', str(copy)]) == 0
        probabilities[averages] = np.stack(_pages(copy / 'pred' / names.PROBS_FILE))
    seeds = np.stack(_pages(model_dir / 'pred' / names.PROBS_FILE))
    np.testing.assert_allclose(probabilities[True], seeds, atol=1e-6)
    assert np.abs(probabilities[False] - seeds).max() > 1e-4


def test_a_saved_model_writes_the_same_files(model_dir, predicted, module_tmp_path):
    inputs, out = predicted
    assert main.main(['--exec_mode', 'export', '--model_dir', str(model_dir)]) == 0
    export_root = model_dir / 'export'
    (export,) = [export_root / name for name in os.listdir(export_root)]
    served = module_tmp_path / 'served'
    assert main.main(['--exec_mode', 'predict', '--model_dir', str(module_tmp_path / 'log'),
                      '--saved_model', str(export), '--input', str(inputs), '--output_dir',
                      str(served), '--overlays', '--cells']) == 0
    assert sorted(os.listdir(served)) == sorted(os.listdir(out))
    for name in os.listdir(out):
        if name.endswith('_probs.tif'):
            np.testing.assert_allclose(np.stack(_pages(served / name)),
                                       np.stack(_pages(out / name)), atol=1e-4)


def test_a_missing_saved_model_is_one_line(tmp_path, capsys):
    Image.new('L', (8, 8)).save(tmp_path / 'x.png')
    assert main.main(['--exec_mode', 'predict', '--saved_model', str(tmp_path / 'none'),
                      '--input', str(tmp_path / 'x.png'), '--output_dir',
                      str(tmp_path / 'out')]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: --saved_model={tmp_path / "none"}: no saved_model.pb')


def test_tta_averages_the_eight_views(model_dir, tmp_path, small_dataset):
    from utils.run import tta
    out = tmp_path / 'out'
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 256, (30, 70), np.uint8)).save(tmp_path / 'wide.png')
    for extra, target in (([], 'plain'), (['--tta'], 'tta')):
        assert main.main(['--exec_mode', 'predict', '--model_dir', str(model_dir), '--input',
                          str(tmp_path / 'wide.png'), '--output_dir', str(out / target),
                          *extra]) == 0
    plain = _pages(out / 'plain' / 'wide_probs.tif')[0]
    averaged = _pages(out / 'tta' / 'wide_probs.tif')[0]
    # The identity view alone is the plain prediction; the 8 views' mean differs from it.
    assert averaged.shape == plain.shape and not np.allclose(averaged, plain, atol=1e-6)
    assert len(tta.TRANSFORMS) == 8


def test_a_glob_and_repeated_inputs(predicted, tmp_path):
    inputs, _ = predicted
    found = images.discover([str(inputs / 'cut_*.png'), str(inputs / 'stack.tif')])
    assert [f.stem for f in found] == ['cut_1', 'cut_2', 'cut_10', 'stack']


def _made(path, make):
    make(path)
    return path


@pytest.mark.parametrize('make, message', [
    (lambda d: d / 'missing.png', 'file not found'),
    (lambda d: _made(d / 'empty', lambda p: p.mkdir()), 'a folder with no .tif, .tiff, .png'),
    (lambda d: d / 'nothing_*.png', 'no file matches'),
    (lambda d: _made(d / 'e.png', lambda p: p.write_bytes(b'')), 'file is empty'),
    (lambda d: _made(d / 't.png', lambda p: p.write_text('not an image')),
     'not a readable TIFF, PNG or JPEG image'),
    (lambda d: _made(d / 'g.gif', lambda p: Image.new('L', (8, 8)).save(p)),
     'a GIF image; expected TIFF, PNG or JPEG'),
])
def test_a_bad_input_is_one_line_and_nothing_is_written(make, message, model_dir, tmp_path,
                                                        capsys):
    bad = make(tmp_path)
    out = tmp_path / 'out'
    assert main.main(['--exec_mode', 'predict', '--model_dir', str(model_dir), '--input',
                      str(bad), '--output_dir', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: {bad}: {message}') and err.count('\n') == 1, err
    assert not out.exists()


def test_a_page_that_cannot_be_decoded_is_one_line(model_dir, tmp_path, capsys):
    """Headers pass the check before TensorFlow starts; the pixels fail while predicting:
    the inputs before it keep their outputs, its own are removed."""
    rng = np.random.default_rng(6)
    Image.fromarray(rng.integers(0, 256, (40, 40), np.uint8)).save(tmp_path / 'a_good.png')
    Image.fromarray(rng.integers(0, 256, (200, 200), np.uint8)).save(tmp_path / 'b_cut.png')
    data = (tmp_path / 'b_cut.png').read_bytes()
    (tmp_path / 'b_cut.png').write_bytes(data[:len(data) // 2])
    out = tmp_path / 'out'
    assert main.main(['--exec_mode', 'predict', '--model_dir', str(model_dir), '--input',
                      str(tmp_path / '*.png'), '--output_dir', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: {tmp_path / "b_cut.png"}: cannot decode') and \
        err.count('\n') == 1, err
    assert sorted(os.listdir(out)) == ['a_good_mask.png', 'a_good_probs.tif']


def test_the_cells_are_written_with_cells_only(model_dir, tmp_path):
    Image.new('L', (20, 20), 128).save(tmp_path / 'x.png')
    argv = ['--exec_mode', 'predict', '--model_dir', str(model_dir), '--input',
            str(tmp_path / 'x.png'), '--output_dir']
    assert main.main(argv + [str(tmp_path / 'plain')]) == 0
    assert sorted(os.listdir(tmp_path / 'plain')) == ['x_mask.png', 'x_probs.tif']
    assert main.main(argv + [str(tmp_path / 'cells'), '--cells']) == 0
    assert sorted(os.listdir(tmp_path / 'cells')) == ['x_cells.tif', 'x_closed_mask.png',
                                                      'x_mask.png', 'x_probs.tif']


def test_two_inputs_with_one_name_are_refused(tmp_path):
    for folder in ('a', 'b'):
        (tmp_path / folder).mkdir()
        Image.new('L', (8, 8)).save(tmp_path / folder / 'x.png')
    with pytest.raises(DatasetError, match='same names as those of'):
        images.discover([str(tmp_path / 'a'), str(tmp_path / 'b')])


def test_existing_outputs_are_kept_unless_overwrite(model_dir, tmp_path, capsys):
    Image.new('L', (20, 20), 128).save(tmp_path / 'x.png')
    out = tmp_path / 'out'
    argv = ['--exec_mode', 'predict', '--model_dir', str(model_dir), '--input',
            str(tmp_path / 'x.png'), '--output_dir', str(out)]
    assert main.main(argv) == 0
    probs = out / 'x_probs.tif'
    probs.write_bytes(b'mine')
    assert main.main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f'error: {probs}: exists (an output of {tmp_path / "x.png"}); '
                           '--overwrite replaces it')
    assert probs.read_bytes() == b'mine'
    assert main.main(argv + ['--overwrite']) == 0
    assert _pages(probs)[0].shape == (20, 20)
    assert not [n for n in os.listdir(out) if n.startswith('.')]  # no temporary left


@pytest.mark.parametrize('argv, message', [
    (['--exec_mode', 'train', '--input', 'x.png', '--output_dir', 'o'],
     '--input=[\'x.png\'] is invalid: expected --exec_mode predict'),
    (['--exec_mode', 'predict', '--input', 'x.png'],
     '--output_dir=None is invalid: expected a folder for the outputs of --input'),
    (['--exec_mode', 'predict', '--data_dir', 'd', '--overlays'],
     '--overlays=True is invalid: expected only with --input'),
])
def test_flags_that_do_not_fit_input(argv, message, capsys):
    assert main.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: {message}') and err.count('\n') == 1, err


def test_the_output_folder_must_not_hold_the_inputs(tmp_path, capsys):
    Image.new('L', (8, 8)).save(tmp_path / 'x.png')
    assert main.main(['--exec_mode', 'predict', '--model_dir', str(tmp_path / 'm'),
                      '--input', str(tmp_path), '--output_dir', str(tmp_path)]) == 2
    assert 'holds the input' in capsys.readouterr().err

"""--fold / --num_folds and the evaluate modes: held-out slices never trained on, scored."""
import json
import os

import numpy as np
import pytest
from PIL import Image, ImageSequence

import main
from conftest import SMALL_INPUT, write_pairs
from utils.data import dataset
from utils.data.tiff_io import read_stack
from utils.outputs import names, scores
from utils.outputs.scores import SCORE_NAMES


def test_too_few_slices_for_the_folds(small_dataset, capsys, tmp_path):
    code = main.main(['--data_dir', small_dataset, '--model_dir', str(tmp_path / 'm'),
                      '--exec_mode', 'train_and_evaluate', '--fold', '0', '--num_folds', '5'])
    assert code == 2
    assert '4 slices cannot make --num_folds=5 folds' in capsys.readouterr().err
    assert not (tmp_path / 'm').exists()


def _evaluate(data_dir, model_dir, *flags, exec_mode):
    return main.main(['--data_dir', data_dir, '--model_dir', str(model_dir), '--exec_mode',
                      exec_mode, '--input_size', str(SMALL_INPUT), '--warmup_steps', '0',
                      '--log_every', '5', *map(str, flags)])


def test_train_and_evaluate_then_evaluate_alone(small_dataset, tmp_path):
    model_dir = tmp_path / 'model'
    fold = ['--fold', 1, '--num_folds', 2]
    assert _evaluate(small_dataset, model_dir, '--max_steps', 10, '--optimizer', 'adam',
                     '--learning_rate', 0.0003, *fold, exec_mode='train_and_evaluate') == 0
    record = json.loads((model_dir / 'eval' / names.METRICS_FILE).read_text())
    for name in ('pixel_error', 'dice_membrane', 'dice_background', 'v_rand_thin',
                 'v_info_thin', 'v_rand_thin_at_0.5', 'v_info_thin_at_0.5'):
        assert 0.0 <= record[name] <= 1.0, name
    assert record['step'] == 10 and record['slices'] == [2, 3] and record['fold'] == 1
    probs = read_stack(str(model_dir / 'eval' / names.EVAL_PROBS_FILE))
    assert probs.shape == (2, 96, 96)
    assert not os.path.exists(model_dir / 'pred')  # Evaluating does not predict the test set.

    first = (model_dir / 'eval' / names.METRICS_FILE).read_text()
    os.remove(model_dir / 'eval' / names.METRICS_FILE)
    assert _evaluate(small_dataset, model_dir, *fold, exec_mode='evaluate') == 0
    assert (model_dir / 'eval' / names.METRICS_FILE).read_text() == first


def test_evaluate_without_a_fold_scores_the_labelled_test_volume(small_dataset, tmp_path):
    model_dir = tmp_path / 'model'
    assert _evaluate(small_dataset, model_dir, '--max_steps', 2,
                     exec_mode='train_and_evaluate') == 0
    record = json.loads((model_dir / 'eval' / names.METRICS_FILE).read_text())
    assert record['slices'] == [0, 1] and record['fold'] is None


def test_evaluate_needs_labels_or_a_fold(dataset_copy, tmp_path, capsys):
    os.remove(os.path.join(dataset_copy, dataset.TEST_LABELS))
    assert _evaluate(dataset_copy, tmp_path / 'm', exec_mode='train_and_evaluate') == 2
    err = capsys.readouterr().err
    assert 'test-labels.tif: file not found; --exec_mode train_and_evaluate scores' in err


def test_evaluate_needs_a_checkpoint(small_dataset, tmp_path, capsys):
    assert _evaluate(small_dataset, tmp_path / 'm', '--fold', 0, '--num_folds', 2,
                     exec_mode='evaluate') == 2
    assert 'no checkpoint to predict with' in capsys.readouterr().err


def _train_and_score(data_dir, model_dir, seed):
    """Held-out probabilities and metrics of a short augmented, weighted-loss run."""
    assert _evaluate(data_dir, model_dir, '--max_steps', 6, '--seed', seed, '--augment',
                     '--loss', 'weighted_ce_dice', '--optimizer', 'adam', '--learning_rate',
                     0.001, '--fold', 1, '--num_folds', 2, exec_mode='train_and_evaluate') == 0
    record = json.loads((model_dir / 'eval' / names.METRICS_FILE).read_text())
    return read_stack(str(model_dir / 'eval' / names.EVAL_PROBS_FILE)), record


def test_same_seed_same_command_same_scores(small_dataset, tmp_path):
    # Issue 5 asks for the same metrics to 3 decimals; on one CPU the run is bit-identical.
    probs, record = _train_and_score(small_dataset, tmp_path / 'first', seed=3)
    probs_again, record_again = _train_and_score(small_dataset, tmp_path / 'again', seed=3)
    probs_other, _ = _train_and_score(small_dataset, tmp_path / 'other', seed=4)
    assert np.array_equal(probs, probs_again)
    assert record == record_again
    assert np.abs(probs - probs_other).max() > 1e-3


def test_train_and_evaluate_on_images_and_labels_folders_of_unequal_sizes(tmp_path):
    """Your own annotated data: pairs of different sizes, trained (windows inside each
    slice, the weight map per slice, augmentation) and scored per slice."""
    data = tmp_path / 'data'
    sizes = [(96, 120), (110, 100), (100, 96), (130, 104)]
    write_pairs(data, sizes, seed=4)
    model_dir = tmp_path / 'model'
    assert _evaluate(str(data), model_dir, '--fold', '1', '--num_folds', '2', '--max_steps',
                     '2', '--eval_every', '1', '--augment', '--loss', 'weighted_ce_dice',
                     exec_mode='train_and_evaluate') == 0
    record = json.load(open(model_dir / 'eval' / 'metrics.json'))
    assert record['slices'] == [2, 3] and record['step'] == 2
    assert 0 <= record['dice_membrane'] <= 1 and 0 <= record['v_rand_thin'] <= 1
    with Image.open(model_dir / 'eval' / names.EVAL_PROBS_FILE) as probs:
        shapes = []
        for page in range(probs.n_frames):
            probs.seek(page)
            shapes.append((probs.height, probs.width))
    assert shapes == sizes[2:]  # each held-out slice at its own size


def test_evaluate_with_tta(small_dataset, tmp_path):
    model_dir = tmp_path / 'model'
    argv = ['--data_dir', small_dataset, '--model_dir', str(model_dir), '--input_size',
            str(SMALL_INPUT), '--warmup_steps', '0', '--fold', '1', '--num_folds', '2']
    probs_path = str(model_dir / 'eval' / names.EVAL_PROBS_FILE)
    assert main.main(argv + ['--exec_mode', 'train_and_evaluate', '--max_steps', '5']) == 0
    plain = read_stack_float(probs_path)
    record = json.loads((model_dir / 'eval' / names.METRICS_FILE).read_text())
    assert 'closed_v_rand_thin' not in record  # no cells without --cells
    assert not (model_dir / 'eval' / names.EVAL_CELLS_FILE).exists()
    assert main.main(argv + ['--exec_mode', 'evaluate', '--tta', '--cells']) == 0
    augmented = read_stack_float(probs_path)
    record = json.loads((model_dir / 'eval' / names.METRICS_FILE).read_text())
    assert record['step'] == 5 and record['slices'] == [2, 3]
    assert augmented.shape == plain.shape == (2, 96, 96)
    # The scores are those of the averaged probabilities written beside them.
    background = read_stack(os.path.join(small_dataset, 'train-labels.tif'))[2:] != 0
    expected = scores.evaluate(augmented, background)
    for name in SCORE_NAMES:
        assert record[name] == pytest.approx(expected[name], rel=1e-6), name
    # Beside them, those of the closed-contour map of the cells written with them.
    cells = read_stack_float(str(model_dir / 'eval' / names.EVAL_CELLS_FILE))
    closed = np.where(cells == 0, 0.0, augmented).astype(np.float32)
    expected = scores.evaluate(closed, background)
    for name in SCORE_NAMES:
        assert record['closed_' + name] == pytest.approx(expected[name], rel=1e-6), name
    assert not np.allclose(augmented, plain)
    # Not a different model: the average stays close to the plain prediction.
    assert np.abs(augmented - plain).mean() < 0.1


def read_stack_float(path):
    with Image.open(path) as image:
        return np.stack([np.asarray(page, np.float32) for page in ImageSequence.Iterator(image)])

"""End-to-end runs of main.main on tiny synthetic data: training, resume, prediction, flags."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageSequence

import main
from conftest import SMALL_INPUT, read_log, run_main
from utils.data.tiff_io import read_stack
from utils.outputs import names

FIRST_KERNEL = 'downsample_block_0/conv1/kernel'


def progress_lines(records):
    return [r for r in records if r['type'] == 'metric' and isinstance(r['step'], int)]


def checkpoint_step(model_dir):
    return int(tf.train.load_variable(str(model_dir), 'global_step'))


@pytest.fixture(scope='module')
def trained(small_dataset, module_tmp_path):
    """One 40-step training run followed by prediction, shared by the tests that read it."""
    model_dir = module_tmp_path
    code = run_main(small_dataset, model_dir, '--cells', '--max_steps', 40, '--log_every', 5,
                    '--warmup_steps', 10, '--optimizer', 'adam', '--learning_rate', 0.0003,
                    exec_mode='train_and_predict')
    assert code == 0
    return model_dir


def test_loss_falls(trained):
    lines = progress_lines(read_log(trained))
    first = np.mean([r['data']['cross_entropy'] for r in lines[:2]])
    last = np.mean([r['data']['cross_entropy'] for r in lines[-2:]])
    # Falls by a tenth at least in 40 steps of batch 1 (0.705 -> 0.581 with seed 0); an
    # untrained or broken step stays near the first value.
    assert last < 0.9 * first, (first, last)


def test_max_steps_log_every_and_warmup_steps(trained):
    records = read_log(trained)
    assert checkpoint_step(trained) == 40
    assert [r['step'] for r in progress_lines(records)] == [5, 10, 15, 20, 25, 30, 35, 40]
    summary = [r for r in records if r.get('step') == 'train_summary']
    assert len(summary) == 1
    assert summary[0]['data']['measured_steps'] == 30
    assert summary[0]['data']['images_per_sec'] > 0


def test_prediction_outputs(trained, small_dataset):
    pred_dir = os.path.join(trained, 'pred')
    probs = read_stack_raw(os.path.join(pred_dir, names.PROBS_FILE))
    masks = read_stack(os.path.join(pred_dir, names.MASKS_FILE))
    assert probs.dtype == np.float32 and probs.shape == (2, 96, 96)
    assert probs.min() >= 0 and probs.max() <= 1
    assert masks.dtype == np.uint8 and set(np.unique(masks)) <= {0, 255}
    assert np.array_equal(masks == 255, probs >= 0.5)
    overlays = sorted(os.listdir(os.path.join(pred_dir, names.OVERLAY_DIR)))
    assert overlays == ['slice_000.png', 'slice_001.png']
    # The cells: labels at the slices' size in a type that holds them, and the closed mask
    # with their lines as membrane; the overlays show image, prediction, cells and labels.
    cells = read_stack_raw(os.path.join(pred_dir, names.CELLS_FILE))
    closed = read_stack(os.path.join(pred_dir, names.CLOSED_MASKS_FILE))
    assert cells.dtype == np.uint16 and cells.shape == (2, 96, 96) and cells.min() == 0
    assert np.array_equal(closed == 255, (probs >= 0.5) & (cells > 0))
    with Image.open(os.path.join(pred_dir, names.OVERLAY_DIR, overlays[0])) as overlay:
        assert overlay.size == (4 * 96, 96 + 14)
    metrics = json.load(open(os.path.join(pred_dir, names.METRICS_FILE)))
    assert metrics['step'] == 40
    # The Dice of the membranes written, against the test labels, worked out here.
    membrane = read_stack(os.path.join(small_dataset, 'test-labels.tif')) == 0
    predicted = probs < 0.5
    overlap = np.logical_and(predicted, membrane).sum()
    assert metrics['membrane_dice'] == pytest.approx(
        2 * overlap / (predicted.sum() + membrane.sum()), rel=1e-9)


def read_stack_raw(path):
    """Pages as stored, without read_stack's conversion to 8-bit."""
    with Image.open(path) as image:
        return np.stack([np.asarray(page) for page in ImageSequence.Iterator(image)])


def test_resume_continues_to_max_steps(small_dataset, tmp_path):
    assert run_main(small_dataset, tmp_path, '--max_steps', 2) == 0
    weights_at_2 = tf.train.load_variable(str(tmp_path), FIRST_KERNEL)
    assert run_main(small_dataset, tmp_path, '--max_steps', 4, '--log_every', 1) == 0
    assert checkpoint_step(tmp_path) == 4
    records = read_log(tmp_path)
    assert any('resuming from the checkpoint at step 2' in r.get('text', '') for r in records)
    # The second run logged steps 3 and 4 only: it did not start again from scratch.
    assert [r['step'] for r in progress_lines(records)][-2:] == [3, 4]
    assert not np.array_equal(weights_at_2, tf.train.load_variable(str(tmp_path), FIRST_KERNEL))
    assert run_main(small_dataset, tmp_path, '--max_steps', 4) == 0
    assert any('nothing to train' in r.get('text', '') for r in read_log(tmp_path))


def test_a_resumed_run_trains_what_an_uninterrupted_one_does(small_dataset, tmp_path):
    # Samples, augmentations and dropout masks all follow the step, not the process: the
    # weights after 4 steps do not depend on a restart at step 2.
    flags = ('--augment', '--optimizer', 'adam', '--learning_rate', 0.001)
    assert run_main(small_dataset, tmp_path / 'one_go', '--max_steps', 4, *flags) == 0
    for steps in (2, 4):
        assert run_main(small_dataset, tmp_path / 'resumed', '--max_steps', steps, *flags) == 0
    for name in (FIRST_KERNEL, 'bottleneck/double_conv/conv2/kernel'):
        assert np.array_equal(tf.train.load_variable(str(tmp_path / 'one_go'), name),
                              tf.train.load_variable(str(tmp_path / 'resumed'), name)), name


def _weights_after_one_step(data_dir, model_dir, *flags):
    assert run_main(data_dir, model_dir, '--max_steps', 1, *flags) == 0
    return tf.train.load_variable(str(model_dir), FIRST_KERNEL)


def test_seed_and_augment_change_the_run(small_dataset, tmp_path):
    base = _weights_after_one_step(small_dataset, tmp_path / 'a', '--seed', 3)
    same = _weights_after_one_step(small_dataset, tmp_path / 'b', '--seed', 3)
    other_seed = _weights_after_one_step(small_dataset, tmp_path / 'c', '--seed', 4)
    augmented = _weights_after_one_step(small_dataset, tmp_path / 'd', '--seed', 3, '--augment')
    assert np.array_equal(base, same)
    assert not np.allclose(base, other_seed)
    assert not np.allclose(base, augmented)


def test_predict_without_checkpoint_is_refused(small_dataset, tmp_path, capsys):
    assert run_main(small_dataset, tmp_path / 'empty', exec_mode='predict') == 2
    assert 'no checkpoint to predict with' in capsys.readouterr().err
    assert not (tmp_path / 'empty').exists()


def test_train_mode_does_not_predict(small_dataset, tmp_path):
    assert run_main(small_dataset, tmp_path, '--max_steps', 1) == 0
    assert not os.path.exists(os.path.join(tmp_path, 'pred'))


def test_summaries_hold_losses_learning_rate_and_images(trained):
    tags = set()
    for name in os.listdir(trained):
        if name.startswith('events.out.tfevents'):
            for event in tf.compat.v1.train.summary_iterator(os.path.join(trained, name)):
                tags.update(value.tag for value in event.summary.value)
    assert {'loss', 'cross_entropy', 'dice_loss', 'learning_rate'} <= tags
    assert {'input/image', 'label/image', 'prediction/image'} <= tags


@pytest.mark.parametrize('loss, what, terms', [
    ('weighted_ce_dice', 'weight map', ('weighted_cross_entropy', 'dice_loss')),
    ('ce_dice_skeleton', 'membrane skeletons', ('cross_entropy', 'dice_loss',
                                                'skeleton_recall'))])
def test_training_with_a_loss_that_reads_a_per_pixel_map(loss, what, terms, small_dataset,
                                                         tmp_path):
    model_dir = tmp_path / 'model'
    assert main.main(['--exec_mode', 'train', '--data_dir', small_dataset, '--model_dir',
                      str(model_dir), '--input_size', str(SMALL_INPUT), '--max_steps', '3',
                      '--log_every', '1', '--warmup_steps', '0', '--augment',
                      '--weight_decay', '0', '--loss', loss]) == 0
    records = [json.loads(line) for line in open(model_dir / 'log.jsonl')]
    assert any(r['type'] == 'message' and r['text'].startswith(
        f'--loss {loss}: {what} of 4 slices') for r in records)
    steps = [r['data'] for r in records if r['type'] == 'metric' and isinstance(r['step'], int)]
    assert len(steps) == 3
    for data in steps:
        assert all(data[term] > 0 for term in terms)
        assert data['loss'] == pytest.approx(sum(data[term] for term in terms), rel=1e-4)

"""The tf.data pipelines: training windows, sampling seeds, augmentation, prediction tiles."""
import numpy as np

from conftest import SMALL_INPUT
from model.sizes import output_size
from utils.data import input_fns
from utils.data.dataset import BACKGROUND, MEMBRANE, load_training_data


def _sampling(augment=False, seed=0, rank=0, batch_size=2, **more):
    return input_fns.Sampling(SMALL_INPUT, batch_size, seed, rank,
                              augmentation='full' if augment else None, **more)


def _train_batches(volume, classes, augment, seed=0, rank=0, batch_size=2, count=3,
                   pixel_weights=None):
    """The first `count` batches, as (images, classes) pairs or, with weights, triples."""
    input_fn = input_fns.train_input_fn(volume, classes,
                                        _sampling(augment, seed, rank, batch_size), pixel_weights)
    batches = [batch for batch, _ in zip(input_fn().as_numpy_iterator(), range(count))]
    return [(images, labels['classes']) +
            ((labels['pixel_weights'],) if 'pixel_weights' in labels else ())
            for images, labels in batches]


def test_training_windows_pair_image_with_the_label_under_its_output(small_dataset):
    volume, classes = load_training_data(small_dataset)
    # Make the label readable from the image: a membrane pixel is exactly black.
    volume = np.where(classes == MEMBRANE, 0, 200).astype(np.uint8)
    out = output_size(SMALL_INPUT)
    for images, labels in _train_batches(volume, classes, augment=False):
        assert images.shape == (2, SMALL_INPUT, SMALL_INPUT, 1)
        assert labels.shape == (2, out, out)
        assert images.min() >= -1 and images.max() <= 1
        border = (SMALL_INPUT - out) // 2
        centre = images[:, border:border + out, border:border + out, 0]
        assert np.array_equal(centre > -1, labels == BACKGROUND)


def test_training_samples_are_reproducible_and_depend_on_seed_and_rank(small_dataset):
    volume, classes = load_training_data(small_dataset)
    first = _train_batches(volume, classes, augment=True)
    again = _train_batches(volume, classes, augment=True)
    for (a_img, a_lab), (b_img, b_lab) in zip(first, again):
        assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    other_seed = _train_batches(volume, classes, augment=True, seed=1)
    other_rank = _train_batches(volume, classes, augment=True, rank=1)
    assert not np.array_equal(first[0][0], other_seed[0][0])
    assert not np.array_equal(first[0][0], other_rank[0][0])


def test_slices_of_different_sizes_give_windows_of_their_own_slice(small_dataset):
    _, classes = load_training_data(small_dataset)
    sizes = [(96, 96), (40, 72), (25, 96), (96, 30)]
    classes = [page[:h, :w] for page, (h, w) in zip(classes, sizes)]
    # Each slice's cells have a grey of their own; membranes are black in every slice.
    volume = [np.where(page == MEMBRANE, 0, 60 + 60 * i).astype(np.uint8)
              for i, page in enumerate(classes)]
    out = output_size(SMALL_INPUT)
    border = (SMALL_INPUT - out) // 2
    greys = set()
    for images, labels in _train_batches(volume, classes, augment=False, count=8):
        centre = images[:, border:border + out, border:border + out, 0]
        assert np.array_equal(centre > -1, labels == BACKGROUND)
        for window in images[..., 0]:  # Context included: mirrored from the same slice.
            cells = np.unique(window[window > -1])
            assert len(cells) == 1, cells
            greys.add(float(cells[0]))
    assert len(greys) >= 3  # Windows come from several slices.
    other_rank = _train_batches(volume, classes, augment=False, rank=1, count=1)
    assert not np.array_equal(other_rank[0][0], _train_batches(volume, classes, False,
                                                               count=1)[0][0])


def test_augment_changes_the_samples(small_dataset):
    volume, classes = load_training_data(small_dataset)
    plain = _train_batches(volume, classes, augment=False, count=1)[0][0]
    augmented = _train_batches(volume, classes, augment=True, count=1)[0][0]
    assert not np.array_equal(plain, augmented)


def test_contrast_augment_reaches_the_windows(small_dataset):
    volume, classes = load_training_data(small_dataset)
    plain = input_fns.train_input_fn(volume, classes, _sampling(True))
    contrast = input_fns.train_input_fn(volume, classes, _sampling(True, contrast=0.5))
    for (images, labels), (c_images, c_labels) in zip(
            [b for b, _ in zip(plain().as_numpy_iterator(), range(2))],
            [b for b, _ in zip(contrast().as_numpy_iterator(), range(2))]):
        assert np.array_equal(labels['classes'], c_labels['classes'])
        assert not np.allclose(images, c_images, atol=1e-3)


def test_sampling_of_params_carries_the_augmentation():
    from utils.runtime.params import Params
    params = Params(data_dir='d', augment=True, augmentation='flips', augment_steps=5,
                    contrast_augment=0.3, input_size=SMALL_INPUT)
    sampling = input_fns.Sampling.of(params, rank=1, first_step=4)
    assert (sampling.augmentation, sampling.augment_steps, sampling.contrast) == ('flips', 5, 0.3)
    assert (sampling.rank, sampling.first_sample) == (1, 4)
    assert input_fns.Sampling.of(Params(data_dir='d'), 0, 0).augmentation is None


def test_predict_input_fn_normalises_tiles():
    tiles = np.stack([np.full((188, 188), 0, np.uint8), np.full((188, 188), 255, np.uint8)])
    batches = list(input_fns.predict_input_fn(tiles, batch_size=2)().as_numpy_iterator())
    assert len(batches) == 1 and batches[0].shape == (2, 188, 188, 1)
    assert batches[0][0].max() == -1.0 and batches[0][1].min() == 1.0


def test_weights_are_cut_and_augmented_with_the_labels(small_dataset):
    volume, classes = load_training_data(small_dataset)
    # Weights equal to the labels: after any geometric transform the label must still be
    # the weight map re-binarised, and away from edges equal to it.
    weights = classes.astype(np.float32)
    for augment in (False, True):
        for images, labels, cut_weights in _train_batches(volume, classes, augment,
                                                          pixel_weights=weights, count=4):
            assert cut_weights.dtype == np.float32 and cut_weights.shape == labels.shape
            assert np.array_equal(labels, (cut_weights >= 0.5).astype(np.int32))
            assert np.mean(np.abs(cut_weights - labels)) < 0.1


def test_weights_do_not_change_images_or_labels(small_dataset):
    volume, classes = load_training_data(small_dataset)
    plain = _train_batches(volume, classes, augment=True)
    weighted = _train_batches(volume, classes, augment=True,
                              pixel_weights=np.ones(classes.shape, np.float32))
    for (images, labels), (w_images, w_labels, w) in zip(plain, weighted):
        assert np.allclose(images, w_images) and np.array_equal(labels, w_labels)
        assert np.allclose(w, 1.0)


def test_a_resumed_stream_continues_where_the_run_stopped(small_dataset):
    volume, classes = load_training_data(small_dataset)
    whole = input_fns.train_input_fn(volume, classes, _sampling(augment=True))
    resumed = input_fns.train_input_fn(volume, classes, _sampling(
        augment=True, first_sample=2 * 2))  # Resumed at step 2.
    batches = [b for b, _ in zip(whole().as_numpy_iterator(), range(4))]
    continued = [b for b, _ in zip(resumed().as_numpy_iterator(), range(2))]
    for (images, labels), (c_images, c_labels) in zip(batches[2:], continued):
        assert np.array_equal(images, c_images)
        assert np.array_equal(labels['classes'], c_labels['classes'])


def test_augment_steps_augments_only_the_first_steps(small_dataset):
    volume, classes = load_training_data(small_dataset)

    def batches(augment, augment_steps=0):
        input_fn = input_fns.train_input_fn(volume, classes, _sampling(
            augment, augment_steps=augment_steps))
        return [b for b, _ in zip(input_fn().as_numpy_iterator(), range(4))]

    plain, augmented, switched = batches(False), batches(True), batches(True, augment_steps=2)
    # Steps 0-1 as with --augment throughout, steps 2-3 the same windows unaugmented.
    for step, (images, labels) in enumerate(switched):
        expected_images, expected_labels = (augmented if step < 2 else plain)[step]
        other_images = (plain if step < 2 else augmented)[step][0]
        assert np.array_equal(images, expected_images)
        assert np.array_equal(labels['classes'], expected_labels['classes'])
        assert not np.array_equal(images, other_images)
    # Resumed after the switch, the stream stays unaugmented.
    resumed = input_fns.train_input_fn(volume, classes, _sampling(
        augment=True, first_sample=3 * 2, augment_steps=2))
    images, _ = next(resumed().as_numpy_iterator())
    assert np.array_equal(images, plain[3][0])


def test_flips_only_windows_are_the_plain_ones_turned_or_mirrored(small_dataset):
    volume, classes = load_training_data(small_dataset)
    input_fn = input_fns.train_input_fn(volume, classes, input_fns.Sampling(
        SMALL_INPUT, 2, 0, augmentation='flips'))
    flipped = [b for b, _ in zip(input_fn().as_numpy_iterator(), range(3))]
    plain = _train_batches(volume, classes, augment=False)
    moved = 0
    for (_, labels), (_, plain_labels) in zip(flipped, plain):
        for label, plain_label in zip(labels['classes'], plain_labels):
            turns = [np.rot90(plain_label, k) for k in range(4)]
            assert any(np.array_equal(label, t) for t in turns + [t[:, ::-1] for t in turns])
            moved += not np.array_equal(label, plain_label)
    assert moved  # Augmented, not passed through.

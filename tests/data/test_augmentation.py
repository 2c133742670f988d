"""Each augmentation moves image and mask together, from its seed alone."""
import functools

import numpy as np
import pytest
import tensorflow as tf

from utils.data import augmentation

SIZE = 204


def _pattern():
    """An asymmetric binary pattern (mask) and an image made from it, so alignment is visible."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    mask = (((rows // 17) + (cols // 23)) % 2 == 0) | ((rows < 40) & (cols < 90))
    mask = mask.astype(np.float32)[..., None]
    image = (mask * 1.6 - 0.8).astype(np.float32)
    return tf.constant(image), tf.constant(mask)


def _seed(value):
    return tf.constant([value, 7], tf.int64)


FLIPS_ONLY = functools.partial(augmentation.augment, kind='flips')


def _dihedral(array):
    """The 8 mirror images and quarter turns of an `[S, S, C]` array."""
    turns = [np.rot90(array, k) for k in range(4)]
    return turns + [turn[:, ::-1] for turn in turns]


@pytest.mark.parametrize('transform', [augmentation.augment, FLIPS_ONLY, augmentation.deform,
                                       augmentation.flip_left_right, augmentation.flip_up_down,
                                       augmentation.transpose])
def test_image_and_mask_stay_aligned(transform):
    image, mask = _pattern()
    for value in range(6):
        out_image, out_mask = transform(image, mask, _seed(value))
        out_image, out_mask = out_image.numpy(), out_mask.numpy()
        assert set(np.unique(out_mask)) <= {0.0, 1.0}
        # The image was a function of the mask, so it must still be; only pixels on a
        # pattern edge may disagree through interpolation (and a brightness shift of the
        # whole image keeps the sign of +-0.8 values).
        agreement = np.mean((out_image > 0) == (out_mask > 0.5))
        assert agreement > 0.97, (transform.__name__, value, agreement)


def test_same_seed_same_result_other_seed_other_result():
    image, mask = _pattern()
    first = augmentation.augment(image, mask, _seed(3))
    again = augmentation.augment(image, mask, _seed(3))
    other = augmentation.augment(image, mask, _seed(4))
    assert np.array_equal(first[0].numpy(), again[0].numpy())
    assert np.array_equal(first[1].numpy(), again[1].numpy())
    assert not np.array_equal(first[0].numpy(), other[0].numpy())


def test_deform_moves_pixels():
    image, mask = _pattern()
    out_image, _ = augmentation.deform(image, mask, _seed(1))
    assert np.mean(out_image.numpy() != image.numpy()) > 0.2


def test_brightness_shifts_and_clips_image_only():
    image, mask = _pattern()
    shifts = set()
    for value in range(5):
        out_image, out_mask = augmentation.adjust_brightness(image, mask, _seed(value))
        out_image = out_image.numpy()
        assert out_image.min() >= -1.0 and out_image.max() <= 1.0
        assert np.array_equal(out_mask.numpy(), mask.numpy())
        shifts.add(round(float(out_image[0, 0, 0] - image.numpy()[0, 0, 0]), 6))
    assert len(shifts) == 5
    assert all(abs(s) <= augmentation.BRIGHTNESS_DELTA + 1e-6 for s in shifts)


def _ramp():
    """A smooth image of every grey, so any change of intensities shows."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    image = ((rows + 0.5 * cols) / (1.5 * SIZE) * 1.8 - 0.9).astype(np.float32)[..., None]
    return tf.constant(image), tf.constant(np.zeros_like(image))


def test_contrast_flattens_and_sharpens_keeping_the_order_of_greys():
    image, mask = _ramp()
    flat = image.numpy().ravel()
    order = np.argsort(flat, kind='stable')
    spreads = []
    for value in range(30):
        out_image, out_mask = augmentation.adjust_contrast(image, mask, _seed(value), 0.5)
        out = out_image.numpy().ravel()
        assert out.min() >= -1.0 and out.max() <= 1.0
        assert np.array_equal(out_mask.numpy(), mask.numpy())
        assert np.all(np.diff(out[order]) >= -1e-6)  # A monotone map: no grey overtakes another.
        spreads.append(out.std() / flat.std())
    # Some draws flatten the window and some sharpen it, within what the strength allows.
    assert min(spreads) < 0.8 and max(spreads) > 1.15
    assert max(spreads) < 1.5 * 1.5 + 1e-6
    weak = [augmentation.adjust_contrast(image, mask, _seed(v), 0.05)[0].numpy().std()
            / flat.std() for v in range(30)]
    assert 0.85 < min(weak) and max(weak) < 1.15


def test_contrast_adds_to_the_same_draws_and_changes_greys_only():
    image, mask = _pattern()
    # A gradient inside each half of the pattern, so a gamma has something to bend.
    image = image + tf.constant(np.linspace(-0.15, 0.15, SIZE, dtype=np.float32)[None, :, None])
    for value in range(6):
        plain_image, plain_mask = augmentation.augment(image, mask, _seed(value))
        image_c, mask_c = augmentation.augment(image, mask, _seed(value), contrast=0.5)
        # The geometry and the brightness draws are those of the run without contrast.
        assert np.array_equal(mask_c.numpy(), plain_mask.numpy())
        assert not np.allclose(image_c.numpy(), plain_image.numpy(), atol=1e-3)
        assert np.mean((image_c.numpy() > 0) == (mask_c.numpy() > 0.5)) > 0.97
    off = augmentation.augment(image, mask, _seed(2), contrast=0.0)
    assert np.array_equal(off[0].numpy(), augmentation.augment(image, mask, _seed(2))[0].numpy())


def test_flips_happen_for_some_seeds_and_not_others():
    image, mask = _pattern()
    flipped = [not np.array_equal(augmentation.flip_left_right(image, mask, _seed(v))[0].numpy(),
                                  image.numpy()) for v in range(16)]
    assert any(flipped) and not all(flipped)


def test_flips_only_moves_pixels_whole_into_all_8_orientations():
    image, mask = _pattern()
    candidates = list(zip(_dihedral(image.numpy()), _dihedral(mask.numpy())))
    seen = set()
    for value in range(40):
        out_image, out_mask = (t.numpy() for t in FLIPS_ONLY(image, mask, _seed(value)))
        matches = [i for i, (_, m) in enumerate(candidates) if np.array_equal(out_mask, m)]
        assert len(matches) == 1, value
        moved = candidates[matches[0]][0]
        # Nothing resampled: the image is the moved one plus one brightness shift (the
        # pattern's +-0.8 never reaches the clip).
        shift = out_image - moved
        assert np.allclose(shift, shift[0, 0, 0], atol=1e-6)
        assert abs(shift[0, 0, 0]) <= augmentation.BRIGHTNESS_DELTA + 1e-6
        seen.add(matches[0])
    assert seen == set(range(8))


def test_an_unknown_kind_is_an_error():
    image, mask = _pattern()
    with pytest.raises(ValueError, match="unknown augmentation 'warp'"):
        augmentation.augment(image, mask, _seed(0), kind='warp')

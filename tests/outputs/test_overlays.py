"""Overlays say what they show: each panel under its title, the labels' only where known."""
import numpy as np

from utils.outputs import overlays

IMAGE = np.tile(np.arange(0, 240, 4, dtype=np.uint8), (60, 1))  # 60x60, a grey ramp.
PROBS = np.ones((60, 60), np.float32)
PROBS[:, 30] = 0.0  # One predicted membrane line.
CLASSES = np.ones((60, 60), np.uint8)
CLASSES[20, :] = 0  # One labelled membrane line.


def _titled_panels(picture, count):
    pixels = np.asarray(picture)
    band, rows = pixels[:overlays.TITLE_BAND], pixels[overlays.TITLE_BAND:]
    return [(band[:, i * 60:(i + 1) * 60], rows[:, i * 60:(i + 1) * 60]) for i in range(count)]


def test_image_prediction_and_labels_each_under_a_title():
    picture = overlays.panels(IMAGE, PROBS, CLASSES)
    assert picture.size == (3 * 60, 60 + overlays.TITLE_BAND)
    (band0, image), (band1, predicted), (band2, labelled) = _titled_panels(picture, 3)
    for band in (band0, band1, band2):
        assert (band < 128).any() and (band == 255).any()  # dark text on white
    assert np.array_equal(image, np.repeat(IMAGE[..., None], 3, axis=-1))
    red = predicted[..., 0].astype(int) - predicted[..., 1]
    assert (red[:, 30] > 50).all() and (red[:, :30] == 0).all()
    red = labelled[..., 0].astype(int) - labelled[..., 1]
    assert (red[20] > 50).all() and (red[:20] == 0).all()


def test_without_labels_two_panels():
    picture = overlays.panels(IMAGE, PROBS)
    assert picture.size == (2 * 60, 60 + overlays.TITLE_BAND)
    assert overlays.TITLES[:2] == ('image', 'prediction (membranes in red)')


def test_the_test_volumes_overlays_are_titled(tmp_path):
    directory = overlays.write_overlays(str(tmp_path), IMAGE[None], PROBS[None], CLASSES[None])
    from PIL import Image
    with Image.open(f'{directory}/slice_000.png') as written:
        assert written.size == (3 * 60, 60 + overlays.TITLE_BAND)
        assert np.array_equal(np.asarray(written), np.asarray(overlays.panels(
            IMAGE, PROBS, CLASSES)))

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
    (_, image), (_, predicted) = _titled_panels(picture, 2)
    assert np.array_equal(image, np.repeat(IMAGE[..., None], 3, axis=-1))
    assert np.array_equal(predicted, overlays.overlay(IMAGE, PROBS < 0.5))


CELLS = np.ones((60, 60), np.int32)
CELLS[:, 31:] = 2
CELLS[:, 30] = 0  # The line between cell 1 and cell 2.


def test_cells_panel_between_prediction_and_labels():
    picture = overlays.panels(IMAGE, PROBS, CLASSES, cells=CELLS)
    assert picture.size == (4 * 60, 60 + overlays.TITLE_BAND)
    panels = _titled_panels(picture, 4)
    red = panels[3][1][..., 0].astype(int) - panels[3][1][..., 1]
    assert (red[20] > 50).all()  # the labels stay last
    band, cells = panels[2]
    assert (band < 128).any()
    assert (cells[:, 30] == 0).all()  # lines in black
    # Take the grey away: what is left is one colour per cell, a different one each.
    grey = np.repeat(IMAGE[..., None].astype(float), 3, axis=-1)
    colour = cells.astype(float) - 0.55 * grey
    first, second = colour[:, :30].reshape(-1, 3), colour[:, 31:].reshape(-1, 3)
    assert np.ptp(first, axis=0).max() < 1.5 and np.ptp(second, axis=0).max() < 1.5  # rounding
    assert np.abs(first[0] - second[0]).max() > 20


def test_a_cell_keeps_its_colour_across_pictures():
    renumbered = np.where(CELLS == 2, 7, CELLS)
    one = overlays.cell_colours(IMAGE, CELLS)
    other = overlays.cell_colours(IMAGE, renumbered)
    assert np.array_equal(one[:, :30], other[:, :30])
    assert not np.array_equal(one[:, 31:], other[:, 31:])


def test_the_test_volumes_overlays_are_titled(tmp_path):
    directory = overlays.write_overlays(str(tmp_path), IMAGE[None], PROBS[None], CLASSES[None])
    from PIL import Image
    with Image.open(f'{directory}/slice_000.png') as written:
        assert written.size == (3 * 60, 60 + overlays.TITLE_BAND)
        assert np.array_equal(np.asarray(written), np.asarray(overlays.panels(
            IMAGE, PROBS, CLASSES)))

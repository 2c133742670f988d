"""Test-time augmentation: each of the 8 transforms is inverted exactly, and --tta runs."""
import numpy as np
import pytest

from model.sizes import BORDER, output_size
from utils.data.dataset import BACKGROUND
from utils.run import tiled_prediction, tta

# No symmetry at all: every transform of it is a different array.
PATTERN = np.arange(5 * 7, dtype=np.float32).reshape(1, 5, 7) ** 1.5


@pytest.mark.parametrize('transform', tta.TRANSFORMS)
def test_each_transform_is_inverted_exactly(transform):
    transformed = tta.apply(PATTERN, transform)
    assert np.array_equal(tta.invert(transformed, transform), PATTERN)


def test_the_8_transforms_are_the_dihedral_group():
    images = [tta.apply(PATTERN, t) for t in tta.TRANSFORMS]
    distinct = {(image.shape, image.tobytes()) for image in images}
    assert len(distinct) == 8
    assert np.array_equal(images[0], PATTERN)  # The identity comes first.


def _averaged(volume, output_of, batch_size):
    """utils.run.prediction's --tta average of every slice of `volume`, with a fake network
    whose P(background) of a batch of tiles is `output_of(batch)`."""
    tiles = tiled_prediction.BatchedTiles([volume], batch_size, tta.TRANSFORMS, read=iter)

    def predictions():
        for batch in tiles.batches():
            probabilities = np.zeros(output_size_of(batch) + (2,), np.float32)
            probabilities[..., BACKGROUND] = output_of(batch)
            yield {'probabilities': probabilities}
    return np.stack([probs for *_, probs in tiles.pages(predictions())])


def output_size_of(batch):
    return (len(batch),) + tuple(output_size(side) for side in batch.shape[1:])


def test_average_of_an_equivariant_map_is_the_map():
    volume = np.random.default_rng(0).integers(0, 256, (2, 6, 9), dtype=np.uint8)
    batches = []

    def centre(batch):  # The tile's own pixels under its output: equivariant.
        batches.append(len(batch))
        return batch[:, BORDER:-BORDER, BORDER:-BORDER].astype(np.float32) / 255
    assert np.allclose(_averaged(volume, centre, batch_size=4), volume / 255)
    assert batches == [4, 4, 4, 4]  # 2 slices x 8 views, one tile each, in full batches.


def test_average_cancels_what_depends_on_orientation():
    volume = np.zeros((1, 4, 4), np.uint8)
    column = np.arange(4, dtype=np.float32)  # A predictor biased left to right.
    averaged = _averaged(volume, lambda batch: np.broadcast_to(column, output_size_of(batch)),
                         batch_size=8)
    assert np.allclose(averaged, column.mean())

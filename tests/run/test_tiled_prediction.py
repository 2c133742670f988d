"""Tiled prediction in batches: large tiles go fewer to a batch, and batching changes no
output."""
import numpy as np

from conftest import identity_model
from utils.run import tiled_prediction


def test_large_tiles_go_fewer_to_a_batch_and_predict_the_same():
    """A 2048x2048 page is nine 876x876 tiles: two to a graph run at --batch_size 4, since
    the batch's pixels, not its count, bound the activations; the 512x512 pages after it still
    go four at a time. Batching changes no output."""
    rng = np.random.default_rng(5)
    pages = [rng.integers(0, 256, (2048, 2048), np.uint8)] + [
        rng.integers(0, 256, (512, 512), np.uint8) for _ in range(4)]
    batched = tiled_prediction.BatchedTiles([pages], 4, read=iter)
    shapes = [batch.shape for batch in batched.batches()]
    assert shapes == [(2, 876, 876)] * 4 + [(1, 876, 876), (4, 700, 700)]
    batched = tiled_prediction.BatchedTiles([pages], 4, read=iter)
    predicted = list(batched.pages(identity_model()(batched)))
    assert len(predicted) == 5
    for *_, page, probs in predicted:
        np.testing.assert_allclose(probs, page / 255, atol=1e-6)

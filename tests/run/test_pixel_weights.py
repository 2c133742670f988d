"""The per-pixel map each --loss reads, with the flags that shape it."""
import numpy as np
import pytest

from dllogger import Logger
from utils.data import weight_map
from utils.data.dataset import load_training_data
from utils.run.training import pixel_weights_of
from utils.runtime.params import Params


def _maps(data, **flags):
    return pixel_weights_of(Params(data_dir='d', **flags), Logger(), data)


def test_each_loss_gets_its_own_map(small_dataset):
    data = load_training_data(small_dataset)
    assert _maps(data, loss='ce_dice') is None
    assert np.array_equal(_maps(data, loss='weighted_ce_dice'), weight_map.weight_map(data[1]))
    assert np.array_equal(_maps(data, loss='ce_dice_skeleton'),
                          weight_map.membrane_skeletons(data[1]))
    assert _maps(None, loss='weighted_ce') is None  # Synthetic benchmark input brings its own.


def test_border_weight_reaches_the_weight_map(small_dataset):
    data = load_training_data(small_dataset)
    balance = weight_map.class_weights(data[1])[data[1]]
    paper = _maps(data, loss='weighted_ce') - balance
    larger = _maps(data, loss='weighted_ce', border_weight=30.0) - balance
    assert paper.max() > 1.0
    between = paper > 0.1  # Where the paper's term is not cut off, the new one is 3 times it.
    assert np.allclose(larger[between], 3.0 * paper[between], rtol=1e-4)


def test_the_default_border_weight_is_the_papers():
    assert Params(data_dir='d').border_weight == weight_map.W0 == pytest.approx(10.0)

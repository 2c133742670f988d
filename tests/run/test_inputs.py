"""What a run reads, checked before TensorFlow: --fold held out, the batch against the slices."""
import numpy as np
import pytest

from conftest import SMALL_INPUT
from utils.data import dataset
from utils.run import inputs as run_inputs
from utils.runtime.errors import DatasetError
from utils.runtime.params import Params


def test_batch_larger_than_the_data(small_dataset):
    volume, _ = dataset.load_training_data(small_dataset)
    with pytest.raises(DatasetError, match='--batch_size=5 is larger than the 4 training slices'):
        run_inputs.check_trainable(volume, SMALL_INPUT, 5, 'v.tif')


def test_load_inputs_holds_the_fold_out_of_training(small_dataset):
    params = Params(data_dir=small_dataset, exec_mode='train_and_evaluate', fold=1, num_folds=2,
                    input_size=SMALL_INPUT)
    inputs = run_inputs.load_inputs(params)
    volume, classes = dataset.load_training_data(small_dataset)
    assert np.array_equal(inputs.train[0], volume[:2]) and np.array_equal(inputs.train[1],
                                                                          classes[:2])
    assert np.array_equal(inputs.held_out[0], volume[2:]) and inputs.held_out_slices == (2, 3)
    assert inputs.test is None

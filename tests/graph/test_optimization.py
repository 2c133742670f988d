"""The learning rate at each step and its scaling with the number of processes."""
import dataclasses

import pytest
import tensorflow as tf

from utils.graph import optimization
from utils.runtime.distributed import Distributed
from utils.runtime.params import Params

PARAMS = Params(data_dir='unused', input_size=188, weight_decay=0.0)


def _rates(params, steps):
    with tf.Graph().as_default():
        step = tf.compat.v1.placeholder(tf.int64, [])
        rate = optimization.learning_rate_schedule(params, params.learning_rate, step)
        with tf.compat.v1.Session() as session:
            return [session.run(rate, {step: value}) for value in steps]


def test_cosine_schedule_warms_up_then_falls_to_zero_at_max_steps():
    params = dataclasses.replace(PARAMS, learning_rate=0.1, lr_schedule='cosine',
                                 lr_warmup_steps=10, max_steps=110)
    rates = _rates(params, (0, 4, 9, 10, 60, 110))
    expected = [0.01, 0.05, 0.1, 0.1, 0.05, 0.0]
    assert rates == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_warmup_ramps_the_inverse_time_decay():
    params = dataclasses.replace(PARAMS, learning_rate=0.1, decay_steps=10, decay_rate=1.0,
                                 lr_warmup_steps=4)
    rates = _rates(params, (0, 3, 10))
    assert rates == pytest.approx([0.1 * 0.25, 0.1 / 1.3, 0.1 / 2], rel=1e-5)


@pytest.mark.parametrize('scaling, expected', [('none', 0.01), ('linear', 0.08)])
def test_lr_scaling_multiplies_by_the_number_of_processes(scaling, expected):
    params = dataclasses.replace(PARAMS, learning_rate=0.01, lr_scaling=scaling)
    assert optimization.base_learning_rate(params, Distributed(size=8)) == pytest.approx(expected)
    assert optimization.base_learning_rate(params, Distributed(size=1)) == pytest.approx(0.01)

"""model_fn in isolation: EstimatorSpec per mode, the loss terms, the optimizer's updates."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from dllogger import Logger
from utils.graph import weight_average
from utils.graph.model_fn import LEARNING_RATE_NAME, build_model_fn
from utils.hooks.progress_hook import ProgressHook
from utils.runtime import precision
from utils.runtime.distributed import Distributed
from utils.runtime.params import Params

SIZE = 188


OUT = 4


PARAMS = Params(data_dir='unused', input_size=SIZE, weight_decay=0.0)


def _batch():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, SIZE, SIZE, 1)).astype(np.float32)
    labels = {'classes': rng.integers(0, 2, (2, OUT, OUT)).astype(np.int32),
              'pixel_weights': rng.uniform(0.5, 10, (2, OUT, OUT)).astype(np.float32)}
    return images, labels


class _Model:
    """One model_fn graph with its session, seeded so two instances start identical."""

    def __init__(self, mode, params=PARAMS, amp=precision.Amp()):
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.set_random_seed(0)
            images, labels = _batch()
            self.spec = build_model_fn(Logger(), Distributed(), amp)(
                tf.constant(images),
                None if mode == 'infer' else {k: tf.constant(v) for k, v in labels.items()},
                mode, params)
            self.session = tf.compat.v1.Session()
            self.session.run(tf.compat.v1.global_variables_initializer())

    def run(self, fetches):
        return self.session.run(fetches)

    def kernels(self):
        with self.graph.as_default():
            return self.run([v for v in tf.compat.v1.trainable_variables()
                             if v.name.endswith('kernel:0')])

    def first_kernel(self):
        return self.kernels()[0]


def test_predict_spec_gives_probabilities():
    model = _Model(tf.estimator.ModeKeys.PREDICT)
    probabilities = model.run(model.spec.predictions['probabilities'])
    assert probabilities.shape == (2, OUT, OUT, 2) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_train_spec_has_scalar_loss_train_op_and_progress_hook():
    model = _Model(tf.estimator.ModeKeys.TRAIN)
    assert model.spec.loss.shape == ()
    assert model.spec.train_op is not None
    assert any(isinstance(h, ProgressHook) for h in model.spec.training_hooks)
    loss = model.run(model.spec.loss)
    assert np.isfinite(loss) and loss > 0


def test_weight_decay_adds_half_the_squared_kernel_norm():
    plain = _Model(tf.estimator.ModeKeys.TRAIN)
    decayed = _Model(tf.estimator.ModeKeys.TRAIN, dataclasses.replace(PARAMS, weight_decay=0.01))
    expected = 0.01 * sum(np.sum(k.astype(np.float64) ** 2) / 2 for k in plain.kernels())
    difference = decayed.run(decayed.spec.loss) - plain.run(plain.spec.loss)
    assert difference == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize('loss, terms', [
    ('ce_dice', ('cross_entropy', 'dice_loss')),
    ('weighted_ce', ('weighted_cross_entropy',)),
    ('weighted_ce_dice', ('weighted_cross_entropy', 'dice_loss')),
    ('ce_dice_skeleton', ('cross_entropy', 'dice_loss', 'skeleton_recall'))])
def test_loss_adds_the_terms_of_its_choice(loss, terms):
    model = _Model(tf.estimator.ModeKeys.TRAIN, dataclasses.replace(PARAMS, loss=loss))
    hook = next(h for h in model.spec.training_hooks if isinstance(h, ProgressHook))
    values = model.run(dict(hook._tensors, total=model.spec.loss))  # One run: one dropout draw.
    assert values['total'] == pytest.approx(sum(values[t] for t in terms), rel=1e-6)
    assert 'cross_entropy' in values  # Logged in every case, for comparison across runs.


@pytest.mark.parametrize('learning_rate, decay_steps, decay_rate', [
    (0.01, 5000, 0.95), (0.1, 10, 1.0), (0.02, 100, 0.0)])
def test_learning_rate_follows_inverse_time_decay(learning_rate, decay_steps, decay_rate):
    params = dataclasses.replace(PARAMS, learning_rate=learning_rate, decay_steps=decay_steps,
                                 decay_rate=decay_rate)
    model = _Model(tf.estimator.ModeKeys.TRAIN, params)
    with model.graph.as_default():
        step = tf.compat.v1.train.get_global_step()
        rate = model.graph.get_tensor_by_name(LEARNING_RATE_NAME + ':0')
        for value in (0, 20, 1000):
            model.run(step.assign(value))
            expected = learning_rate / (1 + decay_rate * value / decay_steps)
            assert model.run(rate) == pytest.approx(expected, rel=1e-6)


def _kernels_after_steps(params, steps):
    model = _Model(tf.estimator.ModeKeys.TRAIN, params)
    history = []
    for _ in range(steps):
        model.run(model.spec.train_op)
        history.append(model.first_kernel())
    return history


def test_momentum_changes_the_second_update_not_the_first():
    slow = _kernels_after_steps(dataclasses.replace(PARAMS, momentum=0.0), 2)
    fast = _kernels_after_steps(dataclasses.replace(PARAMS, momentum=0.9), 2)
    np.testing.assert_allclose(slow[0], fast[0], rtol=1e-6, atol=1e-7)
    assert not np.allclose(slow[1], fast[1], rtol=1e-6, atol=1e-7)


def test_optimizer_adam_updates_differently():
    momentum = _kernels_after_steps(PARAMS, 1)[0]
    adam = _kernels_after_steps(dataclasses.replace(PARAMS, optimizer='adam',
                                                    learning_rate=1e-3), 1)[0]
    assert not np.allclose(momentum, adam)


def test_ema_decay_averages_every_weight_after_each_step():
    decay = 0.5
    model = _Model(tf.estimator.ModeKeys.TRAIN, dataclasses.replace(PARAMS, ema_decay=decay))
    with model.graph.as_default():
        weights = tf.compat.v1.trainable_variables()
        averages = {v.op.name: v for v in tf.compat.v1.global_variables()
                    if v.op.name.endswith('/' + weight_average.AVERAGE_NAME)}
    assert sorted(averages) == sorted(f'{v.op.name}/{weight_average.AVERAGE_NAME}'
                                      for v in weights)
    kernel = weights[0]
    average = averages[f'{kernel.op.name}/{weight_average.AVERAGE_NAME}']
    expected = model.run(kernel)  # An average starts at its weight's initial value.
    for step in (1, 2, 3):
        model.run(model.spec.train_op)
        # The decay ramps up with the step count, at most --ema_decay.
        rate = min(decay, (1 + step) / (10 + step))
        expected = rate * expected + (1 - rate) * model.run(kernel)
        np.testing.assert_allclose(model.run(average), expected, rtol=1e-5, atol=1e-7)
    assert not np.allclose(model.run(average), model.run(kernel))


def test_float16_amp_adds_dynamic_loss_scaling():
    # What --use_amp gives on a GPU; on this CPU the float16 rewrite has nothing to move, so
    # this checks the optimizer side: a dynamic loss scale that training updates.
    model = _Model(tf.estimator.ModeKeys.TRAIN, amp=precision.Amp(precision.FLOAT16))
    with model.graph.as_default():
        scales = [v for v in tf.compat.v1.global_variables() if 'loss_scale' in v.name]
    assert scales
    losses = [model.run([model.spec.train_op, model.spec.loss])[1] for _ in range(3)]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    # bfloat16 needs no loss scaling; in NVIDIA's container, the container scales instead.
    for amp in (precision.Amp(precision.BFLOAT16),
                precision.Amp(precision.FLOAT16, by_container=True)):
        plain = _Model(tf.estimator.ModeKeys.TRAIN, amp=amp)
        with plain.graph.as_default():
            assert not [v for v in tf.compat.v1.global_variables() if 'loss_scale' in v.name]

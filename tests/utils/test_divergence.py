"""A NaN or Inf loss or gradient stops training before the update, with a message naming the
step, the learning rate and the AMP state; no checkpoint ever holds non-finite weights."""
import os
import re

import numpy as np
import tensorflow as tf

import main
from conftest import SMALL_INPUT
from utils.divergence import finite_guard


def test_a_diverging_run_stops_with_the_step_and_no_poisoned_checkpoint(small_dataset, tmp_path,
                                                                       capsys):
    model_dir = tmp_path / 'model'
    code = main.main(['--exec_mode', 'train_and_predict', '--data_dir', small_dataset,
                      '--model_dir', str(model_dir), '--input_size', str(SMALL_INPUT),
                      '--max_steps', '30', '--learning_rate', '1e4', '--log_every', '1',
                      '--warmup_steps', '0', '--save_checkpoints_steps', '1'])
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1, err
    match = re.fullmatch(
        r'error: training diverged at step (\d+): loss \S+, gradient norm \S+, learning rate '
        r'[\d.e+]+ \(--optimizer momentum\), AMP off; stopped before the update reached the '
        r'weights \(newest checkpoint: step (\d+)\); lower --learning_rate, or try --optimizer '
        r'adam\n', err)
    assert match, err
    step, newest = int(match.group(1)), int(match.group(2))
    assert 1 < step < 30 and newest == step - 1
    state = tf.train.get_checkpoint_state(str(model_dir))
    for path in state.all_model_checkpoint_paths:
        reader = tf.train.load_checkpoint(path)
        for name, dtype in reader.get_variable_to_dtype_map().items():
            if dtype.is_floating:
                assert np.all(np.isfinite(reader.get_tensor(name))), (path, name)
    assert not os.path.exists(model_dir / 'pred')  # Training failed: nothing was predicted.


def _guard_passes(loss, gradients):
    with tf.Graph().as_default():
        guard = finite_guard(tf.constant(loss), [tf.constant(g) for g in gradients],
                             tf.constant(4, tf.int64), tf.constant(0.5), 'bfloat16')
        with tf.compat.v1.Session() as session:
            try:
                session.run(guard)
                return True
            except tf.errors.InvalidArgumentError as err:
                assert 'DIVERGED step=5 learning_rate=0.5' in err.message
                assert 'amp=bfloat16' in err.message
                return False


def test_finite_guard_checks_loss_and_gradients():
    assert _guard_passes(1.0, [[1.0, 2.0], [3.0]])
    assert not _guard_passes(np.nan, [[1.0]])
    assert not _guard_passes(np.inf, [[1.0]])
    assert not _guard_passes(1.0, [[1.0, np.nan]])
    assert not _guard_passes(1.0, [[np.inf], [1.0]])
    assert _guard_passes(1.0, [])  # float16 runs leave gradients to loss scaling.

"""A run whose loss turns NaN stops before the update, with one line, and keeps no poisoned
checkpoint."""
import os
import re

import numpy as np
import tensorflow as tf

import main
from conftest import SMALL_INPUT


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

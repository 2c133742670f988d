"""Training with --eval_every: held-out scores during training, in the log and TensorBoard,
and the best checkpoint by V_rand kept whole in <model_dir>/best."""
import json
import os

import tensorflow as tf

import main
from conftest import SMALL_INPUT
from utils.outputs import names


def test_evaluations_during_training_and_the_best_checkpoint(small_dataset, tmp_path):
    model_dir = tmp_path / 'model'
    assert main.main(['--exec_mode', 'train_and_evaluate', '--cells', '--data_dir',
                      small_dataset, '--model_dir', str(model_dir), '--input_size',
                      str(SMALL_INPUT), '--warmup_steps', '0', '--max_steps', '7',
                      '--eval_every', '3', '--fold', '1', '--num_folds', '2', '--optimizer', 'adam',
                      '--learning_rate', '0.001', '--save_checkpoints_steps', '100']) == 0
    records = [json.loads(line) for line in open(model_dir / 'log.jsonl')]
    evaluations = [r['data'] for r in records if r['type'] == 'metric'
                   and r['step'] == 'evaluate']
    assert len(evaluations) == 3
    resumes = [r for r in records if r['type'] == 'message' and 'resuming' in r['text']]
    assert not resumes  # Stretches of one run continue; they do not "resume".

    # TensorBoard: the held-out scores at steps 3, 6 and 7.
    steps = {}
    for name in os.listdir(model_dir / 'eval'):
        if name.startswith('events.out.tfevents'):
            for event in tf.compat.v1.train.summary_iterator(str(model_dir / 'eval' / name)):
                for value in event.summary.value:
                    steps.setdefault(value.tag, []).append(event.step)
    assert steps['v_rand_thin'] == [3, 6, 7] and steps['v_info_thin'] == [3, 6, 7]
    assert steps['closed_v_rand_thin'] == steps['closed_v_info_thin'] == [3, 6, 7]  # cells

    # best/ holds the checkpoint of the best evaluation, whole, with its metrics.
    kept = json.loads((model_dir / 'best' / names.METRICS_FILE).read_text())
    assert kept['v_rand_thin'] == max(e['v_rand_thin'] for e in evaluations)
    best_checkpoint = tf.train.latest_checkpoint(str(model_dir / 'best'))
    assert int(tf.train.load_variable(best_checkpoint, 'global_step')) == kept['step']
    assert not [p for p in os.listdir(model_dir) if p.startswith('.best')]
    # The latest scores are in eval/metrics.json.
    latest = json.loads((model_dir / 'eval' / 'metrics.json').read_text())
    assert latest['step'] == 7

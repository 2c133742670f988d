"""--use_amp and --use_xla on the executed graph of real runs."""
import os
import subprocess
import sys

import numpy as np
import pytest

import main
from conftest import ROOT, SMALL_INPUT, read_log
from utils.hooks.executed_graph_hook import RECORD
from utils.runtime import precision

REWRITE_LISTS = ('TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_DENYLIST_ADD',
                 'TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_INFERLIST_REMOVE')


def _benchmark(model_dir, *flags):
    """Two training steps and two inference batches of the real model, on synthetic tensors."""
    argv = ['--exec_mode', 'benchmark', '--model_dir', str(model_dir),
            '--input_size', str(SMALL_INPUT), '--max_steps', '2', '--warmup_steps', '1',
            *flags]
    assert main.main(argv) == 0
    records = read_log(model_dir)
    graphs = {r['data']['mode']: r['data'] for r in records if r.get('step') == RECORD}
    texts = [r['text'] for r in records if 'text' in r]
    return graphs, texts


@pytest.fixture()
def rewrite_lists(monkeypatch):
    """Restores the rewrite's list variables, which --use_amp sets in this process."""
    for variable in REWRITE_LISTS:
        monkeypatch.setenv(variable, '')


def test_amp_runs_convolutions_in_bfloat16_and_softmax_in_float32(tmp_path, monkeypatch,
                                                                  rewrite_lists):
    # This CPU emulates bfloat16, so --use_amp would fall back; pretend it is native.
    monkeypatch.setattr(precision, 'cpu_flags', lambda: {'avx512_bf16'})
    graphs, texts = _benchmark(tmp_path, '--use_amp')
    assert '--use_amp: bfloat16 mixed precision' in texts
    for mode, convolutions in (('train', 68), ('predict', 23)):
        assert graphs[mode]['convolution'] == {'bfloat16': convolutions}, mode
        assert set(graphs[mode]['softmax']) == {'float32'}, mode


def test_without_amp_everything_is_float32(tmp_path):
    graphs, _ = _benchmark(tmp_path)
    assert graphs['train']['convolution'] == {'float32': 68}
    assert graphs['predict']['convolution'] == {'float32': 23}
    assert graphs['train']['xla_clusters'] == 0


def test_amp_without_native_bfloat16_warns_and_stays_float32(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(precision, 'cpu_flags', lambda: {'avx512f'})
    graphs, texts = _benchmark(tmp_path, '--use_amp')
    assert precision.UNAVAILABLE in texts
    assert precision.UNAVAILABLE in capsys.readouterr().out
    assert graphs['train']['convolution'] == {'float32': 68}


def test_xla_compiles_clusters_and_trains(tmp_path):
    # A subprocess: TensorFlow reads TF_XLA_FLAGS once per process, and earlier tests in
    # this one have already run sessions.
    argv = [sys.executable, 'main.py', '--exec_mode', 'benchmark', '--model_dir', str(tmp_path),
            '--input_size', str(SMALL_INPUT), '--max_steps', '2', '--warmup_steps', '1',
            '--log_every', '1', '--use_xla']
    environ = {k: v for k, v in os.environ.items() if k != 'TF_XLA_FLAGS'}
    result = subprocess.run(argv, cwd=ROOT, env=environ, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    records = read_log(tmp_path)
    graphs = {r['data']['mode']: r['data'] for r in records if r.get('step') == RECORD}
    assert graphs['train']['xla_clusters'] > 0 and graphs['predict']['xla_clusters'] > 0
    losses = [r['data']['loss'] for r in records
              if isinstance(r.get('step'), int) and 'loss' in r['data']]
    assert len(losses) == 2 and all(np.isfinite(losses))

"""main.py's own decisions: the environment it sets before TensorFlow starts."""
import os

import main
from utils.runtime.params import Params


def test_configure_runtime_sets_the_cpu_jit_and_not_the_containers_switch(monkeypatch):
    for variable in ('TF_ENABLE_AUTO_MIXED_PRECISION', 'TF_XLA_FLAGS'):
        monkeypatch.setenv(variable, 'placeholder')
        monkeypatch.delenv(variable)
    main.configure_runtime(Params(use_amp=True, use_xla=True, exec_mode='benchmark'))
    assert 'TF_ENABLE_AUTO_MIXED_PRECISION' not in os.environ  # decide_amp's, on NGC only
    assert os.environ['TF_XLA_FLAGS'] == '--tf_xla_cpu_global_jit'
    monkeypatch.setenv('TF_XLA_FLAGS', '--tf_xla_auto_jit=2')
    main.configure_runtime(Params(use_xla=True, exec_mode='benchmark'))
    assert os.environ['TF_XLA_FLAGS'] == '--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit'

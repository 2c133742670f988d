"""Horovod stays optional for one process; a multi-process launch without it is an error."""
import subprocess
import sys

import pytest

from conftest import ROOT, SMALL_INPUT
from utils import distributed


def test_without_horovod_one_process_runs_alone(monkeypatch):
    monkeypatch.setattr(distributed, 'hvd', None)
    place, notice = distributed.init({})
    assert place == distributed.Distributed() and place.is_chief and place.size == 1
    assert 'Horovod is not installed' in notice


@pytest.mark.parametrize('variable', ['HOROVOD_SIZE', 'OMPI_COMM_WORLD_SIZE', 'PMI_SIZE'])
def test_without_horovod_a_multi_process_launch_is_refused(monkeypatch, variable):
    monkeypatch.setattr(distributed, 'hvd', None)
    with pytest.raises(RuntimeError, match=f'{variable}=4: a multi-process launch needs Horovod'):
        distributed.init({variable: '4'})


def test_with_horovod_a_single_process_is_size_one():
    place, notice = distributed.init({})
    assert place.horovod and place.size == 1 and place.rank == 0 and notice is None


_WITHOUT_HOROVOD = ('import sys\n'
                    'sys.modules["horovod"] = sys.modules["horovod.tensorflow"] = None\n'
                    'import main\n'
                    'sys.exit(main.main(sys.argv[1:]))\n')


def test_main_trains_without_horovod(small_dataset, tmp_path):
    result = subprocess.run(
        [sys.executable, '-c', _WITHOUT_HOROVOD, '--exec_mode', 'train', '--data_dir',
         small_dataset, '--model_dir', str(tmp_path), '--input_size', str(SMALL_INPUT),
         '--max_steps', '1'], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'Horovod is not installed: training as a single process' in result.stdout


def test_main_refuses_a_multi_process_launch_without_horovod(small_dataset, tmp_path):
    result = subprocess.run(
        [sys.executable, '-c', _WITHOUT_HOROVOD, '--data_dir', small_dataset, '--model_dir',
         str(tmp_path / 'model'), '--input_size', str(SMALL_INPUT)], cwd=ROOT,
        capture_output=True, text=True, timeout=300,
        env={'PATH': '/usr/bin:/bin', 'HOROVOD_SIZE': '2'})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(
        'error: HOROVOD_SIZE=2: a multi-process launch needs Horovod')
    assert not (tmp_path / 'model').exists()

"""main.py without Horovod: one process trains alone; a multi-process launch is refused."""
import subprocess
import sys

from conftest import ROOT, SMALL_INPUT

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

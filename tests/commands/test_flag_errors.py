"""A bad flag ends main.py in one line and exit code 2, before TensorFlow is imported."""
import subprocess
import sys

import main
from conftest import ROOT


def test_main_rejects_a_bad_flag_in_one_line(capsys, tmp_path):
    model_dir = tmp_path / 'model'
    assert main.main(['--data_dir', 'd', '--model_dir', str(model_dir), '--max_steps', '0']) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --max_steps=0 is invalid: expected an integer >= 1"
    assert not model_dir.exists()


def test_help_and_flag_errors_do_not_import_tensorflow():
    probe = ('import sys, main\n'
             'code = main.main(["--data_dir", "d", "--batch_size", "0"])\n'
             'assert "tensorflow" not in sys.modules\n'
             'sys.exit(code)\n')
    result = subprocess.run([sys.executable, '-c', probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == 'error: --batch_size=0 is invalid: expected an integer >= 1'

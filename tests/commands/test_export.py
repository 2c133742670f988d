"""--exec_mode export: a SavedModel that, loaded in a fresh process with utils.run.exported_unet,
gives predict's probabilities, for images of any size."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageSequence

import main
from conftest import ROOT, SMALL_INPUT
from utils.outputs import names


def _float_pages(path):
    with Image.open(path) as image:
        return np.stack([np.asarray(page, np.float32) for page in ImageSequence.Iterator(image)])


@pytest.fixture(scope='module')
def exported(small_dataset, module_tmp_path):
    """A trained model_dir with predictions, and the SavedModel exported from it."""
    model_dir = module_tmp_path / 'model'
    flags = ['--data_dir', small_dataset, '--model_dir', str(model_dir), '--input_size',
             str(SMALL_INPUT), '--warmup_steps', '0']
    assert main.main(flags + ['--exec_mode', 'train_and_predict', '--max_steps', '3']) == 0
    assert main.main(['--exec_mode', 'export', '--model_dir', str(model_dir)]) == 0
    (saved_model,) = os.listdir(model_dir / 'export')
    return model_dir, str(model_dir / 'export' / saved_model)


def test_the_exported_model_gives_predicts_probabilities(exported, small_dataset, tmp_path):
    model_dir, saved_model = exported
    output = tmp_path / 'probs.tif'
    child = subprocess.run(
        [sys.executable, '-m', 'utils.run.exported_unet', '--saved_model', saved_model, '--input',
         os.path.join(small_dataset, 'test-volume.tif'), '--output', str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    served = _float_pages(output)
    predicted = _float_pages(model_dir / 'pred' / names.PROBS_FILE)
    assert served.shape == predicted.shape == (2, 96, 96)
    assert np.abs(served - predicted).max() < 1e-4


_ANY_SIZE = '''
import json, sys
import numpy as np
from utils.run.exported_unet import ExportedUNet
unet = ExportedUNet(sys.argv[1])
shapes = {}
for h, w in [(1, 1), (5, 300), (97, 13), (130, 131)]:
    probs = unet(np.random.default_rng(0).integers(0, 256, (h, w)))
    assert probs.dtype == np.float32 and np.all((probs >= 0) & (probs <= 1)), (h, w)
    shapes[f'{h}x{w}'] = list(probs.shape)
print(json.dumps(shapes))
'''


def test_any_image_size(exported):
    _, saved_model = exported
    child = subprocess.run([sys.executable, '-c', _ANY_SIZE, saved_model], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    shapes = json.loads(child.stdout.strip().splitlines()[-1])
    assert shapes == {'1x1': [1, 1], '5x300': [5, 300], '97x13': [97, 13],
                      '130x131': [130, 131]}


def test_export_needs_a_checkpoint(tmp_path, capsys):
    assert main.main(['--exec_mode', 'export', '--model_dir', str(tmp_path / 'none')]) == 2
    assert 'no checkpoint to predict with' in capsys.readouterr().err

"""Running out of disk or memory: one line, exit code 2, nothing complete lost, nothing
half-written left behind, and the same command resumes once there is space.

The disks are real: tmpfs file systems of a chosen size, mounted by the test (it needs root,
as CI and the developers' machines have; elsewhere the tests skip and say so). A checkpoint
of the full U-Net with SGD's momentum takes about 237 MB whatever the input size.
"""
import errno
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
import tensorflow as tf

import main
from conftest import ROOT, SMALL_INPUT, wait_for_step
from dllogger import JsonLinesBackend
from utils.outputs import names, writers
from utils.outputs.scores import SCORE_NAMES
from utils.run import best_checkpoint
from utils.runtime import disk
from utils.runtime.errors import out_of_memory_message
from utils.runtime.flags import build_parser

CHECKPOINT_MB = 237
TRAIN = ['--exec_mode', 'train', '--input_size', str(SMALL_INPUT), '--log_every', '1',
         '--warmup_steps', '0']


@pytest.fixture()
def small_disk(tmp_path):
    """mount(megabytes) -> the path of a fresh tmpfs of that size; all unmounted afterwards."""
    mounted = []

    def mount(megabytes):
        if os.geteuid() != 0:
            pytest.skip('mounting a small tmpfs needs root')
        path = tmp_path / f'disk{len(mounted)}'
        path.mkdir()
        result = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={megabytes}m', 'tmpfs',
                                 str(path)], capture_output=True, text=True)
        if result.returncode:
            pytest.skip(f'this machine does not let root mount a tmpfs: {result.stderr}')
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(['umount', '-l', str(path)], capture_output=True)


def _resize(path, megabytes):
    subprocess.run(['mount', '-o', f'remount,size={megabytes}m', str(path)], check=True)


def _fill(mount, leave):
    """Leaves `leave` bytes free on `mount` with a filler file; returns its path."""
    filler = os.path.join(mount, 'filler')
    with open(filler, 'wb') as f:
        f.truncate(0)
    size = disk.free_bytes(mount) - leave
    with open(filler, 'wb') as f:
        f.write(b'\0' * size)
    return filler


def _main(argv, **popen):
    return subprocess.Popen([sys.executable, os.path.join(ROOT, 'main.py'), *argv], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _assert_one_line(err, pattern):
    print(err)  # The messages, for `pytest -rP` (docs/troubleshooting.md quotes them).
    lines = err.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in err, err
    assert re.fullmatch(pattern, lines[0]), lines[0]


def _assert_nothing_half_written(directory):
    leftovers = [os.path.join(root, name) for root, dirs, names in os.walk(directory)
                 for name in dirs + names
                 if '_temp' in name or name.startswith('.') or name.startswith('temp-')]
    assert not leftovers, leftovers


def _assert_checkpoints_whole(model_dir):
    steps = []
    for path in tf.train.get_checkpoint_state(str(model_dir)).all_model_checkpoint_paths:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
        steps.append(int(path.rsplit('-', 1)[1]))
    return steps


@pytest.mark.parametrize('which, flags, disk_mb, saved', [
    # ckpt-0 and ckpt-2 fit, ckpt-4 does not.
    ('periodic', ['--save_checkpoints_steps', '2', '--keep_checkpoint_max', '2'], 560, 2),
    # ckpt-0 fits, the one at --max_steps does not.
    ('final', ['--save_checkpoints_steps', '1000'], 330, 0),
])
def test_a_full_disk_during_training(which, flags, disk_mb, saved, small_dataset, small_disk):
    model_dir = small_disk(disk_mb) / 'model'
    command = [*TRAIN, '--data_dir', small_dataset, '--model_dir', str(model_dir),
               '--max_steps', '5', *flags]
    process = _main(command)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    stop = 4 if which == 'periodic' else 5
    _assert_one_line(err, (
        rf'error: {re.escape(str(model_dir))}: no space left on the device while writing '
        rf'checkpoint model\.ckpt-{stop} \(\d+ MB needed, \d+ MB free\); free some space, '
        rf'lower --keep_checkpoint_max \(\d\), or use another --model_dir; rerun the same '
        rf'command to resume from step {saved}'))
    _assert_nothing_half_written(model_dir)
    assert _assert_checkpoints_whole(model_dir)[-1] == saved

    _resize(model_dir.parent, 2000)
    rerun = _main(command)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert ('resuming from the checkpoint at step 2' in out) == (saved == 2)
    assert _assert_checkpoints_whole(model_dir)[-1] == 5


def test_a_full_disk_for_the_log_and_the_summaries(small_dataset, small_disk):
    mount = small_disk(CHECKPOINT_MB + 5)  # ckpt-0 and the graph fit, then a few steps' logs.
    model_dir = mount / 'model'
    command = [*TRAIN, '--data_dir', small_dataset, '--model_dir', str(model_dir),
               '--max_steps', '60', '--save_checkpoints_steps', '1000']
    process = _main(command)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    _assert_one_line(err, (
        rf'error: {re.escape(str(model_dir))}: no space left on the device while writing '
        rf'(log\.jsonl|events\.out\.tfevents\.\S+) \(\d+ KB free\); free some space, lower '
        rf'--keep_checkpoint_max \(5\), or use another --model_dir; rerun the same command to '
        rf'resume from step 0'))
    _assert_nothing_half_written(model_dir)
    assert _assert_checkpoints_whole(model_dir) == [0]
    _resize(mount, 1000)
    rerun = _main(command)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert _assert_checkpoints_whole(model_dir)[-1] == 60


def test_a_full_disk_at_the_checkpoint_of_a_sigterm(small_dataset, small_disk):
    model_dir = small_disk(330) / 'model'
    process = _main([*TRAIN, '--data_dir', small_dataset, '--model_dir', str(model_dir),
                     '--max_steps', '100000', '--save_checkpoints_steps', '100000'])
    wait_for_step(model_dir, 2, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2, err
    _assert_one_line(err, rf'error: {re.escape(str(model_dir))}: no space left on the device '
                          r'while writing checkpoint model\.ckpt-\d+ .*rerun the same command '
                          r'to resume from step 0')
    _assert_nothing_half_written(model_dir)
    assert _assert_checkpoints_whole(model_dir) == [0]


def test_a_full_disk_warned_about_before_the_first_step(small_dataset, small_disk):
    model_dir = small_disk(100) / 'model'
    process = _main([*TRAIN, '--data_dir', small_dataset, '--model_dir', str(model_dir),
                     '--max_steps', '1', '--keep_checkpoint_max', '3'])
    out, err = process.communicate(timeout=600)
    warning = [line for line in out.splitlines() if 'warning:' in line]
    # Before anything is built: ahead of the params record, let alone a step.
    assert len(warning) == 1 and out.index(warning[0]) < out.index('step params'), out
    assert re.search(rf'warning: {re.escape(str(model_dir))}: \d+ MB free, but this run\'s '
                     rf'checkpoints \(\d+ MB each, ', warning[0])
    assert 'up to 4 at once with --keep_checkpoint_max 3' in warning[0]
    # ... and then the disk is indeed full at the first checkpoint.
    assert process.returncode == 2 and 'while writing checkpoint model.ckpt-0' in err, err


@pytest.fixture(scope='module')
def trained(small_dataset, module_tmp_path):
    model_dir = module_tmp_path / 'trained'
    assert main.main([*TRAIN, '--data_dir', small_dataset, '--model_dir', str(model_dir),
                      '--max_steps', '1']) == 0
    return model_dir


def _copy_of_newest_checkpoint(trained, target):
    target.mkdir()
    newest = tf.train.latest_checkpoint(str(trained))
    for path in [p for p in os.listdir(trained) if p.startswith(os.path.basename(newest))]:
        shutil.copy2(trained / path, target)
    (target / 'checkpoint').write_text(
        f'model_checkpoint_path: "{os.path.basename(newest)}"\n')
    return target


def test_a_full_disk_while_writing_predictions(trained, small_dataset, small_disk):
    mount = small_disk(CHECKPOINT_MB + 20)
    model_dir = _copy_of_newest_checkpoint(trained, mount / 'model')
    _fill(mount, 40 * 1024)  # The logs fit; a 2x96x96 float32 stack (73 KB) does not.
    process = _main(['--exec_mode', 'predict', '--data_dir', small_dataset, '--model_dir',
                     str(model_dir)])
    out, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    probs = re.escape(str(model_dir / 'pred' / names.PROBS_FILE))
    _assert_one_line(err, rf'error: {probs}: no space left on the device while writing '
                          rf'{names.PROBS_FILE} \(\d+ KB free\); free some space, or use '
                          rf'another --model_dir')
    assert 'warning: ' + str(model_dir / 'pred') in out  # Said before predicting.
    _assert_nothing_half_written(model_dir)
    assert not os.listdir(model_dir / 'pred')


def test_a_full_disk_under_the_output_dir_of_input(trained, small_disk, tmp_path):
    from PIL import Image
    Image.new('L', (300, 300), 90).save(tmp_path / 'mine.png')
    out = small_disk(1) / 'segmented'
    out.mkdir()
    _fill(out.parent, 100 * 1024)  # a 300x300 float32 page takes 352 KB
    process = _main(['--exec_mode', 'predict', '--model_dir', str(trained), '--input',
                     str(tmp_path / 'mine.png'), '--output_dir', str(out)])
    stdout, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    _assert_one_line(err, rf'error: {re.escape(str(out / "mine_probs.tif"))}: no space left on '
                          rf'the device while writing the outputs of {re.escape(str(tmp_path))}'
                          r'/mine\.png \(\d+ KB free\); free some space, or use another '
                          r'--output_dir')
    assert 'warning: ' + str(out) in stdout  # Said before predicting.
    assert os.listdir(out) == []


def test_a_full_disk_while_exporting(trained, small_disk):
    mount = small_disk(CHECKPOINT_MB + 60)  # A SavedModel of the weights takes 119 MB.
    model_dir = _copy_of_newest_checkpoint(trained, mount / 'model')
    process = _main(['--exec_mode', 'export', '--model_dir', str(model_dir)])
    _, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    _assert_one_line(err, rf'error: {re.escape(str(model_dir / "export"))}: no space left on '
                          rf'the device while writing a SavedModel \(\d+ MB needed, \d+ MB '
                          rf'free\); free some space, or use another --model_dir')
    _assert_nothing_half_written(model_dir)
    assert os.listdir(model_dir / 'export') == []


def test_a_full_disk_while_keeping_the_best_checkpoint(small_disk):
    mount = small_disk(10)  # Room for three 3 MB checkpoints, not four.
    checkpoint = mount / 'model.ckpt-7'
    (mount / 'model.ckpt-7.data-00000-of-00001').write_bytes(os.urandom(3 * 2 ** 20))
    (mount / 'model.ckpt-7.index').write_bytes(b'index')
    best = mount / 'best'
    best_checkpoint.keep_best(str(best), str(checkpoint), {'v_rand_thin': 0.5})
    before = sorted(os.listdir(best))
    (mount / 'model.ckpt-9.data-00000-of-00001').write_bytes(os.urandom(3 * 2 ** 20 + 1))
    (mount / 'model.ckpt-9.index').write_bytes(b'index')
    with pytest.raises(disk.DiskFull, match=rf'^{re.escape(str(best))}: no space left on the '
                                             rf'device while writing a copy of the best '
                                             rf'checkpoint, model\.ckpt-9 \(3 MB needed'):
        best_checkpoint.keep_best(str(best), str(mount / 'model.ckpt-9'), {'v_rand_thin': 0.6})
    assert sorted(os.listdir(best)) == before  # The previous best, whole.
    assert best_checkpoint.best_score(str(best), 'v_rand_thin') == 0.5
    _assert_nothing_half_written(mount)


def test_a_full_disk_while_logging(small_disk):
    mount = small_disk(1)
    path = mount / 'log.jsonl'
    backend = JsonLinesBackend(str(path))
    backend.write({'step': 1})
    _fill(mount, 0)
    with pytest.raises(OSError) as raised:
        for step in range(2, 10000):
            backend.write({'step': step, 'text': 'x' * 100})
    backend.close()  # Nothing buffered to fail on again.
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(path)
    assert re.fullmatch(rf'{re.escape(str(path))}: no space left on the device while writing '
                        rf'log\.jsonl \(0 KB free\); free some space, or use another '
                        rf'--model_dir', disk.describe(raised.value))
    assert path.read_text().startswith('{"step": 1}\n')


def test_a_full_disk_never_truncates_an_output(small_disk):
    mount = small_disk(1)
    path = mount / names.METRICS_FILE
    writers.write_metrics(str(mount), {'dice': 0.5})
    before = path.read_bytes()
    _fill(mount, 0)
    with pytest.raises(disk.DiskFull, match=re.escape(f'{path}: no space left')):
        writers.write_metrics(str(mount), {'dice': 0.6, 'pad': 'x' * 100000})
    assert path.read_bytes() == before
    _assert_nothing_half_written(mount)


def test_a_full_disk_while_writing_the_cross_validation_summary(small_disk, capsys):
    """Two finished folds (their metrics written as a fold's run writes them), then a disk
    too full for the summary: one line, exit 2, no summary and no temporary left."""
    from utils.run import cross_validation
    results = small_disk(1)
    for fold in range(2):
        writers.write_metrics(str(results / f'fold_{fold}' / 'eval'), {
            'step': 2, 'fold': fold, **{name: 0.5 for name in SCORE_NAMES}})
    _fill(results, 0)
    command = ['python', 'main.py', '--exec_mode', 'train_and_evaluate', '--data_dir', 'd',
               '--num_folds', '2', '--max_steps', '2']
    assert cross_validation.main(['--results', str(results), '--', *command]) == 2
    out, err = capsys.readouterr()
    summary = re.escape(str(results / cross_validation.SUMMARY_JSON))
    _assert_one_line(err, rf'error: {summary}: no space left on the device while writing '
                          rf'{cross_validation.SUMMARY_JSON} \(0 KB free\); free some space, or '
                          r'use another --model_dir')
    assert out.count('finished earlier') == 2
    assert not (results / cross_validation.SUMMARY_JSON).exists()
    _assert_nothing_half_written(results)


def test_out_of_memory_is_one_line_naming_the_sizes(monkeypatch, tmp_path, small_dataset,
                                                    capsys):
    """Where TensorFlow catches a failed allocation it raises ResourceExhaustedError; here it
    is raised at the step (a real one would take this machine's whole memory first)."""
    from utils.run import runner

    def exhausted(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(
            None, None, 'OOM when allocating tensor with shape[4,64,570,570] and type float')

    monkeypatch.setattr(runner, 'run', exhausted)
    code = main.main([*TRAIN, '--data_dir', small_dataset, '--model_dir', str(tmp_path / 'm'),
                      '--batch_size', '4', '--max_steps', '1'])
    err = capsys.readouterr().err
    assert code == 2
    _assert_one_line(err, r'error: out of CPU memory \(a tensor of shape \[4,64,570,570\]\) '
                          rf'with --batch_size=4 --input_size={SMALL_INPUT}; try a smaller '
                          r'--batch_size or --input_size')
    gpu = out_of_memory_message('OOM when allocating tensor', build_parser().parse_args(
        ['--data_dir', 'd']), gpu_visible=True)
    assert gpu.startswith('out of GPU memory with') and gpu.endswith(', or --use_amp')

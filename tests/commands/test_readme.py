"""Every command of the README, run as written, in the order a user meets it, in a copy of the
recipe: shortened by flags where it trains, with the challenge's files served from this
machine. The Docker lines cannot run here: their paths are checked against each other."""
import functools
import http.server
import os
import re
import shlex
import shutil
import subprocess
import threading

import pytest

from conftest import ROOT, write_pairs
from utils.data import synthetic

SHORT = ['--input_size', '204', '--max_steps', '2', '--log_every', '1', '--warmup_steps', '0']
"""Flags that shorten a training command to two steps of small windows."""
SHORT_SCORED = SHORT + ['--eval_every', '2', '--save_checkpoints_steps', '2',
                        '--augment_steps', '1']
"""The same for the scored schedules, which evaluate every --eval_every steps."""
DOCKER = ('docker build', 'docker run', 'bash examples/unet_FP32_1GPU.sh . /data/')
"""The Docker lines, and the one run inside the container."""
CUDA = ('python3.11 -m venv', "pip install 'tensorflow[and-cuda]", 'HOROVOD_GPU_OPERATIONS=')
"""The lines for GPUs without Docker: they need CUDA, NCCL and a download of several GB."""
NOT_RUN_HERE = ('make test', 'make test-quick')
"""The suite itself."""


def _commands():
    """Every line of every bash block of the README, comments dropped, in order."""
    text = open(os.path.join(ROOT, 'README.md')).read()
    return [re.sub(r'\s+#.*$', '', line).strip()
            for block in re.findall(r'```bash\n(.*?)```', text, re.S)
            for line in block.splitlines() if line.strip()]


def _extra(command):
    """How the test shortens `command` (flags to append, environment), or None to skip it."""
    if command.startswith(DOCKER + CUDA + NOT_RUN_HERE):
        return None
    if command == 'make demo':
        return [], {'DEMO_FLAGS': ' '.join(SHORT)}
    if command.startswith('python download_dataset.py'):
        return ['--base_url', '{server}', '--skip_checksum'], {}
    if 'TRAIN_EVAL_CV' in command:
        return SHORT_SCORED + ['--num_folds', '2'], {}
    if 'TRAIN_EVAL' in command:
        return SHORT_SCORED, {}
    if '8GPU' in command:
        return SHORT, {'NUM_GPUS': '1'}  # One process on this CPU.
    if re.search(r'unet_(FP32|TF-AMP)_1GPU', command):
        return SHORT, {}
    return [], {}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def recipe(module_tmp_path):
    """A copy of the recipe's tracked files with the environment `make` built, a user's own
    images and labels, and the challenge's files served over HTTP on this machine."""
    copy = module_tmp_path / 'recipe'
    tracked = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    for path in tracked:
        if os.path.isfile(os.path.join(ROOT, path)):
            os.makedirs(copy / os.path.dirname(path), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, path), copy / path)
    os.symlink(os.path.join(ROOT, '.venv'), copy / '.venv')
    write_pairs(str(copy / 'my_data'), [(230, 250)] * 5, seed=2)
    shutil.copytree(copy / 'my_data' / 'images', copy / 'my_images')
    served = module_tmp_path / 'served'
    synthetic.generate_dataset(str(served), seed=3, train_pages=30, test_pages=30)
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield copy, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()


def test_every_command_is_run_or_said_why_not():
    commands = _commands()
    assert 'make demo' in commands and 'source .venv/bin/activate' in commands
    skipped = [c for c in commands if _extra(c) is None]
    assert all(c.startswith(DOCKER + CUDA + NOT_RUN_HERE) for c in skipped)
    assert len(commands) - len(skipped) >= 10


def test_the_commands_run_as_written_in_order(recipe):
    copy, server = recipe
    bin_dir = os.path.join(ROOT, '.venv', 'bin')
    for command in _commands():
        extra = _extra(command)
        if extra is None:
            continue
        flags, environ = extra
        if command == 'source .venv/bin/activate':
            # What activating gives: the environment's python first on PATH.
            run = 'source .venv/bin/activate && command -v python'
        else:
            run = command + ''.join(' ' + shlex.quote(f.format(server=server)) for f in flags)
        env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', **environ)
        if command == 'make demo':
            env['VENV'] = os.path.join(ROOT, '.venv')  # Set up already: no reinstall.
            run = f'make demo VENV={shlex.quote(env["VENV"])}'
        result = subprocess.run(['bash', '-c', run], cwd=copy, env=env, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, f'{run}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}'
        last = (result.stdout.strip() or result.stderr.strip()).splitlines()[-1]
        print(f'$ {command}\n  {last}')
        if command.startswith('source'):
            assert os.path.realpath(last) == os.path.realpath(os.path.join(bin_dir, 'python'))
    # What the commands promise to leave.
    assert (copy / 'results' / 'synthetic' / 'pred' / 'metrics.json').exists()
    assert (copy / 'data' / 'isbi2012' / 'test-volume.tif').exists()
    assert (copy / 'segmented' / 'overlays').is_dir()
    assert (copy / 'results' / 'cv' / 'cv_summary.md').exists()


def test_the_docker_lines_read_what_the_earlier_lines_write():
    commands = _commands()
    download = next(c for c in commands if c.startswith('python download_dataset.py'))
    written = os.path.normpath(shlex.split(download)[shlex.split(download).index('--data_dir')
                                                     + 1])
    run = shlex.split(next(c for c in commands if c.startswith('docker run')).replace(
        '$PWD', ROOT))
    mounts = dict(run[i + 1].split(':', 1)[::-1] for i, word in enumerate(run) if word == '-v')
    inside = shlex.split(next(c for c in commands if c.startswith(DOCKER[2])))
    dataset, results = inside[3], inside[4]
    # The container's paths are the host's under their mounts.
    mount = next(m for m in mounts if dataset == m or dataset.startswith(m + '/'))
    host_dataset = os.path.relpath(mounts[mount] + dataset[len(mount):], ROOT)
    assert host_dataset == written
    assert results in mounts
    # The image's own usage comment gives the same lines.
    dockerfile = open(os.path.join(ROOT, 'Dockerfile')).read()
    assert ' '.join(inside) in dockerfile


def test_the_gpu_lines_install_the_pins_of_the_cpu_environment():
    commands = ' '.join(c for c in _commands() if c.startswith(CUDA))
    requirements = open(os.path.join(ROOT, 'requirements.txt')).read()
    makefile = open(os.path.join(ROOT, 'Makefile')).read()
    tensorflow = re.search(r'^tensorflow==(\S+)', requirements, re.M)[1]
    numpy = re.search(r'^numpy==(\S+)', requirements, re.M)[1]
    assert f"'tensorflow[and-cuda]=={tensorflow}'" in commands and f'numpy=={numpy}' in commands
    horovod = re.search(r'HOROVOD_VERSION := (\S+)', makefile)[1]
    assert f'horovod=={horovod}' in commands
    assert '-r requirements-common.txt' in commands

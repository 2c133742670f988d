"""The Docker image, as far as a machine without Docker can check it: what it installs
resolves on the base image's Python 3.10, it opens a shell in the recipe's folder as NVIDIA's
recipe's did, its build context holds the recipe and nothing of the machine, and the
Dockerfile and every shell script pass their linters."""
import glob
import modulefinder
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT

DOCKERFILE = os.path.join(ROOT, 'Dockerfile')
BASE_PYTHON = '3.10'
"""The Python of the base image, nvcr.io/nvidia/tensorflow:24.02-tf2-py3."""
BIN = os.path.dirname(sys.executable)


def _instructions():
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r'\\\n', ' ', open(DOCKERFILE).read())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith('#')]


def _pip_requirement_files():
    """The files the image's `pip install -r` lines install."""
    files = []
    for keyword, arguments in _instructions():
        if keyword == 'RUN' and 'pip install' in arguments:
            words = shlex.split(arguments)
            files += [words[i + 1] for i, word in enumerate(words) if word == '-r']
    return files


def _python(version):
    """An interpreter of `version`: on PATH, or one of pyenv's (CI's machines have both)."""
    candidates = [f'python{version}'] + sorted(glob.glob(
        os.path.expanduser(f'~/.pyenv/versions/{version}.*/bin/python{version}')))
    for candidate in candidates:
        try:
            subprocess.run([candidate, '-c', ''], check=True, capture_output=True, timeout=60)
            return candidate
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def test_the_image_installs_the_common_requirements_and_nothing_of_tensorflow():
    assert _pip_requirement_files() == ['requirements-common.txt']
    pins = open(os.path.join(ROOT, 'requirements-common.txt')).read()
    assert not re.search(r'^(tensorflow|numpy|horovod)\b', pins, re.M)  # The base image's.
    # `make` installs the same pins, with TensorFlow and NumPy, on Python 3.11.
    assert '-r requirements-common.txt' in open(os.path.join(ROOT, 'requirements.txt')).read()


def test_the_image_installs_on_the_base_images_python(tmp_path):
    python = _python(BASE_PYTHON)
    if python is None:
        pytest.skip(f'no Python {BASE_PYTHON} here to resolve the image\'s requirements with')
    # The base image's NumPy is 1.x, the ABI TensorFlow 2.15 is built against.
    constraints = tmp_path / 'base-image.txt'
    constraints.write_text('numpy<2\n')
    for name in _pip_requirement_files():
        result = subprocess.run(
            [python, '-m', 'pip', 'install', '--dry-run', '--ignore-installed',
             '--only-binary=:all:', '--quiet', '--disable-pip-version-check',
             '-r', os.path.join(ROOT, name), '-c', str(constraints)],
            capture_output=True, text=True, timeout=600)
        errors = [line for line in result.stderr.splitlines() if line.startswith('ERROR')]
        assert result.returncode == 0, '\n'.join(errors) or result.stderr[-2000:]


def test_the_image_opens_a_shell_in_the_recipes_folder():
    instructions = _instructions()
    keywords = [keyword for keyword, _ in instructions]
    # `docker run IMAGE bash` must reach bash: an ENTRYPOINT of ours would take it as an
    # argument (the base image's entry point runs the command it is given).
    assert 'ENTRYPOINT' not in keywords and 'CMD' not in keywords
    workdir = [arguments for keyword, arguments in instructions if keyword == 'WORKDIR']
    copy_all = instructions.index(('COPY', '. .'))
    assert workdir and keywords.index('WORKDIR') < copy_all  # `.` holds main.py there.


def _lint(tool, *args):
    result = subprocess.run([os.path.join(BIN, tool), *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_passes_hadolint():
    _lint('hadolint', 'Dockerfile')


def test_shell_scripts_pass_shellcheck():
    scripts = sorted(glob.glob(os.path.join('examples', '*.sh'))) + [os.path.join('.ci', 'run')]
    _lint('shellcheck', '-x', *scripts)


def _ignored(path, patterns):
    """Whether Docker leaves `path` (relative, '/'-separated) out of the build context: the
    last of .dockerignore's patterns that matches it or a folder above it decides, '!' keeps."""
    parts = path.split('/')
    ignored = False
    for pattern in patterns:
        keep = pattern.startswith('!')
        pattern = pattern.lstrip('!').strip('/')
        regex = re.escape(pattern).replace(r'\*\*/', '(?:.*/)?').replace(r'\*', '[^/]*') \
            .replace(r'\?', '[^/]')
        if any(re.fullmatch(regex, '/'.join(parts[:i])) for i in range(1, len(parts) + 1)):
            ignored = not keep
    return ignored


def _dockerignore():
    with open(os.path.join(ROOT, '.dockerignore')) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def test_the_build_context_holds_the_recipe_and_nothing_of_the_machine():
    patterns = _dockerignore()
    context = [os.path.relpath(os.path.join(folder, name), ROOT).replace(os.sep, '/')
               for folder, _, names in os.walk(ROOT) for name in names]
    taken = [path for path in context if not _ignored(path, patterns)]
    for kept_out in ('.venv/', 'data/', 'results/', '.git/', '.pytest_cache/'):
        assert not [path for path in taken if path.startswith(kept_out)], kept_out
    assert not [path for path in taken if '__pycache__' in path or path.endswith('.pyc')]
    # Whatever a user's data or results hold, and wherever Python leaves its caches.
    for path in ('data/isbi2012/train-volume.tif', 'results/model.ckpt-1.index',
                 '.venv/bin/python', '.git/HEAD', 'utils/run/__pycache__/runner.cpython-310.pyc'):
        assert _ignored(path, patterns), path
    # Everything main.py imports, at any depth, goes in.
    finder = modulefinder.ModuleFinder(path=[ROOT])
    finder.run_script(os.path.join(ROOT, 'main.py'))
    ours = [os.path.relpath(module.__file__, ROOT) for module in finder.modules.values()
            if module.__file__ and module.__file__.startswith(ROOT + os.sep)]
    assert {'utils/runtime/params.py', 'utils/run/runner.py', 'model/unet.py'} <= set(ours)
    assert set(ours) <= set(taken)
    assert {'main.py', 'requirements-common.txt', 'examples/common.sh'} <= set(taken)

"""The README and docs/ as a user reads them: every command in a fenced block names files,
modules and make targets that exist, every flag they mention is one a program of ours (or the
outside tool the text is about) accepts, and the README stays a front door."""
import functools
import glob
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT

PAGES = ['README.md'] + sorted(os.path.relpath(p, ROOT)
                               for p in glob.glob(os.path.join(ROOT, 'docs', '*.md')))
PROGRAMS = {'main.py': ['main.py'], 'download_dataset.py': ['download_dataset.py'],
            'utils.data.synthetic': ['-m', 'utils.data.synthetic'],
            'utils.run.exported_unet': ['-m', 'utils.run.exported_unet'],
            'scripts/benchmark.py': ['scripts/benchmark.py'],
            'scripts/matmul_peak.py': ['scripts/matmul_peak.py'],
            'scripts/benchmark_prediction.py': ['scripts/benchmark_prediction.py'],
            'scripts/rescore.py': ['scripts/rescore.py']}
"""Ours, by how a command names them (scripts/pytorch_reference.py needs PyTorch, which the
project does not install, even for --help)."""
OUTSIDE_FLAGS = {
    # horovodrun, docker, pip and TensorFlow's XLA flags, where the docs explain them
    '--gloo', '--mpi', '--network-interface', '--start-timeout', '--gpus', '--rm', '--ipc',
    '--no-build-isolation',
    '--no-cache-dir', '--tf_xla_cpu_global_jit', '--tf_xla_auto_jit',
    # pytest
    '--durations',
    # the troubleshooting page's example of a flag that does not exist
    '--input_s',
}


@functools.lru_cache(maxsize=None)
def _flags(program):
    """The flags `program --help` lists."""
    result = subprocess.run([sys.executable, *PROGRAMS[program], '--help'], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(re.findall(r'(--[a-zA-Z][\w-]*)', result.stdout))


def _all_flags():
    return set().union(*(_flags(program) for program in PROGRAMS)) | OUTSIDE_FLAGS


def _commands(page):
    """The shell commands of a page's fenced bash blocks, continuation lines joined."""
    text = open(os.path.join(ROOT, page)).read()
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        for line in re.sub(r'\\\n\s*', ' ', block).splitlines():
            line = line.split(' # ')[0].strip()
            if line and not line.startswith('#'):
                commands.append(line)
    return commands


def _makefile_targets():
    return set(re.findall(r'^([a-z][\w-]*):', open(os.path.join(ROOT, 'Makefile')).read(),
                          re.M))


def test_the_pages_have_commands():
    assert len(_commands('README.md')) >= 10


@pytest.mark.parametrize('page', PAGES)
def test_every_command_names_what_exists(page):
    for command in _commands(page):
        words = shlex.split(command)
        while words and re.fullmatch(r'[A-Z_]+=\S*', words[0]):  # VAR=value prefixes
            words = words[1:]
        if not words or words[0] not in ('python', 'bash', 'make'):
            continue
        if words[0] == 'make':
            assert set(words[1:]) <= _makefile_targets(), command
            continue
        if words[1] == '-m':
            path = words[2].replace('.', '/') + '.py'
            program, flags = words[2], words[3:]
        else:
            path = words[1]
            program, flags = path, words[2:]
        assert os.path.isfile(os.path.join(ROOT, path)), command
        if program.startswith('examples/'):
            program, flags = 'main.py', flags[3:]  # <main.py or folder> <data> <results>
        if program in PROGRAMS:
            unknown = {f.split('=')[0] for f in flags if f.startswith('--')} - _flags(program)
            assert not unknown, (command, unknown)


@pytest.mark.parametrize('page', PAGES)
def test_every_flag_mentioned_exists(page):
    text = open(os.path.join(ROOT, page)).read()
    mentioned = set(re.findall(r'(?<![\w-])(--[a-zA-Z][\w-]*)', text))
    assert not mentioned - _all_flags(), mentioned - _all_flags()


def test_the_readme_is_a_front_door():
    text = open(os.path.join(ROOT, 'README.md')).read()
    assert len(text.splitlines()) <= 200
    assert '../shared' not in text
    commit = r'\b(?=(?:[0-9]*[a-f]){2})(?=[a-f]*[0-9])[0-9a-f]{7,40}\b'  # e.g. f2ddd1e
    assert not re.search(commit, text), re.search(commit, text)
    # Every page it links to exists.
    for link in re.findall(r'\]\(([^)#]+)(?:#[^)]*)?\)', text):
        if not link.startswith('http'):
            assert os.path.exists(os.path.join(ROOT, link)), link

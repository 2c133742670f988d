"""The layout is the architecture: the stage order of .importlinter holds, and breaking it
fails the suite."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

LINT_IMPORTS = os.path.join(os.path.dirname(sys.executable), 'lint-imports')
PACKAGES = ('utils', 'model', 'dllogger')


def _lint_imports(tree):
    return subprocess.run([LINT_IMPORTS, '--config', '.importlinter', '--no-cache'], cwd=tree,
                          capture_output=True, text=True, timeout=120)


def test_every_contract_is_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Contracts: 3 kept, 0 broken.' in result.stdout


def _copy_of_the_package(tmp_path):
    for package in PACKAGES:
        shutil.copytree(os.path.join(ROOT, package), tmp_path / package,
                        ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(os.path.join(ROOT, '.importlinter'), tmp_path)
    return tmp_path


@pytest.mark.parametrize('module, line, broken, chain', [
    # The graph importing the run stage: an import against the stage order.
    (('utils', 'graph', 'losses.py'), 'from utils.run import checkpoints',
     'Each stage imports only the stages below it', 'utils.graph.losses -> utils.run.checkpoints'),
    (('utils', 'run', 'cross_validation.py'), 'import main',
     'No library module imports the entry point main.py', 'utils.run.cross_validation -> main'),
    # Reached from utils.run.inputs, which main.py runs before TensorFlow starts.
    (('utils', 'data', 'folds.py'), 'import tensorflow',
     'What main.py runs before TensorFlow starts never imports it',
     'utils.data.folds -> tensorflow'),
])
def test_a_forbidden_import_breaks_its_contract(module, line, broken, chain, tmp_path):
    tree = _copy_of_the_package(tmp_path)
    path = tree.joinpath(*module)
    path.write_text(path.read_text().replace('\nimport ', f'\n{line}\nimport ', 1))
    result = _lint_imports(tree)
    assert result.returncode == 1
    assert f'{broken} BROKEN' in result.stdout
    assert chain in result.stdout


def test_no_module_of_the_package_edits_sys_path():
    edits = [os.path.join(folder, name)
             for package in PACKAGES for folder, _, names in os.walk(os.path.join(ROOT, package))
             for name in names if name.endswith('.py')
             and 'sys.path' in open(os.path.join(folder, name)).read()]
    assert not edits


def test_each_stage_says_what_it_is_for_and_what_it_may_import():
    for stage in ('runtime', 'data', 'hooks', 'graph', 'outputs', 'run'):
        with open(os.path.join(ROOT, 'utils', stage, '__init__.py')) as f:
            docstring = f.read().split('"""')[1]
        assert 'import' in docstring, stage

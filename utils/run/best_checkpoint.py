"""The best checkpoint so far by held-out V_rand (--eval_every), kept whole in <model_dir>/best."""
import glob
import json
import os
import shutil
import tempfile

from utils.outputs import writers
from utils.outputs.names import METRICS_FILE
from utils.runtime import disk


def best_score(best_dir, key):
    """`key` of the metrics kept with the best checkpoint, or None when none is kept."""
    try:
        with open(os.path.join(best_dir, METRICS_FILE)) as f:
            return json.load(f)[key]
    except (OSError, ValueError, KeyError):
        return None


def keep_best(best_dir, checkpoint, metrics):
    """Makes `best_dir` hold a copy of `checkpoint` (a path prefix) and its `metrics`.

    The copy is assembled in a temporary directory beside it and swapped in by renames, so
    `best_dir` always holds one whole checkpoint. It has its own `checkpoint` state file:
    --model_dir <model_dir>/best predicts or evaluates with it. A full disk leaves the
    previous copy in place, removes the partial one and raises DiskFull.
    """
    parent = os.path.dirname(os.path.abspath(best_dir))
    sources = glob.glob(checkpoint + '.*')
    with disk.full_disk_reported(
            best_dir, f'a copy of the best checkpoint, {os.path.basename(checkpoint)}',
            lambda _: sum(os.path.getsize(path) for path in sources), staged=True):
        staging = tempfile.mkdtemp(dir=parent, prefix='.best-')
        try:
            _stage(staging, sources, checkpoint, metrics)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    previous = None
    if os.path.exists(best_dir):
        previous = tempfile.mkdtemp(dir=parent, prefix='.best-old-')
        os.replace(best_dir, os.path.join(previous, 'best'))
    os.replace(staging, best_dir)
    if previous is not None:
        shutil.rmtree(previous)


def _stage(staging, sources, checkpoint, metrics):
    """Fills `staging` with the checkpoint's files, a state file naming it, and metrics.json."""
    os.chmod(staging, disk.ordinary_mode(0o777))  # not mkdtemp's 0700
    for path in sources:
        shutil.copy2(path, staging)
    name = os.path.basename(checkpoint)
    with open(os.path.join(staging, 'checkpoint'), 'w') as f:
        f.write(f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n')
    writers.write_metrics(staging, metrics)

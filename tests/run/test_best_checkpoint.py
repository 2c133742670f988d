"""The kept best checkpoint: replaced whole, scored, as readable as an ordinary directory."""
import os

from utils.run import best_checkpoint
from utils.runtime import disk


def test_keep_best_replaces_the_previous_best_whole(tmp_path):
    first, second = tmp_path / 'model.ckpt-1', tmp_path / 'model.ckpt-2'
    for prefix in (first, second):
        for suffix in ('.index', '.data-00000-of-00001'):
            (tmp_path / (prefix.name + suffix)).write_text(prefix.name)
    best = tmp_path / 'best'
    best_checkpoint.keep_best(str(best), str(first), {'v_rand_thin': 0.5})
    best_checkpoint.keep_best(str(best), str(second), {'v_rand_thin': 0.7})
    assert sorted(os.listdir(best)) == ['checkpoint', 'metrics.json',
                                        'model.ckpt-2.data-00000-of-00001', 'model.ckpt-2.index']
    assert best_checkpoint.best_score(str(best), 'v_rand_thin') == 0.7
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith('.')) == []
    # As readable as a directory made by mkdir, not mkdtemp's 0700.
    assert os.stat(best).st_mode & 0o777 == disk.ordinary_mode(0o777)

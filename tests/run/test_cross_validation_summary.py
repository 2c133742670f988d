"""The cross-validation summary: a column per score every fold has, the cells' included
where every fold drew them."""
import pytest

from utils.outputs.scores import CLOSED_SCORE_NAMES, SCORE_NAMES
from utils.run import cross_validation


def _row(fold, value, cells=True):
    row = {'fold': fold, 'best_step': 6, 'wall_seconds': 120.0, **{n: value for n in SCORE_NAMES}}
    if cells:
        row.update({name: value + 0.01 for name in CLOSED_SCORE_NAMES})
    return row


def test_the_cells_scores_are_columns_when_every_fold_has_them():
    rows = [_row(0, 0.5), _row(1, 0.7)]
    summary = cross_validation.summarize(rows)
    assert summary['closed_v_rand_thin']['mean'] == pytest.approx(0.61)
    assert summary['closed_v_rand_thin']['std'] == pytest.approx(0.1414213, rel=1e-5)
    table = cross_validation.markdown(rows, summary)
    head, rule, first, _, mean = table.splitlines()
    assert head.endswith('| V_rand thin, cells | V_info thin, cells | best step | wall |')
    assert rule.count('---') == len(head.split('|')) - 2
    assert first == '| 0 | ' + ' | '.join(['0.5000'] * 5 + ['0.5100'] * 2) + ' | 6 | 2.0 min |'
    assert mean.startswith('| mean +/- std | 0.6000 +/- 0.1414')


def test_a_fold_without_cells_leaves_their_columns_out():
    rows = [_row(0, 0.5), _row(1, 0.7, cells=False)]
    summary = cross_validation.summarize(rows)
    assert set(summary) == set(SCORE_NAMES)
    assert 'cells' not in cross_validation.markdown(rows, summary)

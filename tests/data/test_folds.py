"""Folds: contiguous, disjoint blocks of the slices that cover them all."""
import pytest

from utils.data.folds import fold_slices


@pytest.mark.parametrize('pages, num_folds', [(30, 5), (30, 7), (4, 2), (5, 5)])
def test_folds_are_disjoint_contiguous_and_cover_every_slice(pages, num_folds):
    held_out_sets = []
    for fold in range(num_folds):
        train, held_out = fold_slices(pages, fold, num_folds)
        assert not set(train) & set(held_out)
        assert sorted(set(train) | set(held_out)) == list(range(pages))
        assert list(held_out) == list(range(held_out[0], held_out[-1] + 1))
        held_out_sets.append(list(held_out))
    assert sorted(sum(held_out_sets, [])) == list(range(pages))


def test_fold_0_of_the_isbi_volume_is_slices_0_to_5():
    assert list(fold_slices(30, 0, 5)[1]) == [0, 1, 2, 3, 4, 5]

import pytest

from model import sizes


def test_paper_tile_sizes():
    assert sizes.output_size(sizes.INPUT_TILE) == sizes.OUTPUT_TILE == 388
    assert sizes.BORDER == 92


def test_valid_sizes_are_16k_plus_124_from_188():
    valid = [s for s in range(1, 800) if sizes.is_valid_input_size(s)]
    assert valid[:3] == [188, 204, 220]
    assert all((s - 124) % 16 == 0 for s in valid)
    assert all(sizes.output_size(s) == s - 184 for s in valid)
    assert 572 in valid and 700 in valid


@pytest.mark.parametrize('size, nearest', [(500, '492 or 508'), (573, '572 or 588'),
                                           (100, '188')])
def test_invalid_size_names_nearest_valid(size, nearest):
    with pytest.raises(ValueError, match=f'height {size} is not valid.*nearest valid: {nearest}$'):
        sizes.check_input_size(size, 572)


def test_input_for_output_covers_with_least_waste():
    assert sizes.input_size_for_output(512) == 700
    assert sizes.output_size(700) == 516
    assert sizes.input_size_for_output(388) == 572
    assert sizes.input_size_for_output(1) == 188

"""Params: validation of every value and combination, each error naming its flag."""
import ast
import dataclasses
import inspect
import os
import textwrap

import pytest

from conftest import ROOT
from utils.runtime.params import DEFAULTS, LOSSES, Params


@pytest.mark.parametrize('settings, message', [
    ({'fold': 5}, '--fold=5 is invalid: expected an integer in [0, 5)'),
    ({'fold': -1}, '--fold=-1 is invalid'),
    ({'num_folds': 1}, '--num_folds=1 is invalid: expected an integer >= 2'),
    ({'exec_mode': 'evaluate', 'benchmark': True}, 'no --benchmark with an evaluate mode'),
    ({'exec_mode': 'predict', 'fold': 0}, 'no --fold with --exec_mode predict'),
    ({'exec_mode': 'benchmark', 'fold': 0}, 'no --fold with --exec_mode benchmark'),
])
def test_bad_fold_settings(settings, message):
    with pytest.raises(ValueError, match=message.replace('[', r'\[').replace(')', r'\)')):
        Params(data_dir='d', **settings)


def _attributes_read(tree, owner):
    """The names of the attributes of `owner` (a name, or an attribute of that name, such
    as self.params) that the code of `tree` reads: code only, never comments or docstrings."""
    def is_owner(node):
        return (isinstance(node, ast.Name) and node.id == owner or
                isinstance(node, ast.Attribute) and node.attr == owner)
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and is_owner(node.value)}


def test_every_field_is_read_by_the_code():
    paths = [os.path.join(ROOT, 'main.py')] + [
        os.path.join(directory, name) for folder in ('utils', 'model')
        for directory, _, names in os.walk(os.path.join(ROOT, folder)) for name in names
        if name.endswith('.py') and name != 'params.py']
    read = set().union(*(_attributes_read(ast.parse(open(path).read()), 'params')
                         for path in paths))
    # A field may be read through a Params property that the code reads, e.g. timing_only.
    through_properties = set().union(*(
        _attributes_read(ast.parse(textwrap.dedent(inspect.getsource(prop.fget))), 'self')
        for name, prop in vars(Params).items() if isinstance(prop, property) and name in read))
    unread = [field.name for field in dataclasses.fields(Params)
              if field.name not in read | through_properties]
    assert not unread


def test_params_are_frozen():
    params = Params(data_dir='d')
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.batch_size = 2
    assert dataclasses.replace(params, batch_size=2).batch_size == 2
    assert DEFAULTS['max_steps'] == 1000


@pytest.mark.parametrize('flag, value, message', [
    ('batch_size', 0, 'an integer >= 1'), ('batch_size', -3, 'an integer >= 1'),
    ('max_steps', 0, 'an integer >= 1'), ('log_every', 0, 'an integer >= 1'),
    ('warmup_steps', -1, 'an integer >= 0'), ('learning_rate', 0.0, 'a number > 0'),
    ('momentum', 1.0, r'a number in \[0, 1\)'), ('weight_decay', -1e-3, 'a number >= 0'),
    ('decay_steps', 0, 'a number > 0'), ('decay_rate', -1, 'a number >= 0'),
    ('seed', -1, 'an integer >= 0'), ('input_size', 570, 'nearest valid: 556 or 572'),
    ('profile_step', -1, 'an integer >= 0'), ('augment_steps', -1, 'an integer >= 0'),
    ('augment_steps', 100, '0 without --augment'),
    ('augmentation', 'warp', 'one of full, flips'),
    ('augmentation', 'flips', 'full .*without --augment'),
    ('ema_decay', 1.0, r'a number in \[0, 1\)'), ('ema_decay', -0.5, r'a number in \[0, 1\)'),
    ('contrast_augment', -0.1, r'a number in \[0, 1\)'),
    ('border_weight', -1.0, 'a number >= 0'),
    ('contrast_augment', 1.0, r'a number in \[0, 1\)'),
    ('cell_smoothing', -0.5, 'a number of pixels >= 0'),
    ('cell_marker_depth', 0.0, r'a probability in \(0, 1\)'),
    ('cell_marker_depth', 1.0, r'a probability in \(0, 1\)'),
])
def test_invalid_values_name_the_flag(flag, value, message):
    with pytest.raises(ValueError, match=f'--{flag}.*{message}'):
        Params(data_dir='d', **{flag: value})


def test_border_weight_needs_a_weighted_loss():
    for loss in ('ce_dice', 'ce_dice_skeleton'):
        with pytest.raises(ValueError, match='--border_weight=30.0 is invalid: expected its '
                                             'default without --loss weighted_ce'):
            Params(data_dir='d', loss=loss, border_weight=30.0)
    for loss in ('weighted_ce', 'weighted_ce_dice'):
        assert Params(data_dir='d', loss=loss, border_weight=30.0).border_weight == 30.0


def test_the_losses_that_read_a_per_pixel_map():
    assert [Params(data_dir='d', loss=loss).pixel_weighted for loss in LOSSES] == [
        loss != 'ce_dice' for loss in LOSSES]
    assert Params(data_dir='d', loss='ce_dice_skeleton').skeleton_loss
    assert not Params(data_dir='d', loss='ce_dice_skeleton').weighted_loss


def test_contrast_augment_needs_augment():
    with pytest.raises(ValueError, match='--contrast_augment=0.5 is invalid: expected 0 '
                                         'without --augment'):
        Params(data_dir='d', contrast_augment=0.5)
    assert Params(data_dir='d', augment=True, contrast_augment=0.5).contrast_augment == 0.5


def test_ema_decay_is_for_training_modes():
    with pytest.raises(ValueError, match='--ema_decay=0.9 is invalid: expected 0 with '
                                         '--exec_mode predict'):
        Params(data_dir='d', exec_mode='predict', ema_decay=0.9)
    assert Params(data_dir='d', exec_mode='train_and_evaluate', ema_decay=0.9).ema_decay == 0.9


def test_cells_need_a_mode_that_predicts_or_evaluates():
    for mode in ('train', 'export', 'benchmark'):
        with pytest.raises(ValueError, match='--cells=True is invalid: expected a mode that '
                                             'predicts or evaluates'):
            Params(data_dir='d', exec_mode=mode, cells=True)
    for mode in ('predict', 'train_and_predict', 'evaluate', 'train_and_evaluate'):
        assert Params(data_dir='d', exec_mode=mode, cells=True).cells


def test_the_watershed_flags_need_cells():
    for flag, value in (('cell_smoothing', 2.0), ('cell_marker_depth', 0.3)):
        with pytest.raises(ValueError, match=f'--{flag}={value} is invalid: expected its '
                                             'default without --cells'):
            Params(data_dir='d', cells=False, **{flag: value})
    assert Params(data_dir='d', cells=False).cells is False
    assert Params(data_dir='d', cells=True, cell_marker_depth=0.3).cell_marker_depth == 0.3


def test_eval_every_needs_train_and_evaluate():
    with pytest.raises(ValueError, match='--eval_every=5 is invalid: expected 0 unless '
                                         '--exec_mode train_and_evaluate'):
        Params(data_dir='d', exec_mode='train', eval_every=5)


def test_tta_needs_a_mode_that_predicts():
    with pytest.raises(ValueError, match='--tta=True is invalid: expected a mode that predicts'):
        Params(data_dir='d', exec_mode='train', tta=True)


def test_lr_schedule_flags_are_checked():
    with pytest.raises(ValueError, match="--lr_schedule='step' is invalid"):
        Params(data_dir='unused', lr_schedule='step')
    with pytest.raises(ValueError, match=r'--lr_warmup_steps=1000 is invalid: expected an '
                                         r'integer in \[0, --max_steps=1000\)'):
        Params(data_dir='unused', lr_warmup_steps=1000)


def test_unknown_and_mismatched_optimizer_flags_are_refused():
    with pytest.raises(ValueError, match='--optimizer'):
        Params(data_dir='unused', optimizer='sgd')
    with pytest.raises(ValueError, match='no --momentum with --optimizer=adam'):
        Params(data_dir='unused', optimizer='adam', momentum=0.9)

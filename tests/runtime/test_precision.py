"""--use_amp and --use_xla: what this machine gets, and proof from the executed graph."""
import os

import pytest
import tensorflow as tf

from utils.runtime import precision

REWRITE_LISTS = ('TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_DENYLIST_ADD',
                 'TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_INFERLIST_REMOVE')


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_tile\n'
                       'processor\t: 1\nflags\t\t: fpu avx512f avx512_bf16 amx_tile\n')
    assert precision.cpu_flags(str(cpuinfo)) == {'fpu', 'avx512f', 'avx512_bf16', 'amx_tile'}
    assert precision.cpu_flags(str(tmp_path / 'missing')) == set()


@pytest.mark.parametrize('gpu, flags, expected', [
    (True, set(), precision.FLOAT16),
    (True, {'avx512_bf16'}, precision.FLOAT16),
    (False, {'avx512f', 'avx512_bf16'}, precision.BFLOAT16),
    (False, {'amx_bf16', 'amx_tile'}, precision.BFLOAT16),
    (False, {'avx512f', 'avx512bw', 'avx512_vnni'}, None),
    (False, set(), None),
])
def test_amp_dtype_only_where_it_pays(gpu, flags, expected):
    assert precision.amp_dtype(gpu, flags) == expected


def test_float32_ops_environment_extends_what_the_user_set():
    environ = {REWRITE_LISTS[0]: 'Tanh'}
    environ.update(precision.float32_ops_environment(environ))
    environ.update(precision.float32_ops_environment(environ))  # idempotent
    assert environ == {REWRITE_LISTS[0]: 'Tanh,Softmax', REWRITE_LISTS[1]: 'Softmax'}


NGC = {precision.NGC_VERSION_VARIABLE: '24.02-tf2'}


BF16 = {'avx512f', 'avx512_bf16'}


@pytest.mark.parametrize('case, gpu, flags, environ, dtype, rewrite, scaling, container', [
    ('upstream GPU', True, BF16, {}, precision.FLOAT16, True, True, False),
    ('NGC GPU', True, set(), NGC, precision.FLOAT16, False, False, True),
    ('NGC GPU, switch already on', True, set(),
     dict(NGC, TF_ENABLE_AUTO_MIXED_PRECISION='1'), precision.FLOAT16, False, False, True),
    ('upstream GPU, switch set (ignored upstream)', True, set(),
     {'TF_ENABLE_AUTO_MIXED_PRECISION': '1'}, precision.FLOAT16, True, True, False),
    ('CPU with bfloat16', False, BF16, {}, precision.BFLOAT16, True, False, False),
    ('CPU with bfloat16 in NGC', False, BF16, NGC, precision.BFLOAT16, True, False, False),
    ('CPU with AMX', False, {'amx_bf16'}, {}, precision.BFLOAT16, True, False, False),
    ('CPU without bfloat16', False, {'avx512f'}, {}, None, False, False, False),
    ('CPU without bfloat16 in NGC', False, set(), NGC, None, False, False, False),
])
def test_use_amp_gives_one_rewrite_and_at_most_one_loss_scaling(
        case, gpu, flags, environ, dtype, rewrite, scaling, container):
    amp = precision.decide_amp(True, gpu, flags, environ)
    assert amp.dtype == dtype, case
    assert (amp.session_rewrite, amp.loss_scaling, amp.by_container) == \
        (rewrite, scaling, container), case
    environment = dict(amp.environment)
    # The container's switch is set exactly when the container is to do the work.
    assert (environment.get('TF_ENABLE_AUTO_MIXED_PRECISION') == '1') == container, case
    if dtype is None:
        assert amp.message == precision.UNAVAILABLE and not environment
    else:
        assert amp.message.startswith('--use_amp: ' + dtype)
        assert set(REWRITE_LISTS) <= set(environment)


@pytest.mark.parametrize('gpu, environ', [(True, {}), (False, NGC), (True, NGC),
                                          (False, dict(NGC, TF_ENABLE_AUTO_MIXED_PRECISION='1'))])
def test_without_use_amp_nothing_changes(gpu, environ):
    assert precision.decide_amp(False, gpu, BF16, environ) == precision.Amp()


def test_the_containers_switch_set_by_the_user_is_reported_without_use_amp():
    environ = dict(NGC, TF_ENABLE_AUTO_MIXED_PRECISION='1')
    amp = precision.decide_amp(False, True, set(), environ)
    assert amp.dtype == precision.FLOAT16 and amp.by_container and not amp.environment
    assert amp.message.startswith('TF_ENABLE_AUTO_MIXED_PRECISION=1 is set')


def test_rewrite_and_loss_scaling_follow_the_decision():
    from tensorflow.core.protobuf import rewriter_config_pb2
    on = rewriter_config_pb2.RewriterConfig.ON
    for dtype, field in ((precision.FLOAT16, 'auto_mixed_precision'),
                         (precision.BFLOAT16, 'auto_mixed_precision_onednn_bfloat16')):
        config = tf.compat.v1.ConfigProto()
        precision.enable_rewrite(config, precision.Amp(dtype))
        assert getattr(config.graph_options.rewrite_options, field) == on
    for amp in (precision.Amp(), precision.Amp(precision.FLOAT16, by_container=True)):
        untouched = tf.compat.v1.ConfigProto()
        precision.enable_rewrite(untouched, amp)
        assert untouched == tf.compat.v1.ConfigProto()

    optimizer = tf.compat.v1.train.AdamOptimizer(1e-3)
    assert isinstance(precision.loss_scaled(optimizer, precision.Amp(precision.FLOAT16)),
                      tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer)
    for amp in (precision.Amp(precision.BFLOAT16), precision.Amp(),
                precision.Amp(precision.FLOAT16, by_container=True)):
        assert precision.loss_scaled(optimizer, amp) is optimizer


def test_upstream_tensorflow_never_reads_the_containers_switch():
    """Why the container's switch alone is not enough outside NVIDIA's build."""
    library = os.path.dirname(tf.__file__)
    for name in ('libtensorflow_framework.so.2',
                 os.path.join('python', '_pywrap_tensorflow_internal.so')):
        with open(os.path.join(library, name), 'rb') as binary:
            assert b'TF_ENABLE_AUTO_MIXED_PRECISION' not in binary.read(), name

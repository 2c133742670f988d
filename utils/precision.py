"""--use_amp: which reduced precision this machine runs fast, and how it is switched on.

Automatic mixed precision is a graph rewrite (a grappler pass, run when the session first
executes the graph): it moves convolutions and matmuls to a 16-bit type and keeps the
numerically sensitive ops (softmax, logs and exps, reductions, the losses) in float32.
Variables stay float32; the rewrite casts them on the way in.

- GPU: float16, with dynamic loss scaling so that small gradients do not flush to zero.
- CPU with native bfloat16 (avx512_bf16 or AMX): oneDNN's bfloat16 rewrite. bfloat16 has
  float32's exponent range, so no loss scaling is needed.
- Any other CPU: oneDNN would emulate bfloat16 in software, several times slower than
  float32 (4.4x on a stack of 3x3 convolutions on an AVX-512 CPU without avx512_bf16), so
  --use_amp warns and the run stays in float32.
"""
import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2

FLOAT16 = 'float16'
BFLOAT16 = 'bfloat16'
NATIVE_BF16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')
CPUINFO = '/proc/cpuinfo'


def cpu_flags(cpuinfo=CPUINFO):
    """The CPU's feature flags as Linux reports them; empty where there is no /proc/cpuinfo."""
    try:
        with open(cpuinfo) as lines:
            for line in lines:
                if line.startswith('flags'):
                    return set(line.partition(':')[2].split())
    except OSError:
        pass
    return set()


def amp_dtype(gpu_visible, flags):
    """The reduced-precision type --use_amp uses here, or None where it would not pay."""
    if gpu_visible:
        return FLOAT16
    if any(flag in flags for flag in NATIVE_BF16_CPU_FLAGS):
        return BFLOAT16
    return None


UNAVAILABLE = ('warning: --use_amp: no GPU is visible and this CPU has no native bfloat16 '
               f'({" or ".join(NATIVE_BF16_CPU_FLAGS)}); emulated bfloat16 is slower than '
               'float32, so this run stays in float32')


def enable_rewrite(session_config, dtype):
    """Switches on the mixed-precision graph rewrite for `dtype` in a ConfigProto."""
    rewrites = session_config.graph_options.rewrite_options
    if dtype == FLOAT16:
        rewrites.auto_mixed_precision = rewriter_config_pb2.RewriterConfig.ON
    elif dtype == BFLOAT16:
        rewrites.auto_mixed_precision_onednn_bfloat16 = rewriter_config_pb2.RewriterConfig.ON


FLOAT32_OPS = ('Softmax',)
"""Ops kept in float32 beyond the rewrite's own deny list. oneDNN's bfloat16 lists (TF 2.15,
grappler/optimizers/auto_mixed_precision_lists.h) let Softmax follow a bfloat16 input; the
probabilities feed the Dice loss and the saved predictions, so they stay float32."""


def keep_in_float32(environ, ops=FLOAT32_OPS):
    """Moves `ops` to the rewrite's deny list through the environment variables grappler reads
    each time it rewrites a graph. Values already set are extended, not replaced."""
    for variable in ('TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_DENYLIST_ADD',
                     'TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_INFERLIST_REMOVE'):
        names = [name for name in environ.get(variable, '').split(',') if name]
        environ[variable] = ','.join(names + [op for op in ops if op not in names])


def loss_scaled(optimizer, dtype):
    """Wraps `optimizer` in dynamic loss scaling where the reduced type needs it (float16)."""
    if dtype == FLOAT16:
        return tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(optimizer, 'dynamic')
    return optimizer

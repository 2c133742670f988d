"""--use_amp: which reduced precision this machine runs fast, and how it is switched on.

Automatic mixed precision is a graph rewrite (a grappler pass, run when the session first
executes the graph): it moves convolutions and matmuls to a 16-bit type and keeps the
numerically sensitive ops (softmax, logs and exps, reductions, the losses) in float32.
Variables stay float32; the rewrite casts them on the way in.

- GPU: float16, with dynamic loss scaling so that small gradients do not flush to zero.
- CPU with native bfloat16 (avx512_bf16 or AMX): oneDNN's bfloat16 rewrite. bfloat16 has
  float32's exponent range, so no loss scaling is needed.
- Any other CPU: oneDNN would emulate bfloat16 in software, several times slower than
  float32 (the README's AMP section has the measurement), so --use_amp warns and the run
  stays in float32.
- NVIDIA's TensorFlow container: its own switch, TF_ENABLE_AUTO_MIXED_PRECISION=1, does the
  float16 rewrite and the loss scaling inside the optimizer, so ours stand aside (Amp).
"""
import dataclasses

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

NGC_VERSION_VARIABLE = 'NVIDIA_TENSORFLOW_VERSION'
"""Set in NVIDIA's TensorFlow containers (e.g. 24.02-tf2)."""
NGC_AMP_VARIABLE = 'TF_ENABLE_AUTO_MIXED_PRECISION'
"""NVIDIA's TensorFlow reads it: '1' switches on the float16 graph rewrite and dynamic loss
scaling inside every tf.compat.v1 optimizer. Upstream TensorFlow never reads it."""


@dataclasses.dataclass(frozen=True)
class Amp:
    """What --use_amp does in this process, decided once (decide_amp) and read by the session
    config (session_rewrite) and model_fn (dtype, loss_scaling).

    Exactly one mechanism rewrites the graph and at most one scales the loss: ours (the
    session config's rewrite, MixedPrecisionLossScaleOptimizer), or, in NVIDIA's container,
    the container's own switch, which would otherwise add a second loss scaling inside the
    optimizer that ours wraps.
    """
    dtype: str = None
    """FLOAT16, BFLOAT16, or None: float32 throughout."""
    by_container: bool = False
    """NVIDIA's TF_ENABLE_AUTO_MIXED_PRECISION does the rewrite and the loss scaling."""
    environment: tuple = ()
    """(name, value) pairs main.py sets before the graph is built."""
    message: str = None
    """One line for the log, or None."""

    @property
    def session_rewrite(self):
        return self.dtype is not None and not self.by_container

    @property
    def loss_scaling(self):
        """Our loss scaling: float16's range needs it, bfloat16's does not."""
        return self.dtype == FLOAT16 and not self.by_container


def decide_amp(use_amp, gpu_visible, flags, environ):
    """The Amp record for --use_amp on this device, in this TensorFlow build.

    Args:
        use_amp: the flag.
        gpu_visible: TensorFlow sees a GPU.
        flags: the CPU's feature flags (cpu_flags).
        environ: the process environment, read only: NVIDIA's container is recognised by
            NGC_VERSION_VARIABLE, and a user's own NGC_AMP_VARIABLE is respected.
    """
    in_container = bool(environ.get(NGC_VERSION_VARIABLE))
    container_amp = in_container and gpu_visible and environ.get(NGC_AMP_VARIABLE) == '1'
    if not use_amp:
        if container_amp:  # The user's own switch: the container applies it regardless.
            return Amp(FLOAT16, by_container=True, message=(
                f'{NGC_AMP_VARIABLE}=1 is set: NVIDIA\'s TensorFlow trains in float16 mixed '
                'precision although --use_amp is off (unset it for float32)'))
        return Amp()
    dtype = amp_dtype(gpu_visible, flags)
    if dtype is None:
        return Amp(message=UNAVAILABLE)
    environment = tuple(float32_ops_environment(environ).items())
    if dtype == FLOAT16 and in_container:
        return Amp(dtype, by_container=True,
                   environment=environment + ((NGC_AMP_VARIABLE, '1'),),
                   message=f'--use_amp: float16 mixed precision through NVIDIA\'s '
                           f'{NGC_AMP_VARIABLE}=1 (graph rewrite and loss scaling)')
    scaling = ' with dynamic loss scaling' if dtype == FLOAT16 else ''
    return Amp(dtype, environment=environment,
               message=f'--use_amp: {dtype} mixed precision{scaling}')


def enable_rewrite(session_config, amp):
    """Switches on the mixed-precision graph rewrite of `amp` (an Amp) in a ConfigProto,
    unless NVIDIA's container does it."""
    if not amp.session_rewrite:
        return
    rewrites = session_config.graph_options.rewrite_options
    dtype = amp.dtype
    if dtype == FLOAT16:
        rewrites.auto_mixed_precision = rewriter_config_pb2.RewriterConfig.ON
    elif dtype == BFLOAT16:
        rewrites.auto_mixed_precision_onednn_bfloat16 = rewriter_config_pb2.RewriterConfig.ON


FLOAT32_OPS = ('Softmax',)
"""Ops kept in float32 beyond the rewrite's own deny list. oneDNN's bfloat16 lists (TF 2.15,
grappler/optimizers/auto_mixed_precision_lists.h) let Softmax follow a bfloat16 input; the
probabilities feed the Dice loss and the saved predictions, so they stay float32."""


def float32_ops_environment(environ, ops=FLOAT32_OPS):
    """The environment that moves `ops` to the rewrite's deny list: grappler reads these
    variables each time it rewrites a graph. Values in `environ` are extended, not replaced.

    Returns:
        {name: value} to set.
    """
    updated = {}
    for variable in ('TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_DENYLIST_ADD',
                     'TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_INFERLIST_REMOVE'):
        names = [name for name in environ.get(variable, '').split(',') if name]
        updated[variable] = ','.join(names + [op for op in ops if op not in names])
    return updated


def loss_scaled(optimizer, amp):
    """Wraps `optimizer` in dynamic loss scaling where `amp` (an Amp) asks for ours."""
    if amp.loss_scaling:
        return tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(optimizer, 'dynamic')
    return optimizer

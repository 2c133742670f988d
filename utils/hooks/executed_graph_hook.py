"""What the first step really executed: the dtypes of its convolutions and softmaxes, and how
many XLA clusters it ran.

Mixed precision and XLA are rewrites the session applies when it first runs the graph, so the
graph Python built says nothing about them. The partition graphs of a run are what the
executor ran; they show whether --use_amp and --use_xla took effect.
"""
import collections

import tensorflow as tf

OP_FAMILIES = {'convolution': 'Conv2D', 'softmax': 'Softmax'}
"""Record key -> substring of the op types counted under it (oneDNN renames ops, e.g.
_MklNativeConv2D, and gradients add e.g. Conv2DBackpropInput)."""
XLA_RUN_OPS = ('_XlaRun', 'XlaLaunch')
RECORD = 'executed_graph'


class ExecutedGraphHook(tf.compat.v1.train.SessionRunHook):
    """Logs one 'executed_graph' record, from the partition graphs of the first step.

    Args:
        logger: a dllogger.Logger.
        mode: what the graph does, e.g. 'train' or 'predict', recorded with the counts.
    """

    def __init__(self, logger, mode):
        self._logger = logger
        self._mode = mode
        self._done = False

    def before_run(self, run_context):
        if self._done:
            return None
        return tf.compat.v1.train.SessionRunArgs(
            None, options=tf.compat.v1.RunOptions(output_partition_graphs=True))

    def after_run(self, run_context, run_values):
        if self._done:
            return
        self._done = True
        self._logger.log(RECORD, dict(mode=self._mode,
                                      **summarize(run_values.run_metadata.partition_graphs)))


def summarize(graph_defs):
    """{'convolution': {dtype: count}, 'softmax': {dtype: count}, 'xla_clusters': n}."""
    counts = {family: collections.Counter() for family in OP_FAMILIES}
    xla_clusters = 0
    for graph_def in graph_defs:
        for node in graph_def.node:
            if node.op in XLA_RUN_OPS:
                xla_clusters += 1
            for family, marker in OP_FAMILIES.items():
                if marker in node.op and 'T' in node.attr:
                    counts[family][tf.dtypes.as_dtype(node.attr['T'].type).name] += 1
    summary = {family: dict(sorted(counter.items())) for family, counter in counts.items()}
    summary['xla_clusters'] = xla_clusters
    return summary

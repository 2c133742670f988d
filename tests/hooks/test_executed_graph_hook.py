"""What the executed-graph hook reports of a graph: convolutions and softmax by dtype, and XLA
clusters."""
import tensorflow as tf

from utils.hooks.executed_graph_hook import summarize


def test_summarize_counts_dtypes_and_xla_clusters():
    graph_def = tf.compat.v1.GraphDef()
    for name, op, dtype in (('a', '_MklNativeConv2D', tf.bfloat16),
                            ('b', 'Conv2DBackpropInput', tf.bfloat16),
                            ('c', 'Conv2D', tf.float32), ('d', 'Softmax', tf.float32),
                            ('e', '_XlaRun', None), ('f', 'MaxPool', tf.float32)):
        node = graph_def.node.add(name=name, op=op)
        if dtype is not None:
            node.attr['T'].type = dtype.as_datatype_enum
    assert summarize([graph_def]) == {'convolution': {'bfloat16': 2, 'float32': 1},
                                      'softmax': {'float32': 1}, 'xla_clusters': 1}

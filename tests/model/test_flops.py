"""The analytical FLOP count against the shapes of the graph model/unet.py really builds."""
import pytest
import tensorflow as tf

from model.flops import forward_flops, training_flops
from model.unet import unet


def _flops_of_built_graph(input_size):
    graph = tf.Graph()
    with graph.as_default():
        unet(tf.compat.v1.placeholder(tf.float32, [1, input_size, input_size, 1]))
    total = 0
    for op in graph.get_operations():
        if op.type == 'Conv2D':
            _, height, width, channels_out = op.outputs[0].shape.as_list()
            kernel_h, kernel_w, channels_in, _ = op.inputs[1].shape.as_list()
            total += 2 * height * width * channels_out * kernel_h * kernel_w * channels_in
        elif op.type == 'Conv2DBackpropInput':  # the transposed convolutions
            _, height, width, channels_in = op.inputs[2].shape.as_list()
            kernel_h, kernel_w, channels_out, _ = op.inputs[1].shape.as_list()
            total += 2 * height * width * channels_in * kernel_h * kernel_w * channels_out
    return total


@pytest.mark.parametrize('input_size', [188, 204, 572])
def test_count_matches_the_built_graph(input_size):
    assert forward_flops(input_size) == _flops_of_built_graph(input_size)


def test_paper_tile_is_about_301_gflop():
    assert forward_flops(572) == pytest.approx(301e9, rel=0.005)
    assert training_flops(572) == 3 * forward_flops(572)

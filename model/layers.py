"""Graph-building blocks of the U-Net: unpadded convolutions, pooling, up-convolutions, skips.

Each function adds variables under its own variable scope and returns the output tensor.
Tensors are NHWC. Variables are created with `tf.compat.v1.get_variable`, so a custom
getter on the enclosing scope (e.g. for fp32 master weights) applies to all of them.
"""
import tensorflow as tf

_KERNEL_INIT = tf.compat.v1.initializers.he_normal()
"""The paper draws weights from a Gaussian with std sqrt(2/N), N = fan-in (section 3)."""


def conv2d(inputs, filters, kernel_size, name, activation=tf.nn.relu):
    """A 'valid' (unpadded) convolution with bias, optionally followed by an activation.

    Args:
        inputs: float `[batch, H, W, C_in]`.
        filters: C_out.
        kernel_size: side of the square kernel; the output shrinks by kernel_size - 1.
        name: variable scope.
        activation: applied to the pre-activation, or None for raw logits.

    Returns:
        float `[batch, H - k + 1, W - k + 1, filters]`.
    """
    with tf.compat.v1.variable_scope(name):
        in_channels = inputs.shape[-1]
        kernel = tf.compat.v1.get_variable(
            'kernel', [kernel_size, kernel_size, in_channels, filters],
            dtype=tf.float32, initializer=_KERNEL_INIT)
        bias = tf.compat.v1.get_variable(
            'bias', [filters], dtype=tf.float32, initializer=tf.compat.v1.zeros_initializer())
        outputs = tf.nn.conv2d(inputs, tf.cast(kernel, inputs.dtype), strides=1, padding='VALID')
        outputs = tf.nn.bias_add(outputs, tf.cast(bias, inputs.dtype))
        return activation(outputs) if activation is not None else outputs


def double_conv(inputs, filters, name):
    """Two unpadded 3x3 convolutions + ReLU: the unit of every level. Shrinks H and W by 4."""
    with tf.compat.v1.variable_scope(name):
        outputs = conv2d(inputs, filters, 3, 'conv1')
        return conv2d(outputs, filters, 3, 'conv2')


def max_pool(inputs):
    """2x2 max-pooling with stride 2. H and W must be even (unet checks the input size)."""
    return tf.nn.max_pool2d(inputs, ksize=2, strides=2, padding='VALID')


def upconv(inputs, filters, name):
    """The paper's 'up-convolution': a 2x2 transposed convolution with stride 2 and bias.

    Args:
        inputs: float `[batch, H, W, C_in]`.
        filters: C_out, half of C_in in the U-Net.

    Returns:
        float `[batch, 2H, 2W, filters]`.
    """
    with tf.compat.v1.variable_scope(name):
        in_channels = inputs.shape[-1]
        # conv2d_transpose kernels are [h, w, out, in].
        kernel = tf.compat.v1.get_variable(
            'kernel', [2, 2, filters, in_channels], dtype=tf.float32, initializer=_KERNEL_INIT)
        bias = tf.compat.v1.get_variable(
            'bias', [filters], dtype=tf.float32, initializer=tf.compat.v1.zeros_initializer())
        shape = tf.shape(inputs)
        output_shape = tf.stack([shape[0], 2 * shape[1], 2 * shape[2], filters])
        outputs = tf.nn.conv2d_transpose(inputs, tf.cast(kernel, inputs.dtype), output_shape,
                                         strides=2, padding='VALID')
        outputs = tf.nn.bias_add(outputs, tf.cast(bias, inputs.dtype))
        # Keep the static spatial shape that conv2d_transpose loses with a dynamic output_shape.
        height, width = inputs.shape[1], inputs.shape[2]
        outputs.set_shape([inputs.shape[0],
                           None if height is None else 2 * height,
                           None if width is None else 2 * width,
                           filters])
        return outputs


def crop_and_concat(skip, upsampled):
    """Centre-crops the encoder's `skip` to `upsampled`'s size and concatenates on channels.

    The crop is needed because unpadded convolutions lose border pixels: the encoder map is
    larger than the decoder map it is joined with (e.g. 64x64 against 56x56 at the top level).
    """
    skip_h, skip_w = _spatial_shape(skip)
    up_h, up_w = _spatial_shape(upsampled)
    offset_h = (skip_h - up_h) // 2
    offset_w = (skip_w - up_w) // 2
    # tf.slice rather than Python slicing: its gradient is a Pad, several times cheaper than
    # the general StridedSliceGrad (docs/performance.md gives what it saved).
    cropped = tf.slice(skip, [0, offset_h, offset_w, 0], [-1, up_h, up_w, -1])
    # With sizes known only at run time, tf.slice forgets even the channels: restore them.
    cropped.set_shape(upsampled.shape[:3].concatenate(skip.shape[3:]))
    return tf.concat([cropped, upsampled], axis=-1)


def _spatial_shape(tensor):
    """(height, width): Python ints where the graph knows them, else tensors (an exported
    model takes tiles of any valid size)."""
    dynamic = tf.shape(tensor)
    return tuple(tensor.shape[axis] if tensor.shape[axis] is not None else dynamic[axis]
                 for axis in (1, 2))

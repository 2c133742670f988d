"""The U-Net of Ronneberger et al. (2015), built as a tf.compat.v1 graph."""

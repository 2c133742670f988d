"""Data: files on disk (ISBI stacks, a user's images, TIFF I/O), the synthetic generator, folds,
augmentation, the paper's weight map, overlap tiles and the tf.data input functions. May
import utils.runtime and model/; never the graph, outputs or run stages."""

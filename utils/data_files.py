"""The ISBI files on disk: their names, class indices, loading and checking.

Free of TensorFlow, so main.py checks the data before importing it: a bad file is reported
in a second, before TensorFlow's start-up and before anything is built or written.
"""
import dataclasses
import os

import numpy as np

from model.sizes import output_size
from utils.errors import DatasetError
from utils.tiff_io import read_stack

TRAIN_VOLUME = 'train-volume.tif'
TRAIN_LABELS = 'train-labels.tif'
TEST_VOLUME = 'test-volume.tif'
TEST_LABELS = 'test-labels.tif'
"""Not part of the challenge (its test labels were never published); the synthetic set has it."""

MEMBRANE = 0
BACKGROUND = 1
"""Class indices: the ISBI label value divided by 255, so softmax[..., 1] is P(non-membrane)."""


def _check_dir(data_dir):
    if not os.path.isdir(data_dir):
        raise DatasetError(f'{data_dir}: data directory not found (run download_dataset.py, '
                           'or python -m utils.synthetic for a synthetic set)')


def labels_to_classes(labels, path):
    """Maps a label stack to class indices: 0 stays membrane, the one other value is background.

    Raises:
        DatasetError: when the labels hold more than two values, or two without a 0.
    """
    values = np.unique(labels)
    others = values[values != 0]
    if len(others) > 1 or len(values) > 2:
        shown = ', '.join(str(v) for v in values[:6]) + (', ...' if len(values) > 6 else '')
        raise DatasetError(f'{path}: labels must have two classes, 0 = membrane and one other '
                           f'value = background; found values {shown}')
    return (labels != 0).astype(np.uint8)


IMAGES_DIR = 'images'
LABELS_DIR = 'labels'
"""A user's own training data: paired files, one stem each, in <data_dir>/images and /labels."""


def load_training_data(data_dir):
    """Reads and checks the training volume and labels: the ISBI stacks, or the pairs of
    `images/` and `labels/` when the directory has those folders.

    Returns:
        (volume, classes): uint8 `[pages, H, W]` each, or lists of `[H, W]` slices where the
        pairs differ in size (utils.slices); classes in {MEMBRANE, BACKGROUND}.

    Raises:
        DatasetError: a missing or bad file, or volume and labels that do not match.
    """
    _check_dir(data_dir)
    if os.path.isdir(os.path.join(data_dir, IMAGES_DIR)):
        return load_pairs(data_dir)
    volume_path = os.path.join(data_dir, TRAIN_VOLUME)
    volume = read_stack(volume_path)
    return volume, _read_classes(os.path.join(data_dir, TRAIN_LABELS), volume, volume_path)


def load_pairs(data_dir):
    """The slices of <data_dir>/images and their labels in <data_dir>/labels, paired by stem
    (any kind and size utils.images reads; a multi-page file gives several slices).

    Raises:
        DatasetError: a file without a partner, a pair whose pages differ, bad labels.
    """
    from utils import images, slices
    images_dir, labels_dir = (os.path.join(data_dir, d) for d in (IMAGES_DIR, LABELS_DIR))
    if not os.path.isdir(labels_dir):
        raise DatasetError(f'{labels_dir}: folder not found (training on {images_dir} needs '
                           'a label file of the same name for each image)')
    inputs, labels = (images.discover([d]) for d in (images_dir, labels_dir))
    by_stem = {label.stem: label for label in labels}
    for unpaired in ([i.path for i in inputs if i.stem not in by_stem] +
                     [label.path for label in labels
                      if label.stem not in {i.stem for i in inputs}]):
        other = labels_dir if unpaired.startswith(images_dir) else images_dir
        raise DatasetError(f'{unpaired}: no file of the same name in {other}')
    volume, classes = [], []
    for image_file in inputs:
        label_file = by_stem[image_file.stem]
        if label_file.sizes != image_file.sizes:
            raise DatasetError(f'{label_file.path}: pages of {_sizes(label_file.sizes)} do not '
                               f'match {image_file.path}: {_sizes(image_file.sizes)}')
        volume += list(images.read_pages(image_file))
        for page in images.read_pages(label_file):
            classes.append(labels_to_classes(page, label_file.path))
    return slices.stacked_if_equal(volume), slices.stacked_if_equal(classes)


def _sizes(sizes):
    return ', '.join(f'{w}x{h}' for h, w in sizes)


def load_test_data(data_dir):
    """Reads the test volume, and its labels when the directory has them.

    Returns:
        (volume, classes or None): uint8 `[pages, H, W]`.
    """
    _check_dir(data_dir)
    volume_path = os.path.join(data_dir, TEST_VOLUME)
    volume = read_stack(volume_path)
    labels_path = os.path.join(data_dir, TEST_LABELS)
    if not os.path.exists(labels_path):
        return volume, None
    return volume, _read_classes(labels_path, volume, volume_path)


def _read_classes(labels_path, volume, volume_path):
    """Reads the labels of `volume` as classes, checking that their pages match."""
    labels = read_stack(labels_path)
    if labels.shape != volume.shape:
        raise DatasetError(f'{labels_path}: {_describe(labels)} do not match {volume_path}: '
                           f'{_describe(volume)}')
    return labels_to_classes(labels, labels_path)


def _describe(stack):
    return f'{stack.shape[0]} pages of {stack.shape[1]}x{stack.shape[2]}'


def check_trainable(volume, input_size, batch_size, path):
    """Raises DatasetError when slices are smaller than the output window, or fewer than the
    batch (a single page where a stack is needed)."""
    out = output_size(input_size)
    smallest = min((page.shape for page in volume), key=min)
    if min(smallest) < out:
        raise DatasetError(f'{path}: pages of {smallest[0]}x{smallest[1]} are smaller '
                           f'than the {out}x{out} output window of --input_size={input_size}; '
                           'choose a smaller --input_size')
    if batch_size > len(volume) == 1:
        raise DatasetError(f'{path}: a single-page TIFF, but --batch_size={batch_size} needs '
                           f'a multi-page stack of at least {batch_size} training slices')
    if batch_size > len(volume):
        raise DatasetError(f'{path}: --batch_size={batch_size} is larger than the '
                           f'{len(volume)} training slices')


def fold_slices(pages, fold, num_folds):
    """Splits slice indices 0..pages-1 into contiguous blocks and holds block `fold` out.

    Contiguous, not interleaved: neighbouring EM sections look alike, so a held-out slice
    next to a training slice would flatter the score.

    Returns:
        (training indices, held-out indices), sorted and disjoint, together every slice.
    """
    held_out = np.array_split(np.arange(pages), num_folds)[fold]
    return np.setdiff1d(np.arange(pages), held_out), held_out


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The checked data of a run: (volume, classes) pairs, None where the mode needs none.

    test's classes are None when the test volume has no labels (the challenge's has none).
    """
    train: tuple = None
    test: tuple = None
    held_out: tuple = None
    held_out_slices: tuple = None
    """Indices of held_out's pages in their source volume, for the record."""
    images: tuple = None
    """--input's files (utils.images.ImageFile), checked."""


def load_images(params):
    """Checks every --input file from its headers, and that --output_dir can take their
    outputs: not a folder of the inputs, and no output there already unless --overwrite.

    Raises:
        DatasetError: naming the file or folder and the problem.
    """
    from utils import images, outputs
    if params.saved_model and not os.path.isfile(
            os.path.join(params.saved_model, 'saved_model.pb')):
        raise DatasetError(f'--saved_model={params.saved_model}: no saved_model.pb there '
                           '(--exec_mode export writes one under <model_dir>/export/)')
    files = images.discover(params.input)
    output_dir = os.path.abspath(params.output_dir)
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise DatasetError(f'--output_dir={params.output_dir}: exists and is not a directory')
    for image_file in files:
        if os.path.dirname(os.path.abspath(image_file.path)) == output_dir:
            raise DatasetError(f'--output_dir={params.output_dir}: holds the input '
                               f'{image_file.path}; write the outputs to another folder')
        for path in outputs.output_paths(params.output_dir, image_file, params.overlays):
            if os.path.exists(path) and not params.overwrite:
                raise DatasetError(f'{path}: exists (an output of {image_file.path}); '
                                   '--overwrite replaces it')
    return files


def load_inputs(params):
    """Loads and checks every file `params.exec_mode` reads, and splits off --fold.

    Raises:
        DatasetError: a missing or bad file, or data the flags cannot train on, named.
    """
    if params.input:
        return Inputs(images=tuple(load_images(params)))
    if not params.reads_data:
        return Inputs()
    train = test = held_out = slices = None
    volume_path = os.path.join(params.data_dir, TRAIN_VOLUME)
    if os.path.isdir(os.path.join(params.data_dir, IMAGES_DIR)):
        volume_path = os.path.join(params.data_dir, IMAGES_DIR)
    if params.trains or (params.evaluates and params.fold is not None):
        from utils.slices import take
        volume, classes = load_training_data(params.data_dir)
        if params.fold is not None:
            if len(volume) < params.num_folds:
                raise DatasetError(f'{volume_path}: {len(volume)} slices cannot make '
                                   f'--num_folds={params.num_folds} folds')
            kept, slices = fold_slices(len(volume), params.fold, params.num_folds)
            held_out = take(volume, slices), take(classes, slices)
            volume, classes = take(volume, kept), take(classes, kept)
        train = volume, classes
        if params.trains:
            check_trainable(volume, params.input_size, params.batch_size, volume_path)
    if params.predicts or (params.evaluates and params.fold is None):
        test = load_test_data(params.data_dir)
    if params.evaluates and params.fold is None:
        if test[1] is None:
            raise DatasetError(f'{os.path.join(params.data_dir, TEST_LABELS)}: file not found; '
                               f'--exec_mode {params.exec_mode} scores the held-out slices of '
                               '--fold, or the test volume against these labels')
        held_out, slices = test, np.arange(test[0].shape[0])
    return Inputs(train if params.trains else None, test if params.predicts else None,
                  held_out, None if slices is None else tuple(int(i) for i in slices))

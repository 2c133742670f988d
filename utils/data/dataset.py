"""The training and test data on disk: the ISBI stacks or a user's paired images and labels,
their file names and class indices, read and checked.

Free of TensorFlow, so main.py checks the data before importing it: a bad file is reported
in a second, before TensorFlow's start-up and before anything is built or written.
"""
import os

import numpy as np

from utils.data import images, slices
from utils.data.tiff_io import read_stack
from utils.runtime.errors import DatasetError

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
                           'or python -m utils.data.synthetic for a synthetic set)')


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
        pairs differ in size (utils.data.slices); classes in {MEMBRANE, BACKGROUND}.

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
    (any kind and size utils.data.images reads; a multi-page file gives several slices).

    Raises:
        DatasetError: a file without a partner, a pair whose pages differ, bad labels.
    """
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

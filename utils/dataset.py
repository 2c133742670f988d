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


def load_training_data(data_dir):
    """Reads and checks the training volume and labels.

    Returns:
        (volume, classes): uint8 `[pages, H, W]` each; classes in {MEMBRANE, BACKGROUND}.

    Raises:
        DatasetError: a missing or bad file, or volume and labels that do not match.
    """
    _check_dir(data_dir)
    volume_path = os.path.join(data_dir, TRAIN_VOLUME)
    volume = read_stack(volume_path)
    return volume, _read_classes(os.path.join(data_dir, TRAIN_LABELS), volume, volume_path)


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
    if min(volume.shape[1:]) < out:
        raise DatasetError(f'{path}: pages of {volume.shape[1]}x{volume.shape[2]} are smaller '
                           f'than the {out}x{out} output window of --input_size={input_size}; '
                           'choose a smaller --input_size')
    if batch_size > volume.shape[0] == 1:
        raise DatasetError(f'{path}: a single-page TIFF, but --batch_size={batch_size} needs '
                           f'a multi-page stack of at least {batch_size} training slices')
    if batch_size > volume.shape[0]:
        raise DatasetError(f'{path}: --batch_size={batch_size} is larger than the '
                           f'{volume.shape[0]} training slices')


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
    if params.trains or (params.evaluates and params.fold is not None):
        volume, classes = load_training_data(params.data_dir)
        if params.fold is not None:
            if volume.shape[0] < params.num_folds:
                raise DatasetError(f'{volume_path}: {volume.shape[0]} slices cannot make '
                                   f'--num_folds={params.num_folds} folds')
            kept, slices = fold_slices(volume.shape[0], params.fold, params.num_folds)
            held_out = volume[slices], classes[slices]
            volume, classes = volume[kept], classes[kept]
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

"""Everything a run reads, checked before TensorFlow starts: the data its --exec_mode needs,
split by --fold, or --input's files with room for their outputs in --output_dir.

Free of TensorFlow, so main.py reports a bad file or folder in a second, before anything is
built or written.
"""
import dataclasses
import os

import numpy as np

from model.sizes import output_size
from utils.data import dataset, images
from utils.data.folds import fold_slices
from utils.data.slices import take
from utils.outputs.names import output_paths
from utils.runtime.errors import DatasetError


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
    """--input's files (utils.data.images.ImageFile), checked."""


def load_inputs(params):
    """Loads and checks every file `params.exec_mode` reads, and splits off --fold.

    Raises:
        DatasetError: a missing or bad file, or data the flags cannot train on, named.
    """
    if params.input:
        return Inputs(images=tuple(load_images(params)))
    if not params.reads_data:
        return Inputs()
    train = held_out = slices = None
    if params.trains or (params.evaluates and params.fold is not None):
        train, held_out, slices = _training_data(params)
    test = None
    if params.predicts or (params.evaluates and params.fold is None):
        test = dataset.load_test_data(params.data_dir)
    if params.evaluates and params.fold is None:
        if test[1] is None:
            raise DatasetError(f'{os.path.join(params.data_dir, dataset.TEST_LABELS)}: file '
                               f'not found; --exec_mode {params.exec_mode} scores the held-out '
                               'slices of --fold, or the test volume against these labels')
        held_out, slices = test, np.arange(test[0].shape[0])
    return Inputs(train if params.trains else None, test if params.predicts else None,
                  held_out, None if slices is None else tuple(int(i) for i in slices))


def _training_data(params):
    """The training slices, less --fold's: (train, held_out, held-out indices), the last two
    None without --fold."""
    volume_path = os.path.join(params.data_dir, dataset.TRAIN_VOLUME)
    if os.path.isdir(os.path.join(params.data_dir, dataset.IMAGES_DIR)):
        volume_path = os.path.join(params.data_dir, dataset.IMAGES_DIR)
    volume, classes = dataset.load_training_data(params.data_dir)
    held_out = slices = None
    if params.fold is not None:
        if len(volume) < params.num_folds:
            raise DatasetError(f'{volume_path}: {len(volume)} slices cannot make '
                               f'--num_folds={params.num_folds} folds')
        kept, slices = fold_slices(len(volume), params.fold, params.num_folds)
        held_out = take(volume, slices), take(classes, slices)
        volume, classes = take(volume, kept), take(classes, kept)
    if params.trains:
        check_trainable(volume, params.input_size, params.batch_size, volume_path)
    return (volume, classes), held_out, slices


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


def load_images(params):
    """Checks every --input file from its headers, and that --output_dir can take their
    outputs: not a folder of the inputs, and no output there already unless --overwrite.

    Raises:
        DatasetError: naming the file or folder and the problem.
    """
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
        for path in output_paths(params.output_dir, image_file, params.overlays,
                                 params.cells):
            if os.path.exists(path) and not params.overwrite:
                raise DatasetError(f'{path}: exists (an output of {image_file.path}); '
                                   '--overwrite replaces it')
    return files

"""Reading and writing multi-page TIFF stacks (the ISBI 2012 format), free of TensorFlow.

A stack is a numpy array `[pages, height, width]`. Everything a user can get wrong in a file
ends in a `DatasetError` whose message names the file, so main.py can print one line.
"""
import os
import warnings

import numpy as np
from PIL import Image, ImageSequence

from utils.runtime.errors import DatasetError
from utils.runtime.disk import write_atomically


def read_stack(path):
    """Reads every page of a TIFF as one array, converting pages to 8-bit grey.

    Conversion, documented in the README: 8-bit grey pages are used as they are; RGB(A) and
    palette pages become grey by luminance; 16-bit, 32-bit integer and float pages are scaled
    linearly from the stack's minimum and maximum to 0..255.

    Args:
        path: a TIFF file with one or more pages of equal size.

    Returns:
        uint8 `[pages, height, width]`.

    Raises:
        DatasetError: missing, empty or corrupt file, or pages of different sizes.
    """
    if not os.path.isfile(path):
        raise DatasetError(f'{path}: file not found (run download_dataset.py, or '
                           'python -m utils.data.synthetic for a synthetic set)')
    if os.path.getsize(path) == 0:
        raise DatasetError(f'{path}: file is empty')
    pages = []
    try:
        # Pillow warns about metadata tags it skips; a page it cannot decode still raises.
        with warnings.catch_warnings(), Image.open(path) as image:
            warnings.simplefilter('ignore')
            if image.format != 'TIFF':
                raise DatasetError(f'{path}: not a TIFF file (found {image.format})')
            for page in ImageSequence.Iterator(image):
                pages.append(page_to_array(page))
    except DatasetError:
        raise
    except Exception as err:  # Pillow signals corrupt data with many exception types.
        raise DatasetError(f'{path}: cannot read TIFF page {len(pages)} (corrupt or truncated '
                           f'file): {err}') from err
    shapes = {page.shape for page in pages}
    if len(shapes) != 1:
        raise DatasetError(f'{path}: pages differ in size: {sorted(shapes)}')
    return _to_uint8(np.stack(pages), path)


_CONVERTED_TO_GREY = ('1', 'P', 'LA', 'RGB', 'RGBA', 'CMYK', 'YCbCr')
"""Pillow modes that become 8-bit grey by luminance; integer and float modes are scaled."""


def page_to_array(page):
    """A decoded Pillow page as an array: grey by luminance where it has colour (uint8), else
    its own integer or float type."""
    if page.mode in _CONVERTED_TO_GREY:
        page = page.convert('L')
    return np.asarray(page)


def scale_to_uint8(pixels, low, high):
    """`pixels` scaled linearly from [low, high] to 0..255 (all 0 when low == high)."""
    scale = 255.0 / (float(high) - float(low)) if high > low else 0.0
    return np.round((pixels.astype(np.float64) - float(low)) * scale).astype(np.uint8)


def _to_uint8(stack, path):
    if stack.dtype == np.uint8:
        return stack
    if stack.dtype.kind not in 'uif':
        raise DatasetError(f'{path}: unsupported pixel type {stack.dtype}')
    stack = stack.astype(np.float64)
    if not np.all(np.isfinite(stack)):
        raise DatasetError(f'{path}: pages contain NaN or infinite values')
    return scale_to_uint8(stack, stack.min(), stack.max())


_WRITABLE = (np.uint8, np.uint16, np.uint32, np.float32)


def write_stack(path, stack):
    """Writes uint8, uint16, uint32 or float32 pages (`[pages, H, W]`, or a list of `[H, W]`
    of any sizes) as one multi-page TIFF, atomically.

    The pages go to a temporary file in the same directory, renamed over `path` only when
    complete, so a crash never leaves a truncated file where a good one was. uint32 pages are
    stored as Pillow stores 32-bit integers, signed: below 2**31 the values are the same.
    """
    arrays = [np.asarray(page) for page in stack]  # A list may hold pages of several sizes.
    for page in arrays:
        if page.dtype not in _WRITABLE:
            raise TypeError(f'write_stack takes uint8, uint16, uint32 or float32 pages, not '
                            f'{page.dtype}')
        if page.dtype == np.uint32 and page.size and page.max() > np.iinfo(np.int32).max:
            raise ValueError(f'{path}: a uint32 page holds {page.max()}, beyond 32-bit TIFF '
                             'integers')
    pages = [Image.fromarray(page) for page in arrays]
    write_atomically(path, lambda f: pages[0].save(
        f, format='TIFF', save_all=True, append_images=pages[1:]))

"""A user's own images on disk: find them, check them, read them page by page. Free of
TensorFlow, so every input is checked before TensorFlow starts.

An input is a multi-page or single-page TIFF, a PNG or a JPEG file, a folder of such files
(in natural order: slice_2 before slice_10), or a glob. Pages are converted to 8-bit grey as
the training loader converts them (utils.data.tiff_io): 8-bit grey as it is, RGB(A) and palette by
luminance, 16-bit, 32-bit and float pages scaled linearly from the file's minimum and maximum.
"""
import dataclasses
import glob
import os
import re
import warnings

import numpy as np
from PIL import Image, ImageSequence

from utils.runtime.errors import DatasetError
from utils.data.tiff_io import page_to_array, scale_to_uint8

KINDS = {'TIFF': 'tiff', 'PNG': 'png', 'JPEG': 'jpeg'}
"""Pillow's format names of the kinds accepted, by content, whatever the file is called."""
SUFFIXES = ('.tif', '.tiff', '.png', '.jpg', '.jpeg')
"""What a folder's files are recognised by."""


@dataclasses.dataclass(frozen=True)
class ImageFile:
    """One input file, checked: its kind by content and the size of every page."""
    path: str
    kind: str
    sizes: tuple
    modes: tuple
    """Pillow's mode of every page: those of EIGHT_BIT_MODES are read in one pass."""

    @property
    def stem(self):
        return os.path.splitext(os.path.basename(self.path))[0]

    @property
    def pages(self):
        return len(self.sizes)


def natural_key(path):
    """Sorts names as people number them: slice_2 before slice_10."""
    name = os.path.basename(path)
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r'(\d+)', name)]


def discover(patterns):
    """The checked ImageFiles that `patterns` (paths, folders or globs) name, in order.

    Raises:
        DatasetError: naming the first pattern or file that is missing, empty, unreadable or
            not a supported image; or two inputs whose outputs would have the same name.
    """
    files = []
    for pattern in patterns:
        for path in _expand(pattern):
            files.append(inspect(path))
    seen = {}
    for image_file in files:
        other = seen.setdefault(image_file.stem, image_file.path)
        if other != image_file.path:
            raise DatasetError(f'{image_file.path}: its outputs would have the same names as '
                               f'those of {other} (one stem, {image_file.stem}); predict them '
                               'into separate --output_dir')
    return files


def _expand(pattern):
    if os.path.isdir(pattern):
        paths = sorted((os.path.join(pattern, name) for name in os.listdir(pattern)
                        if name.lower().endswith(SUFFIXES)
                        and not name.startswith('.')), key=natural_key)
        if not paths:
            raise DatasetError(f'{pattern}: a folder with no {", ".join(SUFFIXES)} files')
        return paths
    if os.path.exists(pattern):
        return [pattern]
    if glob.has_magic(pattern):
        paths = sorted((p for p in glob.glob(pattern) if os.path.isfile(p)), key=natural_key)
        if not paths:
            raise DatasetError(f'{pattern}: no file matches')
        return paths
    raise DatasetError(f'{pattern}: file not found')


def inspect(path):
    """Checks `path` from its headers (kind, page sizes, pixel type) without decoding it."""
    if not os.path.isfile(path):
        raise DatasetError(f'{path}: not a file')
    if not os.access(path, os.R_OK):
        raise DatasetError(f'{path}: not readable (permission denied)')
    if os.path.getsize(path) == 0:
        raise DatasetError(f'{path}: file is empty')
    try:
        with warnings.catch_warnings(), Image.open(path) as image:
            warnings.simplefilter('ignore')
            kind = KINDS.get(image.format)
            if kind is None:
                raise DatasetError(f'{path}: a {image.format} image; expected TIFF, PNG or '
                                   'JPEG')
            pages = [(page.height, page.width, page.mode)
                     for page in ImageSequence.Iterator(image)]
    except DatasetError:
        raise
    except Exception as err:  # Pillow signals unknown or corrupt data with many types.
        raise DatasetError(f'{path}: not a readable TIFF, PNG or JPEG image: {err}') from None
    return ImageFile(path, kind, tuple((h, w) for h, w, _ in pages),
                     tuple(mode for _, _, mode in pages))


EIGHT_BIT_MODES = ('L', '1', 'P', 'LA', 'RGB', 'RGBA', 'CMYK', 'YCbCr')
"""Modes that decode to 8-bit grey without a range to scale from."""


def read_pages(image_file):
    """Yields the pages of `image_file` one at a time as uint8 `[H, W]`, converted as for
    training. Files of more than 8 bits are read twice: once for their range, once to scale.

    Raises:
        DatasetError: a page that cannot be decoded, or NaN or infinite values.
    """
    path = image_file.path
    if all(mode in EIGHT_BIT_MODES for mode in image_file.modes):
        yield from _decoded(path)
        return
    low = high = None
    for index, page in enumerate(_decoded(path)):
        if page.dtype == np.uint8:
            continue
        if page.dtype.kind not in 'uif':
            raise DatasetError(f'{path}: page {index} has unsupported pixel type {page.dtype}')
        if not np.all(np.isfinite(page)):
            raise DatasetError(f'{path}: page {index} contains NaN or infinite values')
        low = page.min() if low is None else min(low, page.min())
        high = page.max() if high is None else max(high, page.max())
    for page in _decoded(path):
        yield page if page.dtype == np.uint8 else scale_to_uint8(page, low, high)


def _decoded(path):
    try:
        with warnings.catch_warnings(), Image.open(path) as image:
            warnings.simplefilter('ignore')
            for page in ImageSequence.Iterator(image):
                yield page_to_array(page)
    except DatasetError:
        raise
    except Exception as err:
        raise DatasetError(f'{path}: cannot decode (corrupt or truncated file): {err}') from None

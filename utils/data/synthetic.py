"""A deterministic generator of EM-like slices in the ISBI 2012 file format (the default data).

Each slice is a tessellation of irregular cells: dark membranes of varying thickness between
them, textured interiors, dark organelle blobs that are not membrane (distractors the network
must learn to ignore), then blur and noise. The files it writes are the ISBI ones (8-bit
multi-page TIFFs; labels 0 = membrane, 255 = background), plus `test-labels.tif`, which the
real challenge never published, so that prediction can report a held-out Dice.

    python -m utils.data.synthetic --data_dir ./data/synthetic
"""
import argparse
import os
import sys

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from utils.data.tiff_io import write_stack

TRAIN_FILES = ('train-volume.tif', 'train-labels.tif')
TEST_FILES = ('test-volume.tif', 'test-labels.tif')


def _smooth_noise(rng, shape, sigma):
    """Smooth random field with correlation length ~`sigma` px, zero mean, unit std.

    Wide fields are drawn on a coarse grid and interpolated up: a Gaussian filter of large
    sigma at full resolution would cost most of the generation time.
    """
    step = max(1.0, sigma / 2.0)
    coarse_shape = tuple(max(4, int(np.ceil(side / step)) + 1) for side in shape)
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape), sigma / step, mode='wrap')
    field = ndimage.zoom(coarse, step, order=1)[:shape[0], :shape[1]] if step > 1 else coarse
    field = field[:shape[0], :shape[1]]
    return (field - field.mean()) / (field.std() + 1e-12)


def _cell_centres(rng, size, min_distance=18.0):
    """Cell centres at least `min_distance` apart (greedy dart throwing), so no cell is a sliver."""
    candidates = rng.uniform(-20, size + 20, (rng.integers(120, 180), 2))
    kept = []
    for point in candidates:
        if all(np.hypot(*(point - other)) >= min_distance for other in kept):
            kept.append(point)
    return np.array(kept)


def generate_slice(rng, size=512):
    """One synthetic slice and its label.

    Args:
        rng: a numpy Generator; the slice is a pure function of its state.
        size: side of the square slice in pixels.

    Returns:
        (image, label): uint8 `[size, size]` each; label 0 = membrane, 255 = background.
    """
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    # Domain warping bends the straight Voronoi edges into irregular, curved membranes.
    warp = 9.0
    rows_w = rows + warp * _smooth_noise(rng, (size, size), 24)
    cols_w = cols + warp * _smooth_noise(rng, (size, size), 24)
    centres = _cell_centres(rng, size)
    num_cells = len(centres)
    distances, nearest = cKDTree(centres).query(
        np.stack([rows_w.ravel(), cols_w.ravel()], axis=1), k=2)
    gap = (distances[:, 1] - distances[:, 0]).reshape(size, size)
    cell_id = nearest[:, 0].reshape(size, size)
    # Membranes 2 to 4.6 px half-width, varying smoothly along the slice.
    half_width = 3.3 + 1.3 * np.tanh(_smooth_noise(rng, (size, size), 40))
    membrane = gap < half_width

    # Interiors overlap membranes in absolute brightness (dark cells, dark organelles), so a
    # threshold cannot separate the classes: the network has to learn shape and context.
    cell_brightness = rng.uniform(0.3, 0.85, num_cells)[cell_id]
    texture = 0.06 * _smooth_noise(rng, (size, size), 1.5)
    image = cell_brightness + texture

    # Organelles: dark elongated blobs (mitochondria-like) and small vesicles inside the cells,
    # kept 2 px clear of the membranes.
    inside = gap > half_width + 2
    for _ in range(rng.integers(20, 40)):
        _draw_blob(rng, image, inside, radii=(3, 14), shade=(0.12, 0.35))
    for _ in range(rng.integers(40, 80)):
        _draw_blob(rng, image, inside, radii=(1.5, 3), shade=(0.25, 0.45))

    # Membranes are darker than the cells beside them by a contrast that varies along them.
    contrast = 0.55 + 0.2 * np.tanh(_smooth_noise(rng, (size, size), 30))
    image[membrane] = (cell_brightness * (1 - contrast))[membrane] + texture[membrane]
    # Uneven illumination, as across a real section.
    image *= 1.0 + 0.2 * _smooth_noise(rng, (size, size), 80)
    image = ndimage.gaussian_filter(image, 1.0)
    image += 0.07 * rng.standard_normal((size, size))
    image = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    label = np.where(membrane, 0, 255).astype(np.uint8)
    return image, label


def _draw_blob(rng, image, allowed, radii, shade):
    """Paints a randomly rotated dark ellipse into `image` where `allowed` is true."""
    size = image.shape[0]
    r0, c0 = rng.uniform(0, size, 2)
    radius_a, radius_b = rng.uniform(*radii, 2)
    angle = rng.uniform(0, np.pi)
    reach = int(np.ceil(max(radius_a, radius_b)))
    top, left = max(0, int(r0) - reach), max(0, int(c0) - reach)
    rows, cols = np.mgrid[top:min(size, int(r0) + reach + 1), left:min(size, int(c0) + reach + 1)]
    along = (rows - r0) * np.cos(angle) + (cols - c0) * np.sin(angle)
    across = -(rows - r0) * np.sin(angle) + (cols - c0) * np.cos(angle)
    window = (slice(top, top + rows.shape[0]), slice(left, left + rows.shape[1]))
    blob = ((along / radius_a) ** 2 + (across / radius_b) ** 2 < 1) & allowed[window]
    image[window][blob] = rng.uniform(*shade)


def generate_stack(seed, pages, size=512):
    """`pages` slices drawn from `seed`: (images, labels), uint8 `[pages, size, size]` each."""
    slices = [generate_slice(np.random.default_rng([seed, page]), size) for page in range(pages)]
    images, labels = zip(*slices)
    return np.stack(images), np.stack(labels)


def generate_dataset(data_dir, seed=0, train_pages=30, test_pages=30, size=512):
    """Writes the four ISBI-format files into `data_dir`; train and test use disjoint seeds."""
    for (volume_name, labels_name), stack_seed, pages in (
            (TRAIN_FILES, 2 * seed, train_pages), (TEST_FILES, 2 * seed + 1, test_pages)):
        images, labels = generate_stack(stack_seed, pages, size)
        write_stack(os.path.join(data_dir, volume_name), images)
        write_stack(os.path.join(data_dir, labels_name), labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data_dir', required=True, help='Directory to write the four TIFFs to')
    parser.add_argument('--seed', type=int, default=0,
                        help='Seed; the same seed gives the same files')
    parser.add_argument('--train_pages', type=int, default=30, help='Slices in train-volume.tif')
    parser.add_argument('--test_pages', type=int, default=30, help='Slices in test-volume.tif')
    parser.add_argument('--size', type=int, default=512, help='Side of each slice in pixels')
    args = parser.parse_args(argv)
    for flag in ('train_pages', 'test_pages', 'size'):
        if getattr(args, flag) < 1:
            parser.error(f'--{flag} must be >= 1, got {getattr(args, flag)}')
    if args.seed < 0:
        parser.error(f'--seed must be >= 0, got {args.seed}')
    generate_dataset(args.data_dir, args.seed, args.train_pages, args.test_pages, args.size)
    print(f'wrote synthetic ISBI-format data to {args.data_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

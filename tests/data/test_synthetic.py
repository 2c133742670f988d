"""The synthetic generator: deterministic, EM-like, the ISBI files."""
import numpy as np

from utils.data import synthetic
from utils.data.dataset import load_test_data, load_training_data


def test_generator_is_deterministic_and_seed_dependent():
    first = synthetic.generate_stack(seed=5, pages=2, size=128)
    again = synthetic.generate_stack(seed=5, pages=2, size=128)
    other = synthetic.generate_stack(seed=6, pages=2, size=128)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_slices_look_like_membrane_data():
    images, labels = synthetic.generate_stack(seed=0, pages=3, size=256)
    assert images.dtype == labels.dtype == np.uint8
    assert set(np.unique(labels)) == {0, 255}
    membrane = labels == 0
    assert 0.08 < membrane.mean() < 0.3
    # Membranes are darker on average, but a global threshold cannot find them: dark
    # organelles and dark cells overlap their intensities.
    assert images[membrane].mean() < images[~membrane].mean() - 30
    best_dice = max(
        2 * np.sum((images < t) & membrane) / (np.sum(images < t) + membrane.sum())
        for t in range(10, 250, 5))
    assert best_dice < 0.65


def test_writes_the_isbi_files(tmp_path):
    synthetic.main(['--data_dir', str(tmp_path), '--train_pages', '3', '--test_pages', '2',
                    '--size', '64'])
    volume, classes = load_training_data(str(tmp_path))
    test_volume, test_classes = load_test_data(str(tmp_path))
    assert volume.shape == classes.shape == (3, 64, 64)
    assert test_volume.shape == test_classes.shape == (2, 64, 64)

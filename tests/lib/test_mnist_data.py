"""Tests of the shipped MNIST test set: load_mnist, mnist_splits and the licence file."""

import gzip
import hashlib
from importlib import resources

import numpy as np
import pytest

from dropout_lib.data import Splits, load_mnist, mnist_splits

FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
# Class distribution of MNIST's official test set (LeCun, Cortes & Burges).
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# The first ten test labels, as printed in every MNIST tutorial.
FIRST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def _folder():
    return resources.files("dropout_lib").joinpath("datasets")


def test_mnist_shapes_dtypes_range_and_counts():
    X, y = load_mnist()
    assert X.shape == (10000, 784) and X.dtype == np.float64
    assert y.shape == (10000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_allclose(X * 255, np.round(X * 255), atol=1e-9)  # grey levels / 255
    assert np.bincount(y).tolist() == TEST_COUNTS
    assert y[:10].tolist() == FIRST_LABELS


def test_mnist_images_look_like_digits():
    X, _ = load_mnist()
    img = X.reshape(-1, 28, 28)
    border = img[:, :4, :].mean()
    assert border < 0.01  # digits are centred: the top rows are background
    assert img[:, 8:20, 8:20].mean() > 20 * border
    assert 0.1 < X.mean() < 0.2  # about 13% ink on average


def test_mnist_matches_the_raw_idx_bytes():
    X, y = load_mnist()
    with _folder().joinpath(FILES[0]).open("rb") as fh:
        raw = gzip.decompress(fh.read())
    assert int.from_bytes(raw[:4], "big") == 2051
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16)
    np.testing.assert_array_equal(np.round(X.ravel() * 255).astype(np.uint8), pixels)
    with _folder().joinpath(FILES[1]).open("rb") as fh:
        labels = np.frombuffer(gzip.decompress(fh.read()), dtype=np.uint8, offset=8)
    np.testing.assert_array_equal(y, labels)


def test_mnist_files_match_recorded_checksums_and_licence():
    licence = _folder().joinpath("LICENSE.md").read_text(encoding="utf-8")
    for name in FILES:
        data = _folder().joinpath(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() in licence, name
        assert hashlib.sha256(gzip.decompress(data)).hexdigest() in licence, name
        assert len(data) < 2_000_000
    for needle in ("CC BY-SA 3.0", "Yann LeCun", "Corinna Cortes",
                   "Christopher J.C. Burges", "kelas/mnist"):
        assert needle in licence


def test_load_mnist_returns_independent_writable_copies():
    X, y = load_mnist()
    assert X.flags.writeable and y.flags.writeable
    X[:] = -1.0
    y[:] = 99
    X2, y2 = load_mnist()
    assert X2.min() == 0.0 and y2.max() == 9
    assert not np.shares_memory(X2, load_mnist()[0])


def _row_ids(splits: Splits, X_all: np.ndarray) -> list[np.ndarray]:
    """Index of each split row in the full data, found through its pixels."""
    keys = {row.tobytes(): i for i, row in enumerate(X_all)}
    assert len(keys) == X_all.shape[0]  # the 10,000 images are all distinct
    return [np.array([keys[r.tobytes()] for r in Xs])
            for Xs in (splits.X_train, splits.X_val, splits.X_test)]


@pytest.mark.parametrize("seed", [0, 3])
def test_mnist_splits_sizes_disjoint_stratified(seed):
    X, y = load_mnist()
    s = mnist_splits(seed=seed)
    assert s.sizes() == {"train": 7000, "val": 1000, "test": 2000}
    assert s.n_classes == 10 and s.n_features == 784
    ids = _row_ids(s, X)
    assert np.unique(np.concatenate(ids)).size == 10000  # disjoint and complete
    for idx, ys in zip(ids, (s.y_train, s.y_val, s.y_test), strict=True):
        np.testing.assert_array_equal(y[idx], ys)  # rows and labels stay paired
        expected = np.array(TEST_COUNTS) * len(ys) / 10000
        assert np.all(np.abs(np.bincount(ys, minlength=10) - expected) <= 1)
    assert not np.all(np.diff(s.y_train) >= 0)  # training order is shuffled


def test_mnist_splits_are_deterministic_and_seeded():
    a, b, c = mnist_splits(seed=1), mnist_splits(seed=1), mnist_splits(seed=2)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(a.get(split)[0], b.get(split)[0])
        np.testing.assert_array_equal(a.get(split)[1], b.get(split)[1])
    assert not np.array_equal(a.y_test, c.y_test)


def test_mnist_splits_subsample_keeps_validation_and_test():
    full = mnist_splits(seed=0)
    small = mnist_splits(seed=0, n_train=500)
    assert small.sizes() == {"train": 500, "val": 1000, "test": 2000}
    np.testing.assert_array_equal(small.X_val, full.X_val)
    np.testing.assert_array_equal(small.y_test, full.y_test)
    expected = np.array(TEST_COUNTS) * 500 / 10000
    assert np.all(np.abs(np.bincount(small.y_train, minlength=10) - expected) <= 1.5)
    train_rows = {r.tobytes() for r in full.X_train}
    assert all(r.tobytes() in train_rows for r in small.X_train)  # drawn from train
    assert len({r.tobytes() for r in small.X_train}) == 500  # without replacement


def test_mnist_splits_share_no_memory_between_calls():
    a = mnist_splits(seed=0)
    a.X_train[:] = 0.0
    a.y_train[:] = 0
    b = mnist_splits(seed=0)
    assert b.X_train.max() == 1.0 and b.y_train.max() == 9
    assert not np.shares_memory(a.X_train, b.X_train)


@pytest.mark.parametrize("kwargs, exc, word", [
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"val_frac": 0.6, "test_frac": 0.5}, ValueError, "val_frac"),
    ({"n_train": 0}, ValueError, "n_train"),
    ({"n_train": 7001}, ValueError, "n_train"),
])
def test_mnist_splits_bad_arguments_name_the_argument(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        mnist_splits(**kwargs)

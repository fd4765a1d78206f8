"""Tests of dropout_lib.data: the shipped digits, synthetic sets and seeded splits."""

import hashlib
from importlib import resources

import numpy as np
import pytest

from dropout_lib.data import (
    Splits,
    digits_splits,
    gap_function,
    load_digits,
    make_gap_regression,
    make_linear_regression,
    subsample_train,
    train_val_test_split,
)

# Class distribution of the UCI optdigits test set (optdigits.names, "Class
# Distribution", testing set), which is what the shipped file contains.
UCI_TEST_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def _readonly(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def test_digits_shape_classes_and_counts():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, np.round(X * 16))  # counts 0..16, divided by 16
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    assert np.bincount(y).tolist() == UCI_TEST_COUNTS


def test_digits_file_matches_recorded_checksum_and_licence():
    folder = resources.files("dropout_lib").joinpath("datasets")
    digest = hashlib.sha256(folder.joinpath("digits.csv.gz").read_bytes()).hexdigest()
    licence = folder.joinpath("LICENSE.md").read_text(encoding="utf-8")
    assert digest in licence
    for needle in ("CC BY 4.0", "Alpaydin", "Kaynak", "Optical Recognition of Handwritten Digits"):
        assert needle in licence


def test_load_digits_returns_independent_copies():
    X, y = load_digits()
    X[:] = -1.0
    y[:] = 99
    X2, y2 = load_digits()
    assert X2.min() == 0.0 and y2.max() == 9


def test_split_sizes_disjoint_stratified_and_seeded():
    n = 1000
    X = np.arange(n, dtype=np.float64)[:, None]  # row id as the only feature
    y = np.repeat(np.arange(4), [100, 200, 300, 400])
    s = train_val_test_split(X, y, val_frac=0.2, test_frac=0.1, seed=0)
    assert s.sizes() == {"train": 700, "val": 200, "test": 100}
    ids = [s.X_train[:, 0], s.X_val[:, 0], s.X_test[:, 0]]
    allid = np.concatenate(ids)
    assert np.unique(allid).size == n  # disjoint and complete
    for Xs, ys in ((s.X_train, s.y_train), (s.X_val, s.y_val), (s.X_test, s.y_test)):
        np.testing.assert_array_equal(y[Xs[:, 0].astype(int)], ys)  # rows stay paired
        expected = np.array([100, 200, 300, 400]) * len(ys) / n
        assert np.all(np.abs(np.bincount(ys, minlength=4) - expected) <= 1)
    again = train_val_test_split(X, y, val_frac=0.2, test_frac=0.1, seed=0)
    other = train_val_test_split(X, y, val_frac=0.2, test_frac=0.1, seed=1)
    np.testing.assert_array_equal(again.X_train, s.X_train)
    assert not np.array_equal(np.sort(other.X_test[:, 0]), np.sort(s.X_test[:, 0]))
    assert s.n_classes == 4 and s.n_features == 1


def test_regression_split_is_not_stratified_and_works():
    X, y, _ = make_linear_regression(50, 3, seed=0)
    s = train_val_test_split(X, y, seed=0)
    assert s.n_classes is None and sum(s.sizes().values()) == 50
    with pytest.raises(ValueError, match="stratify=True needs 1-D integer class labels"):
        train_val_test_split(X, y, stratify=True, seed=0)


def test_subsample_is_stratified_nested_and_keeps_val_test():
    full = digits_splits(seed=3)
    prev = None
    counts = np.bincount(full.y_train, minlength=10)
    for n in (50, 100, 300, 1000):
        s = digits_splits(seed=3, n_train=n)
        assert s.X_train.shape == (n, 64)
        expected = counts * n / counts.sum()
        assert np.all(np.abs(np.bincount(s.y_train, minlength=10) - expected) <= 1)
        np.testing.assert_array_equal(s.X_val, full.X_val)
        np.testing.assert_array_equal(s.y_test, full.y_test)
        rows = {r.tobytes() for r in s.X_train}
        assert rows <= {r.tobytes() for r in full.X_train}
        if prev is not None:
            assert prev <= rows  # nested: smaller sets are subsets of larger ones
        prev = rows


def test_subsample_validation():
    s = digits_splits(seed=0)
    with pytest.raises(ValueError, match=r"n_train must be <= the training pool size 1079"):
        subsample_train(s, 5000, seed=0)
    with pytest.raises(ValueError, match="n_train must be an int >= 1"):
        subsample_train(s, 0, seed=0)
    with pytest.raises(TypeError, match="seed .* or rng .* is required"):
        subsample_train(s, 10)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: train_val_test_split(np.ones(5), np.zeros(5, int), seed=0), ValueError,
     "X must be 2-D"),
    (lambda: train_val_test_split(np.ones((5, 2)), np.zeros(4, int), seed=0), ValueError,
     "X and y must have the same length"),
    (lambda: train_val_test_split(np.ones((5, 2)), np.zeros(5, int), val_frac=0.6,
                                  test_frac=0.5, seed=0), ValueError,
     "val_frac \\+ test_frac must be < 1"),
    (lambda: train_val_test_split(np.ones((5, 2)), np.zeros(5, int)), TypeError,
     "global NumPy random state is never used"),
    (lambda: train_val_test_split(np.ones((5, 2)), np.zeros(5, int), seed=0,
                                  rng=np.random.default_rng(0)), TypeError,
     "either seed or rng"),
    (lambda: make_gap_regression(10, noise=-1, seed=0), ValueError,
     "noise must be a finite number >= 0"),
    (lambda: make_gap_regression(10, gap=(4, 5), seed=0), ValueError, "gap"),
    (lambda: Splits(np.ones((3, 2)), np.zeros(2)), ValueError,
     "X_train and y_train must have the same length"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_split_functions_do_not_modify_inputs():
    X = _readonly(np.random.default_rng(0).standard_normal((60, 3)))
    y = _readonly(np.arange(60) % 3)
    X0, y0 = X.copy(), y.copy()
    s = train_val_test_split(X, y, seed=0)
    subsample_train(s, 10, seed=0)
    make_linear_regression(5, 3, w=_readonly([1.0, 2.0, 3.0]), seed=0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_gap_regression():
    X, y = make_gap_regression(200, x_range=(-3, 3), gap=(-0.5, 1.0), noise=0.0, seed=0)
    x = X[:, 0]
    assert X.shape == (200, 1) and y.shape == (200,)
    assert np.all(np.diff(x) >= 0)
    assert np.all((x >= -3) & (x < 3)) and not np.any((x > -0.5) & (x < 1.0))
    assert np.any(x < -2.5) and np.any(x > 2.5)
    np.testing.assert_allclose(y, gap_function(x))
    _, noisy = make_gap_regression(200, noise=0.1, seed=0)
    assert 0.05 < np.std(noisy - gap_function(X[:, 0])) < 0.2


def test_linear_regression():
    X, y, w = make_linear_regression(30, 4, noise=0.0, seed=0)
    np.testing.assert_allclose(y, X @ w)
    _, _, w2 = make_linear_regression(30, 4, w=[1.0, 0.0, -1.0, 2.0], seed=0)
    np.testing.assert_array_equal(w2, [1.0, 0.0, -1.0, 2.0])
    with pytest.raises(ValueError, match=r"w must have shape \(4,\)"):
        make_linear_regression(30, 4, w=[1.0], seed=0)


def test_splits_infers_classes_and_converts_lists():
    s = Splits([[0.0], [1.0], [2.0]], [0, 2, 1], [[3.0]], [4])
    assert isinstance(s.X_train, np.ndarray) and s.n_classes == 5
    assert s.available() == ["train", "val"] and s.sizes() == {"train": 3, "val": 1}
    assert Splits(np.ones((2, 1)), np.array([0.5, 1.5])).n_classes is None
    with pytest.raises(ValueError, match="this Splits has no 'test' split"):
        s.get("test")
    with pytest.raises(ValueError, match="n_classes must be an int >= 2"):
        Splits(np.ones((2, 1)), np.array([0, 0]), n_classes=1)

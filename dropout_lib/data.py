"""Data sets for the book: the digits and MNIST (shipped, offline), synthetic sets, splits.

Every draw comes from an explicit ``np.random.Generator``, built from ``seed``
or passed as ``rng`` (exactly one of the two); no function modifies its inputs.

See Also
--------
book/02_inverted_dropout.ipynb : digits experiments.
book/03_co_adaptation.ipynb : small training sets, where dropout helps most.
book/04_ensembles.ipynb : the gap regression set for MC-dropout uncertainty.
book/05_noise_and_modern.ipynb : MNIST's 10,000 test images, the 784-512-512-10
    network.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from importlib import resources

import numpy as np

from ._checks import as_generator, check_int, check_scalar

__all__ = [
    "Splits",
    "digits_splits",
    "gap_function",
    "load_digits",
    "load_mnist",
    "make_gap_regression",
    "make_linear_regression",
    "mnist_splits",
    "subsample_train",
    "train_val_test_split",
]

SeedLike = int | np.random.SeedSequence | None


def _check_Xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (N, D); got ndim={X.ndim}")
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D (N,) or 2-D (N, K); got ndim={y.ndim}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same length; got {X.shape[0]} and {y.shape[0]}")
    return X, y


def _is_classification(y: np.ndarray) -> bool:
    return y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and y.dtype != bool


# --------------------------------------------------------------------------- digits


@functools.lru_cache(maxsize=1)
def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    ref = resources.files("dropout_lib").joinpath("datasets", "digits.csv.gz")
    with ref.open("rb") as fh, gzip.open(fh, "rt") as text:
        raw = np.loadtxt(text, delimiter=",", dtype=np.int64)
    X = raw[:, :64].astype(np.float64) / 16.0
    y = raw[:, 64].copy()
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load the 8x8 handwritten digits (1797 images, 10 classes), offline.

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        Pixel counts 0..16 divided by 16; row-major 8x8.
    y : ndarray of int64, shape (1797,)
        Digit labels 0..9.

    Notes
    -----
    The UCI *Optical Recognition of Handwritten Digits* test set (Alpaydin &
    Kaynak, 1998), CC BY 4.0; see ``dropout_lib/datasets/LICENSE.md``. Each
    call returns fresh, writable copies.

    See Also
    --------
    digits_splits, book/02_inverted_dropout.ipynb
    """
    X, y = _read_digits()
    return X.copy(), y.copy()


# --------------------------------------------------------------------------- splits


@dataclass(frozen=True, eq=False)
class Splits:
    """Train/validation/test arrays.

    Attributes
    ----------
    X_train : ndarray, shape (N_train, D)
    y_train : ndarray, shape (N_train,) int labels, or (N_train,)/(N_train, K) targets
    X_val, y_val, X_test, y_test : ndarray or None
        The other splits (``None`` if absent).
    n_classes : int or None
        Number of classes; ``None`` for regression. Inferred from 1-D integer
        labels (largest label plus one) when not given.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    n_classes: int | None = None

    def __post_init__(self) -> None:
        for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, np.ndarray):
                object.__setattr__(self, name, np.asarray(value))
        for split in ("train", "val", "test"):
            X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
            if (X is None) != (y is None):
                raise ValueError(f"X_{split} and y_{split} must both be given or both be None")
            if X is None:
                if split == "train":
                    raise ValueError("X_train and y_train are required")
                continue
            if X.ndim != 2:
                raise ValueError(f"X_{split} must be 2-D (N, D); got ndim={X.ndim}")
            if X.shape[0] != y.shape[0]:
                raise ValueError(f"X_{split} and y_{split} must have the same length; "
                                 f"got {X.shape[0]} and {y.shape[0]}")
            if X.shape[1] != self.X_train.shape[1]:
                raise ValueError(f"X_{split} has {X.shape[1]} features but X_train has "
                                 f"{self.X_train.shape[1]}")
        ys = [getattr(self, f"y_{s}") for s in ("train", "val", "test")]
        ys = [y for y in ys if y is not None and y.size]
        if self.n_classes is None and ys and all(_is_classification(y) for y in ys):
            object.__setattr__(self, "n_classes", int(max(int(y.max()) for y in ys)) + 1)
        elif self.n_classes is not None:
            object.__setattr__(self, "n_classes", check_int(self.n_classes, "n_classes", 2))

    @property
    def n_features(self) -> int:
        """Number of input features D."""
        return int(self.X_train.shape[1])

    @property
    def is_classification(self) -> bool:
        """True when the labels are integer classes."""
        return self.n_classes is not None

    def available(self) -> list[str]:
        """Names of the splits present, in the order train, val, test."""
        return [s for s in ("train", "val", "test") if getattr(self, f"X_{s}") is not None]

    def get(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(X, y)`` of ``split`` ("train", "val" or "test")."""
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test'; got {split!r}")
        X = getattr(self, f"X_{split}")
        if X is None:
            raise ValueError(f"this Splits has no {split!r} split")
        return X, getattr(self, f"y_{split}")

    def sizes(self) -> dict[str, int]:
        """Number of examples per available split."""
        return {s: int(getattr(self, f"X_{s}").shape[0]) for s in self.available()}


def _stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation whose every prefix is (to within one per class) stratified.

    Each class's examples are shuffled; the k-th of n_c gets the position
    (k + u_c) / n_c with a random offset u_c in [0, 1), and all examples are
    sorted by position (ties broken at random). Taking the first n of this order
    gives about n * n_c / N examples of class c, and the sets are nested in n.
    """
    n = y.shape[0]
    pos = np.empty(n, dtype=np.float64)
    classes = np.unique(y)
    for c in classes:
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(idx.size)]
        pos[idx] = (np.arange(idx.size) + rng.random()) / idx.size
    tiebreak = rng.random(n)
    return np.lexsort((tiebreak, pos))


def train_val_test_split(
    X: np.ndarray,
    y: np.ndarray,
    *,
    val_frac: float = 0.2,
    test_frac: float = 0.2,
    stratify: bool | None = None,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
) -> Splits:
    """Split ``(X, y)`` into train, validation and test sets, stratified by class.

    Parameters
    ----------
    X : ndarray, shape (N, D)
    y : ndarray, shape (N,) or (N, K)
        Integer class labels (classification) or float targets (regression).
    val_frac, test_frac : float, default 0.2
        Fractions of the N examples for validation and test, each in [0, 1),
        sum < 1; 0 gives no such split (``None`` in the result).
    stratify : bool, optional
        Keep each class's share in every split, to within one example per
        class. Default: True for integer labels, False otherwise.
    seed : int or SeedSequence, optional
    rng : numpy.random.Generator, optional
        Exactly one of ``seed`` and ``rng``.

    Returns
    -------
    Splits
        New arrays: ``round(test_frac * N)`` test examples,
        ``round(val_frac * N)`` validation examples, the rest for training
        (shuffled).

    See Also
    --------
    subsample_train, digits_splits
    """
    X, y = _check_Xy(X, y)
    val_frac = check_scalar(val_frac, "val_frac", low=0.0, high=1.0, high_open=True)
    test_frac = check_scalar(test_frac, "test_frac", low=0.0, high=1.0, high_open=True)
    if val_frac + test_frac >= 1.0:
        raise ValueError(f"val_frac + test_frac must be < 1; got {val_frac} + {test_frac}")
    gen = as_generator(seed, rng)
    classification = _is_classification(y)
    if stratify is None:
        stratify = classification
    if stratify and not classification:
        raise ValueError("stratify=True needs 1-D integer class labels y")
    n = X.shape[0]
    order = _stratified_order(y, gen) if stratify else gen.permutation(n)
    n_test = round(test_frac * n)
    n_val = round(val_frac * n)
    if n - n_test - n_val < 1:
        raise ValueError(f"no training examples left with N={n}, val_frac={val_frac}, "
                         f"test_frac={test_frac}")
    test_idx = np.sort(order[:n_test])
    val_idx = np.sort(order[n_test:n_test + n_val])
    train_idx = np.sort(order[n_test + n_val:])
    # Shuffle the training order once so that models never see class-sorted data.
    train_idx = train_idx[gen.permutation(train_idx.size)]

    def take(idx):
        return (X[idx], y[idx]) if idx.size else (None, None)

    n_classes = int(y.max()) + 1 if classification and n else None
    Xtr, ytr = take(train_idx)
    Xva, yva = take(val_idx)
    Xte, yte = take(test_idx)
    return Splits(Xtr, ytr, Xva, yva, Xte, yte, n_classes=n_classes)


def subsample_train(
    splits: Splits,
    n_train: int,
    *,
    seed: SeedLike = None,
    rng: np.random.Generator | None = None,
) -> Splits:
    """Keep ``n_train`` training examples (stratified); validation and test unchanged.

    Parameters
    ----------
    splits : Splits
        Its training set is the pool to draw from.
    n_train : int
        ``1 <= n_train <=`` the pool size.
    seed : int or SeedSequence, optional
    rng : numpy.random.Generator, optional
        Exactly one of ``seed`` and ``rng``.

    Returns
    -------
    Splits
        New training arrays; the same validation and test arrays.

    Notes
    -----
    For classes the draw is stratified and nested: with the same seed, the
    50-example set lies inside the 100-example set, so a learning curve over
    ``n_train`` compares like with like.

    See Also
    --------
    book/03_co_adaptation.ipynb : dropout helps most with small training sets.
    """
    if not isinstance(splits, Splits):
        raise TypeError(f"splits must be a Splits; got {type(splits).__name__}")
    pool = splits.X_train.shape[0]
    n_train = check_int(n_train, "n_train", 1)
    if n_train > pool:
        raise ValueError(f"n_train must be <= the training pool size {pool}; got {n_train}")
    gen = as_generator(seed, rng)
    y = splits.y_train
    order = _stratified_order(y, gen) if splits.is_classification else gen.permutation(pool)
    idx = order[:n_train]
    idx = idx[gen.permutation(n_train)]
    return Splits(splits.X_train[idx], y[idx], splits.X_val, splits.y_val,
                  splits.X_test, splits.y_test, n_classes=splits.n_classes)


def _seeded_splits(X: np.ndarray, y: np.ndarray, seed: int, val_frac: float,
                   test_frac: float, n_train: int | None) -> Splits:
    """Split, then subsample the training part, from two streams spawned from ``seed``."""
    split_ss, sub_ss = np.random.SeedSequence(check_int(seed, "seed", 0)).spawn(2)
    splits = train_val_test_split(X, y, val_frac=val_frac, test_frac=test_frac, seed=split_ss)
    if n_train is not None:
        splits = subsample_train(splits, n_train, seed=sub_ss)
    return splits


def digits_splits(
    *,
    seed: int = 0,
    val_frac: float = 0.2,
    test_frac: float = 0.2,
    n_train: int | None = None,
) -> Splits:
    """The digits split into stratified train/val/test sets, optionally with a small train set.

    Parameters
    ----------
    seed : int, default 0
        Seed of the split. The split and the subsample use independent streams
        spawned from it, so validation and test are the same for every ``n_train``.
    val_frac, test_frac : float, default 0.2
        Fractions of the 1797 images (359 each by default, leaving 1079 to train).
    n_train : int, optional
        Keep only this many training images (see :func:`subsample_train`).

    Returns
    -------
    Splits

    See Also
    --------
    load_digits, subsample_train, book/03_co_adaptation.ipynb
    """
    X, y = load_digits()
    return _seeded_splits(X, y, seed, val_frac, test_frac, n_train)


# --------------------------------------------------------------------------- MNIST

#: The shipped MNIST files: (name, idx magic number, shape after the header).
_MNIST_FILES = {"images": ("t10k-images-idx3-ubyte.gz", 2051, (10000, 28, 28)),
                "labels": ("t10k-labels-idx1-ubyte.gz", 2049, (10000,))}


def _read_idx(name: str, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    """One gzipped idx file of uint8: big-endian magic, then one int32 per axis."""
    ref = resources.files("dropout_lib").joinpath("datasets", name)
    with ref.open("rb") as fh, gzip.open(fh, "rb") as raw:
        data = raw.read()
    head = np.frombuffer(data, dtype=">i4", count=1 + len(shape))
    if int(head[0]) != magic or tuple(int(d) for d in head[1:]) != shape:
        raise ValueError(f"{name} is not an idx file of shape {shape}: header "
                         f"{head.tolist()}")
    return np.frombuffer(data, dtype=np.uint8, offset=4 * head.size).reshape(shape)


@functools.lru_cache(maxsize=1)
def _read_mnist() -> tuple[np.ndarray, np.ndarray]:
    images = _read_idx(*_MNIST_FILES["images"])
    labels = _read_idx(*_MNIST_FILES["labels"])
    X = images.reshape(images.shape[0], -1).astype(np.float64) / 255.0
    y = labels.astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST's 10,000 test images (28x28, 10 classes), offline.

    Returns
    -------
    X : ndarray of float64, shape (10000, 784)
        Grey levels 0..255 divided by 255; row-major 28x28.
    y : ndarray of int64, shape (10000,)
        Digit labels 0..9.

    Notes
    -----
    The official MNIST *test* set (LeCun, Cortes & Burges), CC BY-SA 3.0;
    see ``dropout_lib/datasets/LICENSE.md``. The 60,000 training images are
    not shipped. Each call returns fresh, writable copies.

    See Also
    --------
    mnist_splits, book/05_noise_and_modern.ipynb
    """
    X, y = _read_mnist()
    return X.copy(), y.copy()


def mnist_splits(
    *,
    seed: int = 0,
    val_frac: float = 0.1,
    test_frac: float = 0.2,
    n_train: int | None = None,
) -> Splits:
    """The 10,000 MNIST images split into stratified train/val/test sets.

    Parameters
    ----------
    seed : int, default 0
        Seed of the split. The split and the subsample use independent streams
        spawned from it, so validation and test are the same for every ``n_train``.
    val_frac, test_frac : float, default 0.1 and 0.2
        Fractions of the 10,000 images (1,000 and 2,000 by default, leaving
        7,000 to train).
    n_train : int, optional
        Keep only this many training images (see :func:`subsample_train`).

    Returns
    -------
    Splits

    See Also
    --------
    load_mnist, digits_splits, book/05_noise_and_modern.ipynb
    """
    X, y = load_mnist()
    return _seeded_splits(X, y, seed, val_frac, test_frac, n_train)


# --------------------------------------------------------------------------- synthetic


def gap_function(x: np.ndarray) -> np.ndarray:
    """The noise-free curve of :func:`make_gap_regression`: ``sin(2x) + 0.3 x`` (new array)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sin(2.0 * x) + 0.3 * x


def make_gap_regression(n_samples: int = 100, *, x_range: tuple[float, float] = (-3.0, 3.0),
                        gap: tuple[float, float] = (-0.5, 1.0), noise: float = 0.1,
                        seed: SeedLike = None, rng: np.random.Generator | None = None,
                        ) -> tuple[np.ndarray, np.ndarray]:
    r"""1-D regression data with no inputs inside a gap (for MC-dropout uncertainty).

    Parameters
    ----------
    n_samples : int, default 100
    x_range : (float, float), default (-3, 3)
        Inputs are uniform on this interval minus the gap.
    gap : (float, float), default (-0.5, 1.0)
        Open interval with no inputs, inside ``x_range``.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise on the targets, >= 0.
    seed, rng
        Seed or Generator (exactly one).

    Returns
    -------
    X : ndarray of float64, shape (n_samples, 1)
        Sorted inputs.
    y : ndarray of float64, shape (n_samples,)
        :math:`y = \sin 2x + 0.3x + \varepsilon` (:func:`gap_function` plus noise).

    See Also
    --------
    gap_function, book/04_ensembles.ipynb
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    noise = check_scalar(noise, "noise", low=0.0)
    lo, hi = (float(v) for v in x_range)
    g0, g1 = (float(v) for v in gap)
    if not lo < g0 < g1 < hi:
        raise ValueError(f"need x_range[0] < gap[0] < gap[1] < x_range[1]; "
                         f"got x_range={x_range}, gap={gap}")
    gen = as_generator(seed, rng)
    # Uniform on [lo, g0) U [g1, hi): draw on an interval of the total length, then shift.
    u = gen.uniform(0.0, (g0 - lo) + (hi - g1), n_samples)
    x = np.where(u < g0 - lo, lo + u, g1 + (u - (g0 - lo)))
    x.sort()
    y = gap_function(x) + noise * gen.standard_normal(n_samples)
    return x[:, None], y


def make_linear_regression(n_samples: int = 100, n_features: int = 5, *, noise: float = 0.5,
                           w: np.ndarray | None = None, seed: SeedLike = None,
                           rng: np.random.Generator | None = None,
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Linear regression data ``y = X @ w + noise`` with standard normal inputs.

    Parameters
    ----------
    n_samples : int, default 100
    n_features : int, default 5
    noise : float, default 0.5
        Standard deviation of the Gaussian noise on y, >= 0.
    w : ndarray, shape (n_features,), optional
        True weights (not modified); drawn standard normal if not given.
    seed, rng
        Seed or Generator (exactly one).

    Returns
    -------
    X : ndarray of float64, shape (n_samples, n_features)
    y : ndarray of float64, shape (n_samples,)
    w : ndarray of float64, shape (n_features,)
        The true weights (a copy).

    Notes
    -----
    Inverted dropout of the inputs at rate :math:`p` adds, in expectation, the
    penalty :math:`\frac{p}{1-p}\sum_j w_j^2 \lVert X_{:,j}\rVert^2` to the
    squared error (Srivastava et al. 2014, sec. 9.1).

    See Also
    --------
    book/02_inverted_dropout.ipynb
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    n_features = check_int(n_features, "n_features", 1)
    noise = check_scalar(noise, "noise", low=0.0)
    gen = as_generator(seed, rng)
    if w is None:
        w = gen.standard_normal(n_features)
    else:
        w = np.array(w, dtype=np.float64)
        if w.shape != (n_features,):
            raise ValueError(f"w must have shape ({n_features},); got {w.shape}")
    X = gen.standard_normal((n_samples, n_features))
    y = X @ w + noise * gen.standard_normal(n_samples)
    return X, y, w

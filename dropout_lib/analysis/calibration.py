"""Calibration of predicted probabilities: NLL, ECE, reliability, temperature.

A classifier is *calibrated* when, among the examples it gives confidence
``c``, a fraction ``c`` is right. Temperature scaling (Guo et al. 2017)
divides the scores by one number ``T`` fitted on the validation split.

See Also
--------
book/03_co_adaptation.ipynb : dropout against a tuned, temperature-scaled
    plain network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_int, check_scalar
from ..losses import log_softmax

__all__ = [
    "expected_calibration_error",
    "fit_temperature",
    "nll",
    "nll_per_example",
    "reliability",
]


def _check_2d(a: Any, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite array of shape (N, K), "
                         f"N >= 1; got shape {a.shape}")
    return a


def _check_labels(y: Any, shape: tuple[int, int]) -> np.ndarray:
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer) or y.shape != shape[:1]:
        raise ValueError(f"y must be int labels of shape ({shape[0]},); "
                         f"got {y.dtype} {y.shape}")
    if y.min() < 0 or y.max() >= shape[1]:
        raise ValueError(f"y must lie in 0..{shape[1] - 1}")
    return y


def _check_proba(proba: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    p = _check_2d(proba, "proba")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("proba rows must be probabilities that sum to 1")
    return p, _check_labels(y, p.shape)


def nll(proba: np.ndarray, y: np.ndarray) -> float:
    r"""Mean negative log-likelihood :math:`-\frac1N\sum_i \log p_{i, y_i}`.

    Parameters
    ----------
    proba : ndarray, shape (N, K)
    y : ndarray of int, shape (N,)
    """
    return float(np.mean(nll_per_example(proba, y)))


def nll_per_example(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Each example's negative log-likelihood :math:`-\log p_{i, y_i}`.

    The paired, per-test-image differences of two models' losses are what
    a bootstrap over test images resamples.

    Parameters
    ----------
    proba : ndarray, shape (N, K)
    y : ndarray of int, shape (N,)

    Returns
    -------
    ndarray, shape (N,)
        A new array; its mean is :func:`nll`.
    """
    p, y = _check_proba(proba, y)
    picked = p[np.arange(y.size), y]
    return -np.log(np.maximum(picked, np.finfo(float).tiny))


def reliability(proba: np.ndarray, y: np.ndarray, *,
                n_bins: int = 10) -> dict[str, np.ndarray]:
    """Accuracy against confidence in equal-width confidence bins.

    Parameters
    ----------
    proba : ndarray, shape (N, K)
    y : ndarray of int, shape (N,)
    n_bins : int, default 10
        Bins of the top-class probability over [0, 1].

    Returns
    -------
    dict
        ``"edges"`` (n_bins + 1,), and per bin ``"count"``, mean
        ``"confidence"`` and ``"accuracy"`` (NaN for an empty bin).
    """
    p, y = _check_proba(proba, y)
    n_bins = check_int(n_bins, "n_bins", 1)
    conf = p.max(axis=1)
    right = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        confidence = np.bincount(idx, conf, n_bins) / count
        accuracy = np.bincount(idx, right, n_bins) / count
    return {"edges": edges, "count": count, "confidence": confidence,
            "accuracy": accuracy}


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, *,
                               n_bins: int = 10) -> float:
    r"""ECE: :math:`\sum_b \frac{n_b}{N}\,|\mathrm{acc}_b - \mathrm{conf}_b|`.

    Bins as in :func:`reliability` (the top-class probability, equal width).
    """
    r = reliability(proba, y, n_bins=n_bins)
    used = r["count"] > 0
    gaps = np.abs(r["accuracy"][used] - r["confidence"][used])
    return float(np.sum(r["count"][used] * gaps) / np.sum(r["count"]))


def _nll_at(scores: np.ndarray, y: np.ndarray, log_t: float) -> float:
    logp = log_softmax(scores / np.exp(log_t))
    return float(-np.mean(logp[np.arange(y.size), y]))


def fit_temperature(scores: np.ndarray, y: np.ndarray, *,
                    low: float = 0.05, high: float = 20.0) -> float:
    """The temperature ``T`` that minimises the NLL of ``softmax(scores / T)``.

    Fit it on the validation split only. Golden-section search over
    ``log T`` (the NLL is unimodal in it), to a relative precision of 1e-6.

    Parameters
    ----------
    scores : ndarray, shape (N, K)
        Evaluation-mode scores (logits), e.g. ``net.scores(X_val)``.
    y : ndarray of int, shape (N,)
    low, high : float
        Search interval for ``T``.

    Returns
    -------
    float
        ``T > 1`` softens over-confident predictions.
    """
    s = _check_2d(scores, "scores")
    y = _check_labels(y, s.shape)
    low = check_scalar(low, "low", low=0.0, low_open=True)
    high = check_scalar(high, "high", low=low, low_open=True)
    a, b = np.log(low), np.log(high)
    g = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = _nll_at(s, y, c), _nll_at(s, y, d)
    while b - a > 1e-6:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = _nll_at(s, y, c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = _nll_at(s, y, d)
    return float(np.exp((a + b) / 2.0))

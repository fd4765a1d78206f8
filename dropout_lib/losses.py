"""Loss functions and weight penalties, each returning the value and its gradient.

All functions are pure: they never modify their inputs and return new arrays.

See Also
--------
book/02_inverted_dropout.ipynb : where the losses are first used to train a network.
book/03_co_adaptation.ipynb : L2 weight decay and max-norm next to dropout.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._checks import check_scalar

__all__ = [
    "check_labels",
    "l2_penalty",
    "log_softmax",
    "mean_squared_error",
    "softmax",
    "softmax_cross_entropy",
]


def _as_float_2d(a: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (N, C); got ndim={a.ndim}")
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    return a


def check_labels(y: np.ndarray, n: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Check integer class labels and return them as an int64 array.

    Parameters
    ----------
    y : array_like of int, shape (N,)
        Class labels (bools and floats are a TypeError).
    n : int
        Expected number of labels N (the rows of the inputs or scores).
    n_classes : int
        Labels must lie in ``0 .. n_classes - 1`` (else a ValueError).
    name : str, default "y"
        Argument name used in error messages.

    Returns
    -------
    y : ndarray of int64, shape (N,)
        The labels (a copy only if a conversion was needed).
    """
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels; got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one label per row; got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(
            f"{name} has {y.shape[0]} labels but the inputs/scores have {n} rows; "
            "they must have the same length"
        )
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{name} labels must lie in 0..{n_classes - 1} for {n_classes} classes; "
            f"got range {int(y.min())}..{int(y.max())}"
        )
    return y.astype(np.int64, copy=False)


def log_softmax(scores: np.ndarray) -> np.ndarray:
    r"""Row-wise log-softmax, computed stably with the log-sum-exp trick.

    Parameters
    ----------
    scores : ndarray, shape (N, C)
        Unnormalised class scores (logits).

    Returns
    -------
    ndarray, shape (N, C)
        :math:`\log p_{ic} = s_{ic} - m_i - \log\sum_k e^{s_{ik} - m_i}` with
        :math:`m_i = \max_k s_{ik}`, so ``exp`` never overflows.
    """
    scores = _as_float_2d(scores, "scores")
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax probabilities, shape (N, C); see :func:`log_softmax`."""
    return np.exp(log_softmax(scores))


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Mean softmax cross-entropy loss and its gradient with respect to the scores.

    Parameters
    ----------
    scores : ndarray, shape (N, C)
        Unnormalised class scores (logits) of N examples over C classes.
    y : ndarray of int, shape (N,)
        Correct class of each example, in ``0 .. C-1``.

    Returns
    -------
    loss : float
        :math:`L = -\frac{1}{N}\sum_i \log p_{i, y_i}`, with
        :math:`p = \operatorname{softmax}(s)` (see :func:`log_softmax`).
    dscores : ndarray, shape (N, C)
        :math:`\partial L / \partial s_{ic} = (p_{ic} - [c = y_i]) / N`.

    See Also
    --------
    book/02_inverted_dropout.ipynb : training with this loss.
    """
    scores = _as_float_2d(scores, "scores")
    n, c = scores.shape
    if n == 0:
        raise ValueError("scores must contain at least one row")
    y = check_labels(y, n, c)
    logp = log_softmax(scores)
    rows = np.arange(n)
    loss = float(-logp[rows, y].mean())
    dscores = np.exp(logp)
    dscores[rows, y] -= 1.0
    dscores /= n
    return loss, dscores


def mean_squared_error(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Mean squared error and its gradient with respect to the predictions.

    Parameters
    ----------
    pred : ndarray, shape (N, K)
        Predictions (shape (N, 1) for one output).
    target : ndarray, shape (N, K), or (N,) when K == 1

    Returns
    -------
    loss : float
        :math:`L = \frac{1}{N K}\sum_{i,k} (\hat y_{ik} - y_{ik})^2`, the mean over
        examples and outputs.
    dpred : ndarray, shape (N, K)
        :math:`\partial L/\partial \hat y_{ik} = 2(\hat y_{ik} - y_{ik})/(N K)`.

    See Also
    --------
    book/04_ensembles.ipynb : regression with MC-dropout uncertainty.
    """
    pred = _as_float_2d(pred, "pred")
    target = np.asarray(target, dtype=pred.dtype)
    if target.ndim == 1 and pred.shape[1] == 1:
        target = target[:, None]
    if target.shape != pred.shape:
        raise ValueError(
            f"target must have the shape of pred {pred.shape} (or ({pred.shape[0]},) for "
            f"one output); got {target.shape}"
        )
    if pred.size == 0:
        raise ValueError("pred must contain at least one element")
    diff = pred - target
    loss = float(np.mean(diff * diff))
    dpred = diff * (2.0 / diff.size)
    return loss, dpred


def l2_penalty(
    params: Mapping[str, np.ndarray], l2: float
) -> tuple[float, dict[str, np.ndarray]]:
    r"""L2 weight decay on the weight matrices (not the biases) and its gradient.

    Parameters
    ----------
    params : mapping of str to ndarray
        Network parameters keyed ``"W1", "b1", "W2", ...``; only keys starting
        with ``"W"`` are penalised.
    l2 : float
        Penalty strength :math:`\lambda \ge 0`.

    Returns
    -------
    penalty : float
        :math:`\frac{\lambda}{2}\sum_l \lVert W_l \rVert_F^2`.
    grads : dict of str to ndarray
        :math:`\lambda W_l` for every weight key (biases are absent).

    Notes
    -----
    Biases multiply no input, so shrinking them would not smooth the function.

    See Also
    --------
    book/03_co_adaptation.ipynb : L2 compared with dropout and max-norm.
    """
    l2 = check_scalar(l2, "l2", low=0.0)
    penalty = 0.0
    grads: dict[str, np.ndarray] = {}
    for key, w in params.items():
        if key.startswith("W"):
            penalty += 0.5 * l2 * float(np.sum(w * w))
            grads[key] = l2 * w
    return penalty, grads

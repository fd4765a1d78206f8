r"""Dropout as an ensemble: every subnetwork, exactly, and Monte-Carlo estimates.

A dropout network with :math:`n` droppable units defines :math:`2^n` *subnetworks*,
one per binary mask :math:`m \in \{0, 1\}^n`, all built from the same weights. Mask
:math:`m` has probability

.. math::
    P(m) = \prod_{j=1}^{n} q_j^{m_j} (1 - q_j)^{1 - m_j}, \qquad q_j = 1 - p_j,

where :math:`p_j` is the drop probability of unit :math:`j`. This module enumerates
all masks of a small network (:func:`enumerate_masks`, :func:`subnetwork_outputs`) and
computes four ways of predicting with the ensemble:

- :func:`exact_mean`: the arithmetic mean :math:`\sum_m P(m)\, f_m(x)`;
- :func:`exact_nwgm`: the normalized weighted geometric mean (NWGM);
- :func:`weight_scaling`: the "mean network" (dropout switched off, one pass);
- :func:`mc_average`: the average over :math:`k` sampled masks (Monte-Carlo).

For classification, :func:`predictive_entropy`, :func:`mutual_information`
and :func:`auroc` score how well a prediction's uncertainty tells shifted
inputs from clean ones. For regression, :func:`mc_regression` gives the MC-dropout predictive mean and standard
deviation (Gal & Ghahramani, 2016). :func:`ensemble_predict_proba` averages an ordinary ensemble of
independently trained networks (:func:`dropout_lib.experiments.run_bagging`)
for comparison, and :func:`training_cost` counts the compute of a run.

Which units are droppable
-------------------------
The droppable units of an :class:`~dropout_lib.net.MLP` are its inputs (if
``p_drop_input > 0``) followed by the units of each hidden layer with
``p_drop_hidden > 0``, in forward order (:func:`droppable_units`). A mask is a
boolean row over all of them, ``True`` = kept. Mask number ``i`` of
:func:`enumerate_masks` keeps unit ``j`` exactly when bit ``j`` of ``i`` is set.

Probabilities use the nominal keep probability :math:`1 - p`. The sampler
:func:`~dropout_lib.masks.bernoulli_mask` realises it to within :math:`2^{-33}`
(exactly for e.g. ``p = 0.5`` or ``0.25``); see
:func:`~dropout_lib.masks.keep_probability`.

Every function validates its arguments, never modifies its inputs, and draws random
numbers only from an explicit ``numpy.random.Generator``.

See Also
--------
book/04_ensembles.ipynb : the chapter that uses this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._checks import check_bool, check_choice, check_int, check_p_drop, check_rng
from ..data import Splits
from ..losses import log_softmax, softmax
from ..net import MLP
from ..training import History, fit

__all__ = [
    "MAX_ENUMERATE_UNITS",
    "OUTPUTS",
    "auroc",
    "droppable_units",
    "ensemble_predict_proba",
    "enumerate_masks",
    "exact_mean",
    "exact_nwgm",
    "mc_average",
    "mc_error_curve",
    "mc_regression",
    "mutual_information",
    "predictive_entropy",
    "subnetwork_outputs",
    "training_cost",
    "unit_drop_probabilities",
    "weight_scaling",
]

#: Largest number of droppable units :func:`enumerate_masks` accepts (2**16 = 65,536 masks).
MAX_ENUMERATE_UNITS = 16

#: How raw network outputs (scores) are turned into predictions.
OUTPUTS = ("proba", "sigmoid", "scores")

#: Most masks evaluated per vectorized block (see :func:`_chunk_size`).
_CHUNK = 1024
#: Most floats in one intermediate array of a block (4e6 float64 = 32 MB).
_BLOCK_FLOATS = 4_000_000


# --------------------------------------------------------------------------- helpers


def _check_net(net: Any) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a dropout_lib MLP; got {type(net).__name__}")
    return net


def _transform(scores: np.ndarray, output: str) -> np.ndarray:
    """Scores (..., K) to predictions: softmax over the last axis, sigmoid, or identity."""
    if output == "proba":
        return softmax(scores.reshape(-1, scores.shape[-1])).reshape(scores.shape)
    if output == "sigmoid":
        # 1 / (1 + exp(-s)) without overflow for large |s|.
        return np.exp(-np.logaddexp(0.0, -scores))
    return scores


def _chunk_size(net: MLP, n_examples: int) -> int:
    """Masks per block, so that a (block, N, widest layer) array stays below _BLOCK_FLOATS."""
    return max(1, min(_CHUNK, _BLOCK_FLOATS // max(1, n_examples * max(net.layer_sizes))))


def _check_output(output: Any, allowed: Sequence[str] = OUTPUTS) -> str:
    return check_choice(output, "output", tuple(allowed))


# --------------------------------------------------------------------------- masks


def droppable_units(net: MLP) -> list[tuple[int, int, float]]:
    """The layers whose units dropout can switch off, in forward order.

    Parameters
    ----------
    net : MLP

    Returns
    -------
    list of (layer, n_units, p_drop)
        ``layer`` 0 is the input (present when ``net.p_drop_input > 0``); layer ``l >= 1``
        is hidden layer ``l`` (present when its drop probability is > 0).

    Examples
    --------
    >>> net = MLP([4, 3, 2], p_drop_input=0.2, p_drop_hidden=0.5, seed=0)
    >>> droppable_units(net)
    [(0, 4, 0.2), (1, 3, 0.5)]
    """
    net = _check_net(net)
    out = []
    if net.p_drop_input > 0:
        out.append((0, net.n_inputs, net.p_drop_input))
    for layer in range(1, net.n_hidden + 1):
        p = net.p_drop_hidden[layer - 1]
        if p > 0:
            out.append((layer, net.layer_sizes[layer], p))
    return out


def unit_drop_probabilities(net: MLP) -> np.ndarray:
    """Drop probability of each droppable unit, shape (n,), in :func:`droppable_units` order."""
    blocks = droppable_units(net)
    if not blocks:
        return np.zeros(0)
    return np.concatenate([np.full(size, p) for _, size, p in blocks])


def enumerate_masks(n_units: int,
                    p_drop: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""All :math:`2^n` dropout masks of ``n_units`` units, with their probabilities.

    Parameters
    ----------
    n_units : int
        Number of droppable units n, ``0 <= n <= MAX_ENUMERATE_UNITS`` (16).
    p_drop : float or array_like of shape (n_units,)
        Drop probability of every unit, or one per unit, each in [0, 1].

    Returns
    -------
    masks : ndarray of bool, shape (2**n_units, n_units)
        Row ``i`` keeps unit ``j`` (``True``) exactly when bit ``j`` of ``i`` is 1:
        row 0 drops every unit, the last row keeps every unit.
    probs : ndarray of float64, shape (2**n_units,)
        Probability of each mask under independent dropout; they sum to 1 up to
        rounding.

    Notes
    -----
    :math:`P(m) = \prod_j q_j^{m_j} (1 - q_j)^{1 - m_j}` with :math:`q_j = 1 - p_j`.
    Beyond 16 units, sample masks with :func:`mc_average` instead.

    Examples
    --------
    >>> masks, probs = enumerate_masks(2, 0.25)
    >>> masks.astype(int).tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    >>> probs.tolist()
    [0.0625, 0.1875, 0.1875, 0.5625]
    """
    n = check_int(n_units, "n_units", 0)
    if n > MAX_ENUMERATE_UNITS:
        raise ValueError(
            f"cannot enumerate the 2**{n} masks of {n} droppable units: the limit is "
            f"MAX_ENUMERATE_UNITS = {MAX_ENUMERATE_UNITS} units (2**{MAX_ENUMERATE_UNITS} "
            "masks); use a smaller network or sample masks with mc_average")
    if np.ndim(p_drop) == 0:
        p = np.full(n, check_p_drop(p_drop))
    else:
        if isinstance(p_drop, (str, bytes)):
            raise TypeError("p_drop must be a number or an array of numbers; got a str")
        p = np.asarray(p_drop)
        if not (np.issubdtype(p.dtype, np.floating) or np.issubdtype(p.dtype, np.integer)) \
                or p.dtype == bool:
            raise TypeError(f"p_drop must be a number or an array of numbers; "
                            f"got an array of dtype {p.dtype}")
        if p.shape != (n,):
            raise ValueError(f"p_drop must be a scalar or have shape ({n},), one per unit; "
                             f"got shape {p.shape}")
        p = p.astype(np.float64)
        bad = ~((p >= 0) & (p <= 1))
        if np.any(bad):
            raise ValueError(f"every p_drop must lie in [0, 1]; got {p[bad][0]} "
                             f"for unit {int(np.flatnonzero(bad)[0])}")
    index = np.arange(2 ** n, dtype=np.int64)
    masks = ((index[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(bool)
    q = 1.0 - p
    probs = np.prod(np.where(masks, q, p), axis=1) if n else np.ones(1)
    return masks, probs


def _split_masks(net: MLP, masks: Any) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    blocks = droppable_units(net)
    n = sum(size for _, size, _ in blocks)
    if not isinstance(masks, np.ndarray) or masks.dtype != bool:
        got = f"array of dtype {masks.dtype}" if isinstance(masks, np.ndarray) \
            else type(masks).__name__
        raise TypeError(f"masks must be a bool NumPy array of shape (M, {n}) (True = kept); "
                        f"got {got}")
    if masks.ndim != 2 or masks.shape[1] != n:
        raise ValueError(f"masks must have shape (M, {n}): one column per droppable unit of "
                         f"this network (see droppable_units); got shape {masks.shape}")
    return masks, blocks


def subnetwork_outputs(net: MLP, X: np.ndarray, masks: np.ndarray) -> np.ndarray:
    r"""Scores of the subnetworks selected by ``masks``, each applied to every example.

    Parameters
    ----------
    net : MLP
        The trained network; its parameters are shared by all subnetworks.
    X : ndarray, shape (N, D)
    masks : ndarray of bool, shape (M, n)
        One row per subnetwork over the n droppable units of ``net`` (in the order of
        :func:`droppable_units`); ``True`` = kept.

    Returns
    -------
    ndarray, shape (M, N, K)
        Raw output scores: entry ``[i, j]`` is what ``net.forward(X[j:j+1],
        train=True, ...)`` returns when the drawn mask equals ``masks[i]``.

    Notes
    -----
    Each block of masks is evaluated by one call of :meth:`MLP.forward` on
    copies of ``X``, with the masks passed through its ``masks=`` hook.
    """
    net = _check_net(net)
    X = net.check_X(X)
    masks, blocks = _split_masks(net, masks)
    M, N = masks.shape[0], X.shape[0]
    out = np.empty((M, N, net.n_outputs), dtype=net.dtype)
    chunk = _chunk_size(net, N)
    for c0 in range(0, M, chunk):
        mk = masks[c0:c0 + chunk]
        per_layer, start = {}, 0
        for layer, size, _ in blocks:  # one (C * N, size) keep-mask per layer
            per_layer[layer] = np.repeat(mk[:, start:start + size], N, axis=0)
            start += size
        X_rep = np.tile(X, (mk.shape[0], 1))
        scores, _ = net.forward(X_rep, train=True, masks=per_layer)
        out[c0:c0 + mk.shape[0]] = scores.reshape(mk.shape[0], N, -1)
    return out


def _all_subnetworks(net: MLP) -> tuple[np.ndarray, np.ndarray]:
    p = unit_drop_probabilities(net)
    if p.size == 0:
        raise ValueError("this network has no dropout (every p_drop is 0): it has a single "
                         "subnetwork, itself")
    return enumerate_masks(p.size, p)


# --------------------------------------------------------------------------- predictions


def exact_mean(net: MLP, X: np.ndarray, *, output: str = "proba") -> np.ndarray:
    r"""Arithmetic mean of the predictions of all :math:`2^n` subnetworks, weighted by probability.

    Parameters
    ----------
    net : MLP
        A network with at most ``MAX_ENUMERATE_UNITS`` droppable units.
    X : ndarray, shape (N, D)
    output : {"proba", "sigmoid", "scores"}, default "proba"
        Average the softmax probabilities, the element-wise sigmoids of the scores
        (logistic outputs), or the raw scores (regression).

    Returns
    -------
    ndarray, shape (N, K)

    Raises
    ------
    ValueError
        If the network has no dropout or too many droppable units to enumerate.

    Notes
    -----
    .. math::
        \bar f(x) = \sum_{m \in \{0,1\}^n} P(m)\, f_m(x),

    the expectation of the prediction under the dropout distribution: what
    :func:`mc_average` estimates and the quantity an ensemble average stands for.
    """
    net = _check_net(net)
    output = _check_output(output)
    masks, probs = _all_subnetworks(net)
    X = net.check_X(X)
    total = np.zeros((X.shape[0], net.n_outputs))
    chunk = _chunk_size(net, X.shape[0])
    for c0 in range(0, masks.shape[0], chunk):
        f = _transform(subnetwork_outputs(net, X, masks[c0:c0 + chunk]), output)
        total += np.tensordot(probs[c0:c0 + chunk], f, axes=(0, 0))
    return total


def exact_nwgm(net: MLP, X: np.ndarray, *, output: str = "proba") -> np.ndarray:
    r"""Normalized weighted geometric mean (NWGM) of the predictions of all subnetworks.

    Parameters
    ----------
    net : MLP
        A network with at most ``MAX_ENUMERATE_UNITS`` droppable units.
    X : ndarray, shape (N, D)
    output : {"proba", "sigmoid"}, default "proba"
        ``"proba"``: the subnetworks predict softmax distributions over K classes.
        ``"sigmoid"``: each output k is a logistic unit predicting
        :math:`P(y_k = 1) = \sigma(s_k)`.

    Returns
    -------
    ndarray, shape (N, K)
        For ``"proba"`` each row sums to 1.

    Notes
    -----
    From the definition, in log space:
    :math:`\mathrm{NWGM}(k) = G(k) / \sum_{k'} G(k')` with
    :math:`G(k) = \prod_m p_m(k \mid x)^{P(m)}`. It equals the softmax of the
    expected scores, which chapter 4 derives; this function does not use that
    identity (the tests check it).

    See Also
    --------
    book/04_ensembles.ipynb : "One hidden layer and a softmax".
    """
    net = _check_net(net)
    output = _check_output(output, ("proba", "sigmoid"))
    masks, probs = _all_subnetworks(net)
    X = net.check_X(X)
    chunk = _chunk_size(net, X.shape[0])
    if output == "proba":
        log_g = np.zeros((X.shape[0], net.n_outputs))
        for c0 in range(0, masks.shape[0], chunk):
            s = subnetwork_outputs(net, X, masks[c0:c0 + chunk])
            logp = log_softmax(s.reshape(-1, s.shape[-1])).reshape(s.shape)
            log_g += np.tensordot(probs[c0:c0 + chunk], logp, axes=(0, 0))
        return softmax(log_g)
    log_g1 = np.zeros((X.shape[0], net.n_outputs))
    log_g0 = np.zeros_like(log_g1)
    for c0 in range(0, masks.shape[0], chunk):
        s = subnetwork_outputs(net, X, masks[c0:c0 + chunk])
        w = probs[c0:c0 + chunk]
        log_g1 += np.tensordot(w, -np.logaddexp(0.0, -s), axes=(0, 0))  # log sigma(s)
        log_g0 += np.tensordot(w, -np.logaddexp(0.0, s), axes=(0, 0))   # log (1 - sigma(s))
    return np.exp(-np.logaddexp(0.0, log_g0 - log_g1))  # G1 / (G1 + G0)


def weight_scaling(net: MLP, X: np.ndarray, *, output: str = "proba") -> np.ndarray:
    r"""Prediction of the "mean network": one pass with dropout switched off.

    Parameters
    ----------
    net : MLP
    X : ndarray, shape (N, D)
    output : {"proba", "sigmoid", "scores"}, default "proba"

    Returns
    -------
    ndarray, shape (N, K)

    Notes
    -----
    Every unit is kept and its activation is multiplied by its *expected* mask
    value: for inverted dropout the training-time :math:`m/(1-p)` has expectation 1,
    so nothing changes at test time; for ``dropout_mode="original"`` the outgoing
    weights are scaled by the keep probability :math:`1-p` (not by :math:`p`).
    Each layer therefore receives the expectation of its input, which makes the
    prediction exact for a network whose output is linear in the masks; elsewhere it
    is an approximation of :func:`exact_mean` and :func:`exact_nwgm`.
    """
    net = _check_net(net)
    output = _check_output(output)
    return _transform(net.scores(X), output).astype(np.float64, copy=False)


def mc_average(net: MLP, X: np.ndarray, *, n_samples: int, rng: np.random.Generator,
               output: str = "proba") -> np.ndarray:
    r"""Monte-Carlo estimate of :func:`exact_mean` from ``n_samples`` sampled masks.

    Parameters
    ----------
    net : MLP
    X : ndarray, shape (N, D)
    n_samples : int
        Number of stochastic passes k >= 1; each example gets fresh masks every pass.
    rng : numpy.random.Generator
    output : {"proba", "sigmoid", "scores"}, default "proba"

    Returns
    -------
    ndarray, shape (N, K)

    Notes
    -----
    .. math::
        \hat f_k(x) = \frac1k \sum_{t=1}^{k} f_{m_t}(x), \qquad m_t \sim P,

    unbiased for :math:`\bar f(x)`, with standard error
    :math:`\mathrm{sd}_P(f_m(x)) / \sqrt{k}`.
    """
    net = _check_net(net)
    output = _check_output(output)
    check_rng(rng)
    samples = net.mc_predict(X, n_samples=n_samples, rng=rng, proba=False)
    return _transform(samples, output).mean(axis=0, dtype=np.float64)


def mc_error_curve(net: MLP, X: np.ndarray, y: np.ndarray, ks: Sequence[int], *,
                   rng: np.random.Generator, combine: str = "arithmetic") -> np.ndarray:
    r"""Classification error of the MC-averaged prediction after k passes, for each k.

    Parameters
    ----------
    net : MLP
    X : ndarray, shape (N, D)
    y : ndarray of int, shape (N,)
        Labels in ``0..K-1``.
    ks : sequence of int
        Increasing numbers of passes, each >= 1.
    rng : numpy.random.Generator
    combine : {"arithmetic", "geometric"}, default "arithmetic"
        Average the probabilities (an estimate of :func:`exact_mean`) or the
        log-probabilities (a geometric mean, an estimate of :func:`exact_nwgm`'s
        ranking of the classes).

    Returns
    -------
    ndarray of float64, shape (len(ks),)
        Fraction of examples whose predicted class (argmax of
        :math:`\frac1k\sum_{t\le k} p_{m_t}(\cdot\mid x)`, or of the mean
        log-probabilities) differs from the label.

    Notes
    -----
    One run of ``max(ks)`` passes is drawn; the estimate for each k uses its first
    k passes (running means), so the curve is what one would see by adding passes
    one at a time. The normalisation of a geometric mean does not change its
    argmax, so it is skipped.
    """
    net = _check_net(net)
    check_rng(rng)
    combine = check_choice(combine, "combine", ("arithmetic", "geometric"))
    ks_arr = np.asarray(list(ks))
    if ks_arr.ndim != 1 or ks_arr.size == 0 or not np.issubdtype(ks_arr.dtype, np.integer):
        raise TypeError("ks must be a non-empty sequence of ints, e.g. [1, 2, 5, 10]")
    if ks_arr.min() < 1 or np.any(np.diff(ks_arr) <= 0):
        raise ValueError(f"ks must be increasing ints >= 1; got {ks_arr.tolist()}")
    X = net.check_X(X)
    y = np.asarray(y)
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be int labels of shape ({X.shape[0]},); got "
                         f"{y.dtype} array of shape {y.shape}")
    samples = net.mc_predict(X, n_samples=int(ks_arr[-1]), rng=rng, proba=False)
    samples = samples.astype(np.float64, copy=False)
    flat = samples.reshape(-1, samples.shape[-1])
    if combine == "arithmetic":
        samples = softmax(flat).reshape(samples.shape)
    else:
        samples = log_softmax(flat).reshape(samples.shape)
    running = np.cumsum(samples, axis=0)
    return np.array([np.mean(np.argmax(running[k - 1], axis=1) != y) for k in ks_arr])


def mc_regression(net: MLP, X: np.ndarray, *, n_samples: int, rng: np.random.Generator,
                  noise_std: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""MC-dropout predictive mean and standard deviation for regression.

    Parameters
    ----------
    net : MLP
        A regression network (raw outputs).
    X : ndarray, shape (N, D)
    n_samples : int
        Number of stochastic passes T >= 2.
    rng : numpy.random.Generator
    noise_std : float, default 0.0
        Standard deviation of the observation noise, added in quadrature (Gal &
        Ghahramani's :math:`\tau^{-1}` term). Leave 0 for the spread of the
        *function* (the model uncertainty alone).

    Returns
    -------
    mean : ndarray, shape (N,) for one output, else (N, K)
    std : ndarray, same shape
        :math:`\sqrt{\frac1T\sum_t (y_t - \bar y)^2 + \sigma^2_{noise}}`.

    Notes
    -----
    Gal & Ghahramani (2016) estimate the predictive mean by
    :math:`\bar y = \frac1T\sum_t f_{m_t}(x)` and the variance by
    :math:`\tau^{-1} + \frac1T\sum_t f_{m_t}(x)^2 - \bar y^2`. The spread is a
    property of the trained network *and of the drop probability*: it is not
    calibrated automatically, and it need not grow as fast as the error away from
    the training data.
    """
    net = _check_net(net)
    check_rng(rng)
    T = check_int(n_samples, "n_samples", 2)
    if isinstance(noise_std, bool) or not isinstance(
            noise_std, (int, float, np.floating)) or not (
            np.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise_std must be a finite number >= 0; "
                         f"got {noise_std!r}")
    samples = net.mc_predict(X, n_samples=T, rng=rng, proba=False).astype(np.float64)
    mean = samples.mean(axis=0)
    std = np.sqrt(samples.var(axis=0) + float(noise_std) ** 2)
    if net.n_outputs == 1:
        return mean[:, 0], std[:, 0]
    return mean, std


def predictive_entropy(proba: np.ndarray) -> np.ndarray:
    r"""Entropy :math:`-\sum_k p_k \log p_k` of each row of ``proba``, shape (N,).

    Parameters
    ----------
    proba : ndarray, shape (N, K)
        Probabilities, e.g. an MC average or an ensemble's mean.
    """
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.size == 0 or np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ValueError(f"proba must be probabilities of shape (N, K); got shape {p.shape}")
    return -np.sum(p * np.log(np.maximum(p, np.finfo(float).tiny)), axis=1)


def mutual_information(samples: np.ndarray) -> np.ndarray:
    r"""Mutual information between the prediction and the sampled model, shape (N,).

    :math:`H\big(\frac1T\sum_t p_t\big) - \frac1T\sum_t H(p_t)`: the entropy
    of the average minus the average entropy, large where the members (or
    the MC passes) disagree and zero where they all predict the same
    distribution (Houlsby et al.'s BALD score).

    Parameters
    ----------
    samples : ndarray, shape (T, N, K)
        Probabilities of T passes or members, e.g. from ``net.mc_predict``.
    """
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim != 3 or s.size == 0:
        raise ValueError(f"samples must have shape (T, N, K); got shape {s.shape}")
    T, N, K = s.shape
    each = predictive_entropy(s.reshape(T * N, K)).reshape(T, N)
    return np.maximum(predictive_entropy(s.mean(axis=0)) - each.mean(axis=0), 0.0)


def auroc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve of a score that should be higher for ``positives``.

    The probability that a positive's score exceeds a negative's, ties
    counted one half (the Mann-Whitney statistic): 0.5 is chance, 1 is a
    perfect separation.

    Parameters
    ----------
    negatives, positives : array_like, shape (N0,) and (N1,)
        E.g. the entropies on clean and on shifted test images.
    """
    neg = np.asarray(negatives, dtype=np.float64).ravel()
    pos = np.asarray(positives, dtype=np.float64).ravel()
    for a, name in ((neg, "negatives"), (pos, "positives")):
        if a.size == 0 or not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must hold at least one finite score")
    both = np.concatenate([neg, pos])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(both.size)
    ranks[order] = np.arange(1, both.size + 1)
    # average ranks over ties
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]
    u = ranks[neg.size:].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (neg.size * pos.size))


# --------------------------------------------------------------------------- real ensembles


def ensemble_predict_proba(nets: Sequence[MLP], X: np.ndarray) -> np.ndarray:
    """Average of the members' evaluation-mode softmax probabilities, shape (N, K)."""
    if isinstance(nets, MLP) or not isinstance(nets, Sequence) or len(nets) == 0:
        raise TypeError("nets must be a non-empty list of MLPs")
    for n in nets:
        _check_net(n)
    return np.mean([n.predict_proba(X) for n in nets], axis=0)


def training_cost(net_or_nets: MLP | Sequence[MLP], *, n_train: int, epochs: int) -> int:
    r"""Training compute in parameter-example visits: ``epochs * n_train * n_params``.

    Parameters
    ----------
    net_or_nets : MLP or sequence of MLP
        One network or every member of an ensemble (their parameters are summed).
    n_train : int
        Training examples per epoch.
    epochs : int

    Returns
    -------
    int

    Notes
    -----
    A forward and backward pass through a fully connected layer costs a fixed
    number of multiply-adds per weight and example (about 6 with the weight
    gradient), so this count is proportional to the floating-point work. Dropout's
    masks add O(units) work, negligible next to O(weights). Wall-clock time also
    depends on the machine and the batch size, so the book reports this count.
    """
    nets = [net_or_nets] if isinstance(net_or_nets, MLP) else list(net_or_nets)
    if not nets:
        raise TypeError("give an MLP or a non-empty list of MLPs")
    params = sum(_check_net(n).n_params for n in nets)
    return check_int(epochs, "epochs", 1) * check_int(n_train, "n_train", 1) * params

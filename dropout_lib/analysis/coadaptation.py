"""Measurements of co-adaptation on a trained network: knock-outs, pairs, activations.

Co-adaptation (Hinton et al. 2012) means that a hidden unit is useful only in
the company of particular other units. These functions measure it by
removing units at test time (the ``ablate`` and ``from_layer`` arguments of
:meth:`MLP.forward <dropout_lib.net.MLP.forward>`). The chapter's training
runs and sweeps live in :mod:`dropout_lib.experiments.coadaptation`.

See Also
--------
book/03_co_adaptation.ipynb : the chapter that uses these measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import as_generator, check_int
from ..losses import softmax_cross_entropy
from ..net import MLP
from ..training import History

__all__ = [
    "accuracy_and_loss",
    "knockout_curve",
    "unit_damage",
    "pair_interactions",
    "interaction_summary",
    "activation_stats",
    "roughness",
    "epochs_to",
]


# --------------------------------------------------------------------------- knock-outs


def _check_net_layer(net: MLP, layer: int) -> int:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP; got {type(net).__name__}")
    return check_int(layer, "layer (a hidden layer number)", 1, net.n_hidden)


def accuracy_and_loss(net: MLP, X: np.ndarray, y: np.ndarray, *,
                      ablate: dict[int, Any] | None = None) -> tuple[float, float]:
    """Evaluation-mode accuracy and mean cross-entropy of ``net`` on ``(X, y)``.

    Parameters
    ----------
    net : MLP
    X : ndarray, shape (N, D)
    y : ndarray of int, shape (N,)
    ablate : dict, optional
        Units to remove, ``{layer: unit indices or bool mask}`` (see :meth:`MLP.forward`).

    Returns
    -------
    accuracy : float
    loss : float
    """
    scores = net.forward(X, train=False, ablate=ablate)[0]
    loss, _ = softmax_cross_entropy(scores, y)
    acc = float(np.mean(np.argmax(scores, axis=1) == y))
    return acc, float(loss)


def _tail(net: MLP, layer: int, a: np.ndarray) -> np.ndarray:
    """Evaluation-mode scores from hidden layer ``layer``'s activations ``a``.

    Zeroing column ``i`` of ``a`` gives exactly the scores of
    ``ablate={layer: [i]}``, without recomputing the layers below.
    """
    return net.forward(a, train=False, from_layer=layer)[0]


def _damage_from(net: MLP, layer: int, a: np.ndarray, y: np.ndarray, units,
                 loss0: float) -> tuple[float, float]:
    """(loss increase, accuracy) with ``units`` of ``layer`` zeroed, from activations ``a``."""
    a2 = a.copy()
    a2[:, units] = 0
    scores = _tail(net, layer, a2)
    loss, _ = softmax_cross_entropy(scores, y)
    return float(loss) - loss0, float(np.mean(np.argmax(scores, axis=1) == y))


def knockout_curve(
    net: MLP,
    X: np.ndarray,
    y: np.ndarray,
    fractions: Sequence[float],
    *,
    layers: Sequence[int] | None = None,
    n_repeats: int = 10,
    rescale: bool = False,
    seed: int | np.random.SeedSequence | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    r"""Test accuracy and loss as growing random fractions of hidden units are removed.

    Parameters
    ----------
    net : MLP
        A trained network; it is not modified.
    X : ndarray, shape (N, D)
    y : ndarray of int, shape (N,)
    fractions : sequence of float
        Fractions of units removed, each in [0, 1]. In each listed layer,
        ``round(f * H_l)`` units chosen uniformly at random are switched off.
    layers : sequence of int, optional
        Hidden layers to lesion (numbered from 1); default all of them.
    n_repeats : int, default 10
        Independent random choices of the removed units per fraction.
    rescale : bool, default False
        Multiply the surviving units by ``H_l / (H_l - k)`` (the test-time analogue of
        inverted dropout's ``1/(1-p)``), so the next layer's total input keeps its scale.
    seed, rng
        Source of the random choices (exactly one).

    Returns
    -------
    dict
        ``"fractions"`` (F,), ``"acc"`` and ``"loss"`` of shape (F, n_repeats).

    See Also
    --------
    book/03_co_adaptation.ipynb : "Knock-out robustness".
    """
    gen = as_generator(seed, rng)
    layers = list(range(1, net.n_hidden + 1)) if layers is None else [
        _check_net_layer(net, lay) for lay in layers]
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or fr.size == 0 or np.any(fr < 0) or np.any(fr > 1):
        raise ValueError(f"fractions must be a non-empty 1-D sequence in [0, 1]; got {fractions!r}")
    n_repeats = check_int(n_repeats, "n_repeats", 1)
    acc = np.empty((fr.size, n_repeats))
    loss = np.empty((fr.size, n_repeats))
    for a, f in enumerate(fr):
        for r in range(n_repeats):
            ablate = {}
            scaled = net
            for lay in layers:
                H = net.layer_sizes[lay]
                k = int(round(f * H))
                ablate[lay] = gen.permutation(H)[:k]
                if rescale and 0 < k < H:
                    if scaled is net:
                        scaled = net.copy()
                    scaled.params[f"W{lay + 1}"] = scaled.params[f"W{lay + 1}"] * (H / (H - k))
            acc[a, r], loss[a, r] = accuracy_and_loss(scaled, X, y, ablate=ablate)
    return {"fractions": fr, "acc": acc, "loss": loss}


def unit_damage(net: MLP, X: np.ndarray, y: np.ndarray, *, layer: int,
                metric: str = "loss") -> np.ndarray:
    r"""How much removing each hidden unit alone hurts: one knock-out per unit.

    Parameters
    ----------
    net : MLP
    X : ndarray, shape (N, D)
    y : ndarray of int, shape (N,)
    layer : int
        Hidden layer (numbered from 1).
    metric : {"loss", "acc"}, default "loss"
        ``"loss"``: increase of the mean cross-entropy, :math:`L(\setminus i) - L`;
        ``"acc"``: drop of accuracy, :math:`A - A(\setminus i)`. Positive = the unit helped.

    Returns
    -------
    ndarray, shape (H_l,)
        The damage of removing unit ``i`` alone.
    """
    layer = _check_net_layer(net, layer)
    if metric not in ("loss", "acc"):
        raise ValueError(f"metric must be 'loss' or 'acc'; got {metric!r}")
    acc0, loss0 = accuracy_and_loss(net, X, y)
    a = net.hidden_activations(X)[layer]
    H = net.layer_sizes[layer]
    out = np.empty(H)
    for i in range(H):
        d_loss, acc = _damage_from(net, layer, a, y, [i], loss0)
        out[i] = d_loss if metric == "loss" else acc0 - acc
    return out


def pair_interactions(
    net: MLP,
    X: np.ndarray,
    y: np.ndarray,
    *,
    layer: int,
    n_pairs: int = 300,
    single: np.ndarray | None = None,
    seed: int | np.random.SeedSequence | None = None,
    rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    r"""Damage of removing two units together versus the sum of removing each alone.

    Parameters
    ----------
    net : MLP
    X : ndarray, shape (N, D)
    y : ndarray of int, shape (N,)
    layer : int
        Hidden layer (numbered from 1).
    n_pairs : int, default 300
        Number of distinct random pairs ``i < j``.
    single : ndarray, shape (H_l,), optional
        Precomputed :func:`unit_damage` (``metric="loss"``) of this layer.
    seed, rng
        Source of the random pairs (exactly one).

    Returns
    -------
    dict
        ``"i"``, ``"j"`` (int arrays), ``"d_i"``, ``"d_j"``, ``"d_ij"`` and
        ``"interaction"`` :math:`= d_{ij} - d_i - d_j`, all of shape (n_pairs,).

    See Also
    --------
    book/03_co_adaptation.ipynb : "Co-adaptation measured directly" explains
        the sign of the interaction.
    """
    layer = _check_net_layer(net, layer)
    gen = as_generator(seed, rng)
    H = net.layer_sizes[layer]
    max_pairs = H * (H - 1) // 2
    n_pairs = check_int(n_pairs, "n_pairs", 1, max_pairs)
    if single is None:
        single = unit_damage(net, X, y, layer=layer)
    single = np.asarray(single, dtype=np.float64)
    if single.shape != (H,):
        raise ValueError(f"single must have shape ({H},); got {single.shape}")
    codes = np.sort(gen.choice(max_pairs, size=n_pairs, replace=False))
    # Decode pair number c (row-major over i < j) into (i, j).
    iu, ju = np.triu_indices(H, k=1)
    i, j = iu[codes], ju[codes]
    _, loss0 = accuracy_and_loss(net, X, y)
    act = net.hidden_activations(X)[layer]
    d_ij = np.array([_damage_from(net, layer, act, y, [a, b], loss0)[0]
                     for a, b in zip(i, j, strict=True)])
    d_i, d_j = single[i], single[j]
    return {"i": i, "j": j, "d_i": d_i, "d_j": d_j, "d_ij": d_ij,
            "interaction": d_ij - d_i - d_j}


def interaction_summary(pairs: dict[str, np.ndarray]) -> dict[str, float]:
    r"""Summaries of :func:`pair_interactions`.

    Returns
    -------
    dict
        ``"mean_single"``: mean of :math:`(d_i + d_j)/2`, the typical damage of one unit;
        ``"mean_interaction"``: mean of :math:`d_{ij} - d_i - d_j`;
        ``"relative"``: :math:`\sum |d_{ij} - d_i - d_j| / \sum (|d_i| + |d_j|)`, how far
        from additive the damage is, as a fraction of the single damages (0 = additive);
        ``"frac_negative"``: fraction of pairs with interaction < 0 (sub-additive).
    """
    inter = np.asarray(pairs["interaction"])
    denom = float(np.sum(np.abs(pairs["d_i"]) + np.abs(pairs["d_j"])))
    return {
        "mean_single": float(np.mean((pairs["d_i"] + pairs["d_j"]) / 2)),
        "mean_interaction": float(np.mean(inter)),
        "relative": float(np.sum(np.abs(inter)) / denom) if denom > 0 else float("nan"),
        "frac_negative": float(np.mean(inter < 0)),
    }


def activation_stats(net: MLP, X: np.ndarray) -> dict[int, dict[str, Any]]:
    """Statistics of the evaluation-mode hidden activations on ``X``.

    Parameters
    ----------
    net : MLP
    X : ndarray, shape (N, D)

    Returns
    -------
    dict of int to dict
        For each hidden layer ``l``: ``"values"`` (N, H_l) the activations,
        ``"mean"`` their mean over examples and units, ``"frac_zero"`` the fraction
        that are exactly 0 (sparsity of a ReLU layer), ``"mean_active"`` the mean of
        the non-zero ones, ``"unit_mean"`` (H_l,) each unit's mean activation and
        ``"frac_dead"`` the fraction of units that are 0 on every example.
    """
    hidden = net.hidden_activations(X, train=False)
    out = {}
    for lay, a in hidden.items():
        a = np.asarray(a, dtype=np.float64)
        nz = a != 0
        out[lay] = {
            "values": a,
            "mean": float(a.mean()),
            "frac_zero": float(1.0 - nz.mean()),
            "mean_active": float(a[nz].mean()) if nz.any() else 0.0,
            "unit_mean": a.mean(axis=0),
            "frac_dead": float(np.mean(~nz.any(axis=0))),
        }
    return out


def roughness(W: np.ndarray, shape: tuple[int, int] = (8, 8), *,
              mask: np.ndarray | None = None) -> np.ndarray:
    r"""How noisy each first-layer filter is as an image: 0 for a constant image.

    Parameters
    ----------
    W : ndarray, shape (D, H)
        First-layer weights (or their change during training, ``W - W0``);
        column ``j`` is unit ``j``'s filter, ``D = shape[0] * shape[1]``.
    shape : tuple of int, default (8, 8)
    mask : ndarray of bool, shape (D,), optional
        Pixels to include (e.g. those that vary in the training images;
        the others get no gradient). A neighbour pair counts only when both
        of its pixels are in the mask. Default: every pixel.

    Returns
    -------
    ndarray, shape (H,)
        Mean squared difference between horizontally and vertically neighbouring
        pixels divided by twice the filter's mean square: about 1 for white noise,
        small for a smooth, stroke-like filter.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != shape[0] * shape[1]:
        raise ValueError(f"W must have shape ({shape[0] * shape[1]}, H); "
                         f"got {W.shape}")
    if mask is None:
        m = np.ones(shape, dtype=bool)
    else:
        m = np.asarray(mask)
        if m.dtype != bool or m.shape != (W.shape[0],):
            raise ValueError(f"mask must be a bool array of shape "
                             f"({W.shape[0]},)")
        if not m.any():
            raise ValueError("mask must keep at least one pixel")
        m = m.reshape(shape)
    img = W.T.reshape(W.shape[1], *shape)
    ph = m[:, 1:] & m[:, :-1]
    pv = m[1:, :] & m[:-1, :]
    dh = (np.diff(img, axis=2) ** 2)[:, ph]
    dv = (np.diff(img, axis=1) ** 2)[:, pv]
    msd = (dh.sum(axis=1) + dv.sum(axis=1)) / (ph.sum() + pv.sum())
    return msd / (2 * np.mean(img[:, m] ** 2, axis=1))


def epochs_to(history: History, metric: str, target: float) -> int | None:
    """First epoch at which ``metric`` reaches ``target`` (>= for accuracies, <= for losses).

    Returns
    -------
    int or None
        None if it never does.
    """
    values = history.metric(metric)
    hit = values >= target if metric.endswith("_acc") else values <= target
    idx = np.flatnonzero(hit)
    return int(history.epochs[idx[0]]) if idx.size else None

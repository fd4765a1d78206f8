"""Experiments that make co-adaptation visible: knock-outs, pair interactions, activations, sweeps.

Co-adaptation (Hinton et al. 2012) means that a hidden unit is useful only in
the company of particular other units. This module measures it on trained
:class:`~dropout_lib.nets.MLP` networks by removing units at test time (the
``ablate`` argument of :meth:`MLP.forward <dropout_lib.nets.MLP.forward>`),
and runs the sweeps of the chapter (drop probability, training-set size,
initial weights, L2 weight decay).

Everything is deterministic given a seed. The sweeps come in two sizes:
``"small"`` (seconds, run live in the notebook and in the tests) and ``"full"``
(minutes, run from the command line, cached in ``book/data/coadaptation_sweeps.json``)::

    python -m dropout_lib.coadaptation --full        # writes the cache, progress on stderr
    python -m dropout_lib.coadaptation --small --out /tmp/small.json

Seeds
-----
A run with seed ``s`` uses the streams of :mod:`dropout_lib.experiments`: the
children 0 (initial weights), 1 (batch order and dropout masks) and 2
(training-set subsample) of ``SeedSequence(s)``. Runs with and without dropout
that share a seed therefore start from the *same* weights and see the same
batches: every comparison is paired.

See Also
--------
book/03_co_adaptation.ipynb : the chapter that runs these experiments.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .data import Splits, as_generator, digits_splits, subsample_train
from .experiments import Config
from .losses import softmax_cross_entropy
from .nets import MLP
from ._progress import progress_bar
from .train import History, evaluate, train

__all__ = [
    "N_TRAIN",
    "BASE",
    "PLAIN",
    "DROPOUT",
    "SCALES",
    "CACHE_FILE",
    "chapter_data",
    "accuracy_and_loss",
    "knockout_curve",
    "unit_damage",
    "pair_interactions",
    "interaction_summary",
    "activation_stats",
    "epochs_to",
    "initial_net",
    "roughness",
    "train_and_test",
    "p_drop_sweep",
    "train_size_sweep",
    "init_sensitivity",
    "l2_grid",
    "run_all",
    "save_results",
    "load_results",
    "main",
]

#: Training-set size of the chapter's main experiments (a small, stratified digits subset).
N_TRAIN = 200

#: The chapter's network and training settings, without dropout. float32 halves the run
#: time; every number is printed to 3 decimals.
BASE = Config(hidden=(256, 256), activation="relu", optimizer="adam", lr=1e-3,
              epochs=200, batch_size=32, dtype="float32")
#: The plain network (no dropout).
PLAIN = BASE
#: The dropout network: the paper's standard rates, 0.2 on the inputs and 0.5 on hidden units.
DROPOUT = BASE.replace(p_drop_input=0.2, p_drop_hidden=0.5)

#: Default location of the cached full-size results (relative to the repository root).
#: Where the book keeps the full-size sweeps, relative to the repository root
#: (the command line's default; the installed library never looks there itself).
CACHE_FILE = Path("book") / "data" / "coadaptation_sweeps.json"

#: The two sizes of the sweeps. Both use the same grids; "small" has one seed, a network
#: of half the width and half the updates, so it runs in seconds.
SCALES: dict[str, dict[str, Any]] = {
    "small": {
        "hidden": (128, 128),
        "epoch_factor": 0.5,
        "seeds": (0,),
        "init_seeds": (0, 1, 2, 3),
    },
    "full": {
        "hidden": (256, 256),
        "epoch_factor": 1.0,
        "seeds": (0, 1, 2, 3, 4),
        "init_seeds": tuple(range(10)),
    },
}

#: Grids shared by both scales.
P_DROP_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
TRAIN_SIZE_GRID = (50, 100, 200, 400, 700, 1079)
L2_GRID = (0.0, 1e-4, 1e-3, 1e-2)
#: Number of minibatch updates in the main experiment (200 epochs of ceil(200/32) = 7 batches);
#: the training-set-size sweep keeps it about constant.
UPDATES = 1400
#: ... and gives every training-set size at least this many epochs.
MIN_EPOCHS = 100


def _streams(seed: int) -> list[np.random.SeedSequence]:
    """init, train and data streams of seed ``seed`` (as in :mod:`dropout_lib.experiments`)."""
    return np.random.SeedSequence(int(seed)).spawn(3)


def chapter_data(n_train: int = N_TRAIN) -> Splits:
    """The digits split of the chapter: ``n_train`` stratified training images, fixed val/test.

    Parameters
    ----------
    n_train : int, default 200
        Training images kept (nested: smaller sets are subsets of larger ones).

    Returns
    -------
    Splits
        359 validation and 359 test images, the same for every ``n_train``.
    """
    return digits_splits(seed=0, n_train=n_train)


# --------------------------------------------------------------------------- knock-outs


def _check_net_layer(net: MLP, layer: int) -> int:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP; got {type(net).__name__}")
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not (
            1 <= layer <= net.n_hidden):
        raise ValueError(f"layer must be a hidden layer number 1..{net.n_hidden}; got {layer!r}")
    return int(layer)


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

    Notes
    -----
    Removing a unit sets its output to exactly 0, which is the same as deleting
    its outgoing weights. With ``f = 0`` every repeat equals the intact
    network's accuracy; with ``f = 1`` the output no longer depends on the input
    (only the last layer's bias is left), so every example gets the same class.
    """
    gen = as_generator(seed, rng)
    layers = list(range(1, net.n_hidden + 1)) if layers is None else [
        _check_net_layer(net, lay) for lay in layers]
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or fr.size == 0 or np.any(fr < 0) or np.any(fr > 1):
        raise ValueError(f"fractions must be a non-empty 1-D sequence in [0, 1]; got {fractions!r}")
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise ValueError(f"n_repeats must be an int >= 1; got {n_repeats!r}")
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

    Notes
    -----
    With damage measured as the increase of the test loss, a pair of units that
    contribute independently has :math:`d_{ij} = d_i + d_j` (interaction 0).
    Interaction > 0: removing both hurts more than the sum, the two units back
    each other up (redundancy). Interaction < 0: removing both hurts less than
    the sum, each unit's contribution depended on the other being there
    (co-adaptation: one unit corrects or completes the other).
    """
    layer = _check_net_layer(net, layer)
    gen = as_generator(seed, rng)
    H = net.layer_sizes[layer]
    max_pairs = H * (H - 1) // 2
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or not (
            1 <= n_pairs <= max_pairs):
        raise ValueError(f"n_pairs must be an int in 1..{max_pairs}; got {n_pairs!r}")
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


def initial_net(config: Config, data: Splits, seed: int) -> MLP:
    """The untrained network that ``run(config, data, seed)`` starts from (same initial weights)."""
    return config.make_net(data.n_features, int(data.n_classes), seed=_streams(seed)[0])


def roughness(W: np.ndarray, shape: tuple[int, int] = (8, 8)) -> np.ndarray:
    r"""How noisy each first-layer filter is as an image: 0 for a constant image.

    Parameters
    ----------
    W : ndarray, shape (D, H)
        First-layer weights; column ``j`` is unit ``j``'s filter, ``D = shape[0] * shape[1]``.
    shape : tuple of int, default (8, 8)

    Returns
    -------
    ndarray, shape (H,)
        Mean squared difference between horizontally and vertically neighbouring
        pixels divided by twice the filter's mean square: about 1 for white noise,
        small for a smooth, stroke-like filter.
    """
    W = np.asarray(W, dtype=np.float64)
    img = W.T.reshape(W.shape[1], *shape)
    dh = np.diff(img, axis=2) ** 2
    dv = np.diff(img, axis=1) ** 2
    msd = (dh.sum(axis=(1, 2)) + dv.sum(axis=(1, 2))) / (dh[0].size + dv[0].size)
    return msd / (2 * np.mean(img ** 2, axis=(1, 2)))


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


# --------------------------------------------------------------------------- sweeps


def train_and_test(config: Config, data: Splits, seed: int, *,
                   init_seed: int | None = None) -> dict[str, float]:
    """Train one network on the training set only, then evaluate it once.

    Faster than :func:`dropout_lib.experiments.run` (no per-epoch evaluation of
    the validation and test sets) and seeded the same way, so the final numbers
    are identical to ``run(config, data, seed)``'s.

    Parameters
    ----------
    config : Config
    data : Splits
        Needs a test split.
    seed : int
        Seed of the run (initial weights and training streams).
    init_seed : int, optional
        Take the initial weights from this seed instead (batch order and masks
        still come from ``seed``): varies the initialisation alone.

    Returns
    -------
    dict
        ``"train_acc"``, ``"train_loss"``, ``"test_acc"``, ``"test_loss"`` of the final network.
    """
    init_ss = _streams(seed if init_seed is None else init_seed)[0]
    train_ss = _streams(seed)[1]
    net = config.make_net(data.n_features, int(data.n_classes), seed=init_ss)
    train(net, (data.X_train, data.y_train), epochs=config.epochs,
          batch_size=config.batch_size, optimizer=config.make_optimizer(), seed=train_ss,
          l2=config.l2, max_norm=config.max_norm)
    out = {}
    for split in ("train", "test"):
        X, y = data.get(split)
        loss, acc = evaluate(net, X, y)
        out[f"{split}_acc"], out[f"{split}_loss"] = float(acc), float(loss)
    return out


def _scale(scale: str) -> dict[str, Any]:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    return SCALES[scale]


def _base_for(scale: str) -> Config:
    s = _scale(scale)
    return BASE.replace(hidden=tuple(s["hidden"]),
                        epochs=max(1, int(round(BASE.epochs * s["epoch_factor"]))))


def _epochs_for(n_train: int, batch_size: int, factor: float) -> int:
    """Epochs for ``n_train`` examples: about ``UPDATES * factor`` updates, and at least
    ``MIN_EPOCHS * factor`` epochs (dropout needs more passes than the plain network)."""
    by_updates = UPDATES * factor / math.ceil(n_train / batch_size)
    return max(1, int(round(max(by_updates, MIN_EPOCHS * factor))))


def _summarise(rows: list[list[dict[str, float]]]) -> dict[str, dict[str, list]]:
    """rows[i][s] -> {metric: {"per_seed", "mean", "std"}} (std with ddof=1, 0 for one seed)."""
    out = {}
    for m in ("train_acc", "train_loss", "test_acc", "test_loss"):
        v = np.array([[r[m] for r in row] for row in rows])
        std = v.std(axis=1, ddof=1) if v.shape[1] > 1 else np.zeros(v.shape[0])
        out[m] = {"per_seed": v.round(5).tolist(), "mean": v.mean(axis=1).round(5).tolist(),
                  "std": std.round(5).tolist()}
    return out


def p_drop_sweep(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Test accuracy and loss against the hidden drop probability (no input dropout).

    Parameters
    ----------
    scale : {"small", "full"}
        Size of the run, see :data:`SCALES`.
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    dict
        ``"grid"`` (the p_drop values), ``"seeds"``, and per metric (``"test_acc"``,
        ``"test_loss"``, ``"train_acc"``, ``"train_loss"``) the ``"per_seed"`` values and
        their ``"mean"`` and ``"std"`` over seeds, aligned with the grid.
    """
    s = _scale(scale)
    base = _base_for(scale)
    data = chapter_data()
    bar = progress_bar(len(P_DROP_GRID) * len(s["seeds"]), "p_drop", progress)
    rows = []
    for p in P_DROP_GRID:
        cfg = base.replace(p_drop_hidden=p)
        row = []
        for seed in s["seeds"]:
            row.append(train_and_test(cfg, data, seed))
            bar.tick(f"p_drop={p:g} test_acc {row[-1]['test_acc']:.3f}")
        rows.append(row)
    bar.close()
    return {"grid": list(P_DROP_GRID), "seeds": list(s["seeds"]), "n_train": N_TRAIN,
            "epochs": base.epochs, **_summarise(rows)}


def train_size_sweep(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Test accuracy with and without dropout against the number of training images.

    For each seed the training set is a stratified subsample of the 1079-image pool
    drawn from that seed's data stream; the number of epochs keeps the number of
    minibatch updates about constant (:data:`UPDATES`).

    Returns
    -------
    dict
        ``"grid"`` (training-set sizes), ``"epochs"`` (per size), ``"seeds"``, and for
        ``"plain"`` and ``"dropout"`` the per-metric summaries of :func:`p_drop_sweep`.
    """
    s = _scale(scale)
    base = _base_for(scale)
    pool = digits_splits(seed=0)
    arms = {"plain": base, "dropout": base.replace(p_drop_input=DROPOUT.p_drop_input,
                                                   p_drop_hidden=DROPOUT.p_drop_hidden)}
    epochs = [_epochs_for(n, base.batch_size, s["epoch_factor"]) for n in TRAIN_SIZE_GRID]
    bar = progress_bar(len(TRAIN_SIZE_GRID) * len(s["seeds"]) * 2, "n_train", progress)
    rows: dict[str, list] = {k: [] for k in arms}
    for n, ep in zip(TRAIN_SIZE_GRID, epochs, strict=True):
        subsets = {seed: subsample_train(pool, n, seed=_streams(seed)[2]) for seed in s["seeds"]}
        for name, cfg in arms.items():
            row = []
            for seed in s["seeds"]:
                row.append(train_and_test(cfg.replace(epochs=ep), subsets[seed], seed))
                bar.tick(f"n={n} {name} test_acc {row[-1]['test_acc']:.3f}")
            rows[name].append(row)
    bar.close()
    return {"grid": list(TRAIN_SIZE_GRID), "epochs": epochs, "seeds": list(s["seeds"]),
            **{name: _summarise(r) for name, r in rows.items()}}


def init_sensitivity(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Spread of the final test accuracy over initial weights alone.

    The batch order and the dropout masks are fixed (seed 0); only the seed of the
    initial weights changes.

    Returns
    -------
    dict
        ``"init_seeds"``, and for ``"plain"`` and ``"dropout"`` the per-metric
        summaries (``"per_seed"`` has one row: one value per initial-weight seed).
    """
    s = _scale(scale)
    base = _base_for(scale)
    data = chapter_data()
    arms = {"plain": base, "dropout": base.replace(p_drop_input=DROPOUT.p_drop_input,
                                                   p_drop_hidden=DROPOUT.p_drop_hidden)}
    bar = progress_bar(len(s["init_seeds"]) * 2, "init", progress)
    out: dict[str, Any] = {"init_seeds": list(s["init_seeds"]), "train_seed": 0}
    for name, cfg in arms.items():
        row = []
        for k in s["init_seeds"]:
            row.append(train_and_test(cfg, data, 0, init_seed=k))
            bar.tick(f"{name} init {k} test_acc {row[-1]['test_acc']:.3f}")
        out[name] = _summarise([row])
    bar.close()
    return out


def l2_grid(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Test accuracy and loss for L2 weight decay with and without dropout.

    Returns
    -------
    dict
        ``"grid"`` (the L2 strengths), ``"seeds"``, and for ``"plain"`` and
        ``"dropout"`` the per-metric summaries aligned with the grid.
    """
    s = _scale(scale)
    base = _base_for(scale)
    data = chapter_data()
    arms = {"plain": base, "dropout": base.replace(p_drop_input=DROPOUT.p_drop_input,
                                                   p_drop_hidden=DROPOUT.p_drop_hidden)}
    bar = progress_bar(len(L2_GRID) * len(s["seeds"]) * 2, "l2", progress)
    out: dict[str, Any] = {"grid": list(L2_GRID), "seeds": list(s["seeds"])}
    for name, cfg in arms.items():
        rows = []
        for lam in L2_GRID:
            row = []
            for seed in s["seeds"]:
                row.append(train_and_test(cfg.replace(l2=lam), data, seed))
                bar.tick(f"{name} l2={lam:g} test_acc {row[-1]['test_acc']:.3f}")
            rows.append(row)
        out[name] = _summarise(rows)
    bar.close()
    return out


SWEEPS = {
    "p_drop_sweep": p_drop_sweep,
    "train_size_sweep": train_size_sweep,
    "init_sensitivity": init_sensitivity,
    "l2_grid": l2_grid,
}


def _config_record(scale: str) -> dict[str, Any]:
    base = _base_for(scale)
    s = _scale(scale)
    return {
        "scale": scale,
        "data": f"digits_splits(seed=0): {N_TRAIN} training images unless stated, "
                "359 validation, 359 test",
        "network": f"64-{'-'.join(map(str, base.hidden))}-10 {base.activation}, {base.dtype}",
        "optimizer": f"{base.optimizer} lr={base.lr:g}",
        "batch_size": base.batch_size,
        "epochs": base.epochs,
        "dropout_arm": {"p_drop_input": DROPOUT.p_drop_input,
                        "p_drop_hidden": DROPOUT.p_drop_hidden},
        "seeds": list(s["seeds"]),
        "init_seeds": list(s["init_seeds"]),
        "updates_train_size_sweep": int(round(UPDATES * s["epoch_factor"])),
        "rerun": f"python -m dropout_lib.coadaptation --{scale}",
    }


def run_all(scale: str = "small", *, progress: bool = False,
            which: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every sweep (or those named in ``which``) at one scale.

    Returns
    -------
    dict
        ``{"config": ..., "p_drop_sweep": ..., "train_size_sweep": ...,
        "init_sensitivity": ..., "l2_grid": ...}``, JSON-serialisable.
    """
    names = list(SWEEPS) if which is None else list(which)
    for n in names:
        if n not in SWEEPS:
            raise ValueError(f"unknown sweep {n!r}; choose from {list(SWEEPS)}")
    out: dict[str, Any] = {"config": _config_record(scale)}
    for n in names:
        out[n] = SWEEPS[n](scale, progress=progress)
    return out


def save_results(results: dict[str, Any], path: str | Path) -> Path:
    """Write ``results`` as indented JSON (creating the folder); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    """Read results written by :func:`save_results`, e.g. the book's cache."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the sweeps and write them as JSON. See the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m dropout_lib.coadaptation",
        description="Run the co-adaptation chapter's sweeps and cache them as JSON.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_const", const="full", dest="scale",
                      help="full size (minutes; the default); writes the cache")
    size.add_argument("--small", action="store_const", const="small", dest="scale",
                      help="small size (seconds), as run in the notebook and the tests")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output JSON (default for --full: {CACHE_FILE}, from the repository root)")
    parser.add_argument("--only", nargs="+", choices=list(SWEEPS), default=None,
                        help="run only these sweeps")
    args = parser.parse_args(argv)
    scale = args.scale or "full"
    out = args.out
    if out is None:
        if scale != "full":
            parser.error("--small needs --out (the cache holds the full-size results)")
        out = CACHE_FILE
    results = run_all(scale, progress=True, which=args.only)
    path = save_results(results, out)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

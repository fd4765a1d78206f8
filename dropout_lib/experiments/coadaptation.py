"""Chapter 3's sweeps and the co-adaptation controls, on three data splits.

Every run goes through :func:`dropout_lib.experiments.run`, so it is seeded
the same way: runs with and without dropout that share a seed start from the
same weights and see the same batches, and every comparison is paired. Each
sweep is repeated on the data splits ``digits_splits(seed=s)`` for the split
seeds ``s`` of its scale; its per-seed values are stored split-major (all
seeds of the first split, then the next split).

The study comes in two sizes: ``"small"`` (run live in the notebook and in
the tests) and ``"full"`` (minutes, cached in
``book/data/coadaptation_sweeps.json``)::

    python -m dropout_lib.experiments run coadaptation_sweeps --scale full

See Also
--------
book/03_co_adaptation.ipynb : the chapter that runs these experiments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..analysis import coadaptation as co
from ..data import Splits, digits_splits
from ..net import MLP
from ..training import EarlyStopping
from . import evidence
from .core import Config, run, streams, sweep, sweep_p_drop, sweep_train_size
from .tuning import without_test

__all__ = [
    "BASE",
    "CACHE_FILE",
    "DROPOUT",
    "FORMAT",
    "NAME",
    "N_TRAIN",
    "PLAIN",
    "SCALES",
    "chapter_data",
    "coadaptation_by_width",
    "init_sensitivity",
    "initial_net",
    "l2_grid",
    "p_drop_choice",
    "p_drop_sweep",
    "run_all",
    "run_study",
    "train_and_test",
    "train_size_sweep",
]

#: The study's name for ``python -m dropout_lib.experiments``.
NAME = "coadaptation_sweeps"
#: Version of the JSON layout; bump it when the layout changes.
FORMAT = 2

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

#: Where the book keeps the full-size sweeps, relative to the repository root
#: (the command line's default; the installed library never looks there itself).
CACHE_FILE = Path("book") / "data" / "coadaptation_sweeps.json"

#: The two sizes. "small" has two splits and one seed, a network of half the
#: width and half the updates, and two widths in the co-adaptation control.
SCALES: dict[str, dict[str, Any]] = {
    "small": {
        "hidden": (128, 128),
        "epoch_factor": 0.5,
        "split_seeds": (0, 1),
        "seeds": (0,),
        "tune_seeds": (100,),
        "size_seeds": (0,),
        "init_seeds": (0, 1, 2, 3),
        "widths": (64, 128),
        "width_seeds": (0,),
    },
    "full": {
        "hidden": (256, 256),
        "epoch_factor": 1.0,
        "split_seeds": (0, 1, 2),
        "seeds": (0, 1, 2),
        "tune_seeds": (100, 101),
        "size_seeds": (0, 1, 2),
        "init_seeds": tuple(range(10)),
        "widths": (128, 256, 512, 1024),
        "width_seeds": (0, 1),
    },
}

#: Grids shared by both scales.
P_DROP_GRID = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9)
TRAIN_SIZE_GRID = (50, 100, 200, 400, 1079)
L2_GRID = (0.0, 1e-4, 1e-3, 1e-2)
#: Number of minibatch updates in the main experiment (200 epochs of ceil(200/32) = 7 batches);
#: the training-set-size sweep allows about as many (both arms stop early on
#: validation before that).
UPDATES = 1400
#: ... and gives every training-set size at least this many epochs.
MIN_EPOCHS = 100
#: The co-adaptation control: pairs measured per network, the layer, and the
#: early stopping both arms use there and in the p_drop and size sweeps (no
#: arm is left to overfit).
N_PAIRS = 200
PAIR_LAYER = 2
PATIENCE = 30
MAX_EPOCHS = 300


def chapter_data(n_train: int = N_TRAIN, *, split_seed: int = 0) -> Splits:
    """The chapter's digits: ``n_train`` stratified training images.

    Parameters
    ----------
    n_train : int, default 200
        Training images kept (nested: smaller sets are subsets of larger ones).
    split_seed : int, default 0
        The data split (``digits_splits(seed=split_seed)``); the live
        examples of the chapter use split 0.

    Returns
    -------
    Splits
        359 validation and 359 test images, the same for every ``n_train``.
    """
    return digits_splits(seed=split_seed, n_train=n_train)


def initial_net(config: Config, data: Splits, seed: int) -> MLP:
    """The untrained network that ``run(config, data, seed)`` starts from."""
    return config.make_net(data.n_features, int(data.n_classes),
                           seed=streams(seed)[0])


def train_and_test(config: Config, data: Splits, seed: int, *,
                   init_seed: int | None = None) -> dict[str, float]:
    """Final training and test accuracy and loss of ``run(config, data, seed)``.

    Returns
    -------
    dict
        ``"train_acc"``, ``"train_loss"``, ``"test_acc"``, ``"test_loss"``.
    """
    final = run(config, data, seed, init_seed=init_seed, curves=False)[1].final
    return {k: final[k] for k in ("train_acc", "train_loss", "test_acc",
                                  "test_loss")}


def _scale(scale: str) -> dict[str, Any]:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    return SCALES[scale]


def _base_for(scale: str) -> Config:
    s = _scale(scale)
    return BASE.replace(hidden=tuple(s["hidden"]),
                        epochs=max(1, round(BASE.epochs * s["epoch_factor"])))


def _arms(scale: str) -> dict[str, Config]:
    base = _base_for(scale)
    return {"plain": base,
            "dropout": base.replace(p_drop_input=DROPOUT.p_drop_input,
                                    p_drop_hidden=DROPOUT.p_drop_hidden)}


def _epochs_for(n_train: int, batch_size: int, factor: float) -> int:
    """About ``UPDATES * factor`` updates, and at least ``MIN_EPOCHS * factor``
    epochs (dropout needs more passes than the plain network)."""
    by_updates = UPDATES * factor / math.ceil(n_train / batch_size)
    return max(1, round(max(by_updates, MIN_EPOCHS * factor)))


_METRICS = ("train_acc", "train_loss", "val_acc", "val_loss", "test_acc",
            "test_loss")


def _splits(scale: str, split_seeds: Sequence[int] | None) -> list[int]:
    seeds = _scale(scale)["split_seeds"] if split_seeds is None else split_seeds
    out = [int(s) for s in seeds]
    if not out or any(s < 0 for s in out) or len(set(out)) != len(out):
        raise ValueError("split_seeds must be distinct non-negative ints; "
                         f"got {split_seeds!r}")
    return out


def _block(v: np.ndarray) -> dict[str, list]:
    std = v.std(axis=1, ddof=1) if v.shape[1] > 1 else np.zeros(len(v))
    return {"per_seed": v.round(5).tolist(),
            "mean": v.mean(axis=1).round(5).tolist(),
            "std": std.round(5).tolist()}


def _merge(results: list, best_epoch: bool = False) -> dict[str, Any]:
    """Per metric, the runs of every split side by side (split-major);
    with ``best_epoch``, also the epoch each run kept (early stopping)."""
    out = {m: _block(np.concatenate([r.metrics[m] for r in results], axis=1))
           for m in _METRICS}
    if best_epoch:
        out["best_epoch"] = _block(np.concatenate(
            [np.array([[h.best_epoch for h in row] for row in r.histories],
                      dtype=np.float64) for r in results], axis=1))
    return out


def _stopped(config: Config, max_epochs: int) -> Config:
    """``config`` stopped early on the validation loss (patience
    :data:`PATIENCE`), at most ``max_epochs`` epochs, best epoch kept."""
    return config.replace(epochs=max_epochs,
                          early_stopping=EarlyStopping(PATIENCE))


def p_drop_sweep(scale: str = "small", *, progress: bool = False,
                 split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Final accuracy and loss against the hidden drop probability.

    Every run stops early on the validation loss (patience
    :data:`PATIENCE`, at most :data:`MAX_EPOCHS` epochs, best epoch kept).
    The grid is run twice per split: with the scale's *tuning* seeds, whose
    validation loss chooses the drop probability, and with its *final*
    seeds, whose test results are reported (no test number is a choice's
    own validation run).

    Parameters
    ----------
    scale : {"small", "full"}
        Size of the run, see :data:`SCALES`.
    progress : bool, default False
        Progress bar on stderr.
    split_seeds : sequence of int, optional
        Data splits (default: the scale's).

    Returns
    -------
    dict
        ``"grid"``, ``"split_seeds"``, ``"seeds"`` (final),
        ``"tune_seeds"``, ``"n_train"``, ``"epochs"`` (the most allowed),
        ``"patience"``, per metric (``"test_acc"``, ...; and
        ``"best_epoch"``) of the final runs ``"per_seed"`` (grid x runs,
        split-major), ``"mean"`` and ``"std"``, and ``"tune"``: the same
        for the tuning runs.
    """
    s = _scale(scale)
    base = _stopped(_base_for(scale),
                    max(1, round(MAX_EPOCHS * s["epoch_factor"])))
    splits = _splits(scale, split_seeds)
    seeds, tune_seeds = list(s["seeds"]), list(s["tune_seeds"])
    runs = {}
    for name, sd in (("tune", tune_seeds), ("final", seeds)):
        runs[name] = [sweep_p_drop(base, chapter_data(split_seed=sp),
                                   P_DROP_GRID, seeds=sd, progress=progress)
                      for sp in splits]
    return {"grid": list(P_DROP_GRID), "split_seeds": splits, "seeds": seeds,
            "tune_seeds": tune_seeds, "n_train": N_TRAIN,
            "epochs": base.epochs, "patience": PATIENCE,
            **_merge(runs["final"], best_epoch=True),
            "tune": _merge(runs["tune"], best_epoch=True)}


def train_size_sweep(scale: str = "small", *, progress: bool = False,
                     split_seeds: Sequence[int] | None = None
                     ) -> dict[str, Any]:
    """Final accuracy and loss with and without dropout against the
    training-set size.

    Each split's 1079 training images are the pool; each seed draws its own
    stratified subsets of it. Both arms stop early on the validation loss
    (patience :data:`PATIENCE`, best epoch kept); the most epochs allowed
    give about :data:`UPDATES` updates (at least :data:`MIN_EPOCHS`
    epochs).

    Returns
    -------
    dict
        ``"grid"``, ``"epochs"`` (the most allowed, per size),
        ``"patience"``, ``"split_seeds"``, ``"seeds"``, and for
        ``"plain"`` and ``"dropout"`` the metrics of :func:`p_drop_sweep`
        (with ``"best_epoch"``).
    """
    s = _scale(scale)
    splits = _splits(scale, split_seeds)
    seeds = list(s["size_seeds"])
    epochs = {n: _epochs_for(n, BASE.batch_size, s["epoch_factor"])
              for n in TRAIN_SIZE_GRID}
    out: dict[str, Any] = {"grid": list(TRAIN_SIZE_GRID),
                           "epochs": list(epochs.values()),
                           "patience": PATIENCE,
                           "split_seeds": splits, "seeds": seeds}
    for name, cfg in _arms(scale).items():
        cfg = _stopped(cfg, max(epochs.values()))
        res = [sweep_train_size(cfg, digits_splits(seed=sp), TRAIN_SIZE_GRID,
                                seeds=seeds, epochs_for=epochs.get,
                                progress=progress)
               for sp in splits]
        out[name] = _merge(res, best_epoch=True)
    return out


#: The convergence target: the first epoch with this training accuracy.
CONVERGE_TARGET = 0.99


def init_sensitivity(scale: str = "small", *, progress: bool = False,
                     split_seeds: Sequence[int] | None = None
                     ) -> dict[str, Any]:
    """Spread of the final test accuracy over the initial weights alone,
    and the epochs to :data:`CONVERGE_TARGET` training accuracy.

    The chapter's shared settings (no early stopping). On every split, the
    batch order and the dropout masks come from seed 0; only the seed of
    the initial weights changes, and the two arms share it (paired).

    Returns
    -------
    dict
        ``"init_seeds"``, ``"train_seed"``, ``"split_seeds"``,
        ``"epochs"``, ``"target"`` and for ``"plain"`` and ``"dropout"``
        the metrics and ``"epochs_to_target"`` (``epochs + 1`` when the
        target is never reached; ``"censored"`` counts those), one row of
        one value per split and initial seed (split-major).
    """
    inits = list(_scale(scale)["init_seeds"])
    splits = _splits(scale, split_seeds)
    arms = _arms(scale)
    epochs = next(iter(arms.values())).epochs
    out: dict[str, Any] = {"init_seeds": inits, "train_seed": 0,
                           "split_seeds": splits, "epochs": epochs,
                           "target": CONVERGE_TARGET}
    for name, cfg in arms.items():
        res = []
        for sp in splits:
            r = sweep(cfg, chapter_data(split_seed=sp), param="init_seed",
                      values=inits, seeds=[0], curves=False,
                      progress=progress)
            r.metrics = {m: v.T for m, v in r.metrics.items()}  # one row
            res.append(r)
        out[name] = _merge(res)
        ep = [co.epochs_to(row[0], "train_acc", CONVERGE_TARGET)
              for r in res for row in r.histories]
        out[name]["epochs_to_target"] = _block(np.array(
            [[epochs + 1 if e is None else e for e in ep]], dtype=np.float64))
        out.setdefault("censored", {})[name] = sum(e is None for e in ep)
    return out


def l2_grid(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Final accuracy and loss for L2 weight decay with and without dropout
    (split 0; the exercise on L2 and dropout).

    Returns
    -------
    dict
        ``"grid"`` (the L2 strengths), ``"seeds"``, ``"split_seeds"`` and
        for ``"plain"`` and ``"dropout"`` the metrics aligned with the grid.
    """
    seeds = list(_scale(scale)["size_seeds"])
    out: dict[str, Any] = {"grid": list(L2_GRID), "seeds": seeds,
                           "split_seeds": [0]}
    for name, cfg in _arms(scale).items():
        res = sweep(cfg, chapter_data(), param="l2", values=L2_GRID,
                    seeds=seeds, curves=False, progress=progress)
        out[name] = _merge([res])
    return out


#: What :func:`coadaptation_by_width` measures on every network.
WIDTH_METRICS = ("nonadd", "mean_abs_single", "frac_negative",
                 "rough_change", "rough_weights", "frac_zero", "test_loss",
                 "test_acc", "best_epoch")


def _measure(net: MLP, net0: MLP, data: Splits, varies: np.ndarray,
             pair_seed: np.random.SeedSequence) -> dict[str, float]:
    X, y = data.get("test")
    single = co.unit_damage(net, X, y, layer=PAIR_LAYER)
    H = net.layer_sizes[PAIR_LAYER]
    pairs = co.pair_interactions(net, X, y, layer=PAIR_LAYER,
                                 n_pairs=min(N_PAIRS, H * (H - 1) // 2),
                                 single=single, seed=pair_seed)
    summ = co.interaction_summary(pairs)
    W = net.params["W1"].astype(np.float64)
    W0 = net0.params["W1"].astype(np.float64)
    acc, loss = co.accuracy_and_loss(net, X, y)
    # Units dead from the start never move: their change has no shape.
    moved = np.any((W - W0)[varies] != 0, axis=0)
    return {"nonadd": summ["relative"],
            "mean_abs_single": float(np.mean(np.abs(single))),
            "frac_negative": summ["frac_negative"],
            "rough_change": float(co.roughness((W - W0)[:, moved],
                                                mask=varies).mean()),
            "rough_weights": float(co.roughness(W, mask=varies).mean()),
            "frac_zero": float(co.activation_stats(net, X)[PAIR_LAYER]
                               ["frac_zero"]),
            "test_loss": loss, "test_acc": acc}


def coadaptation_by_width(scale: str = "small", *, progress: bool = False,
                          split_seeds: Sequence[int] | None = None
                          ) -> dict[str, Any]:
    """The pair measure of co-adaptation against width, both arms stopped early.

    For every split, width and seed, a plain and a dropout network
    (0.2 input, 0.5 hidden) of that width are trained with early stopping
    on the validation loss, from the same initial weights and batches; on
    the test split we measure the non-additivity of 200 random pairs of
    hidden layer 2 (the same pairs in both arms), the mean single-unit
    damage, the roughness of the first-layer weights ``W`` and of their
    change ``W - W0`` over the pixels that vary in the training images, and
    the share of zero activations of layer 2 on the test images.

    Returns
    -------
    dict
        ``"widths"``, ``"split_seeds"``, ``"seeds"``, ``"n_pairs"``, and for
        ``"plain"`` and ``"dropout"`` each of :data:`WIDTH_METRICS` as a
        nested list of shape (n_widths, n_splits, n_seeds).
    """
    s = _scale(scale)
    splits = _splits(scale, split_seeds)
    widths, seeds = list(s["widths"]), list(s["width_seeds"])
    es = EarlyStopping(PATIENCE)
    arms = {name: cfg.replace(epochs=max(1, round(MAX_EPOCHS
                                                  * s["epoch_factor"])),
                              early_stopping=es)
            for name, cfg in _arms(scale).items()}
    shape = (len(widths), len(splits), len(seeds))
    out: dict[str, Any] = {"widths": widths, "split_seeds": splits,
                           "seeds": seeds, "n_pairs": N_PAIRS,
                           "layer": PAIR_LAYER, "patience": PATIENCE}
    vals = {a: {m: np.empty(shape) for m in WIDTH_METRICS} for a in arms}
    bar = progress_bar(2 * int(np.prod(shape)), "width", progress)
    for j, sp in enumerate(splits):
        data = chapter_data(split_seed=sp)
        varies = np.ptp(data.X_train, axis=0) > 0
        for i, w in enumerate(widths):
            for k, seed in enumerate(seeds):
                for name, base in arms.items():
                    cfg = base.replace(hidden=(w, w))
                    net, hist = run(cfg, without_test(data), seed)
                    row = _measure(net, initial_net(cfg, data, seed), data,
                                   varies, np.random.SeedSequence(
                                       [sp, w, seed]))
                    row["best_epoch"] = hist.best_epoch
                    for m in WIDTH_METRICS:
                        vals[name][m][i, j, k] = row[m]
                    bar.tick(f"split {sp} width {w} {name} "
                             f"nonadd {row['nonadd']:.3f}")
    bar.close()
    for name in arms:
        out[name] = {m: v.round(6).tolist() for m, v in vals[name].items()}
    return out


def _log_interp(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    """Linear interpolation of log y against log x through the points,
    extended linearly beyond the end points."""
    order = np.argsort(xs)
    lx, ly = np.log(xs[order]), np.log(ys[order])
    t = np.log(x)
    k = int(np.clip(np.searchsorted(lx, t) - 1, 0, lx.size - 2))
    slope = (ly[k + 1] - ly[k]) / (lx[k + 1] - lx[k])
    return float(ly[k] + slope * (t - lx[k]))


def damage_matched(width: dict[str, Any], chapter_width: int) -> np.ndarray:
    """log(non-additivity) of each dropout network at ``chapter_width``
    minus that of a plain network with the same mean single-unit damage.

    The plain value comes from the plain networks of every width, same
    split and seed (log-log interpolation in the mean single damage).

    Returns
    -------
    ndarray, shape (n_splits, n_seeds)
        Negative: dropout's pairs are more nearly additive than a plain
        network's whose single units matter as much.
    """
    i = list(width["widths"]).index(chapter_width)
    P = {m: np.asarray(width["plain"][m]) for m in ("nonadd",
                                                    "mean_abs_single")}
    D = {m: np.asarray(width["dropout"][m]) for m in P}
    out = np.empty(D["nonadd"].shape[1:])
    for j in range(out.shape[0]):
        for k in range(out.shape[1]):
            ref = _log_interp(D["mean_abs_single"][i, j, k],
                              P["mean_abs_single"][:, j, k],
                              P["nonadd"][:, j, k])
            out[j, k] = np.log(D["nonadd"][i, j, k]) - ref
    return out


#: The margin of "no difference" in sensitivity to the initial weights: a
#: factor of 2 in the standard deviation (log 2), about the smallest
#: difference 10 initialisations per arm can detect.
INIT_MARGIN = math.log(2.0)


def p_drop_choice(pd: dict[str, Any], val: str = "val_loss") -> np.ndarray:
    """Per split, the grid index of the drop probability chosen by the
    mean ``val`` (``"val_loss"``: lowest; ``"val_acc"``: highest) of the
    tuning runs of :func:`p_drop_sweep`."""
    v = np.asarray(pd["tune"][val]["per_seed"], dtype=np.float64)
    sel = v.reshape(v.shape[0], len(pd["split_seeds"]), -1).mean(axis=2)
    return sel.argmin(axis=0) if val == "val_loss" else sel.argmax(axis=0)


def comparisons(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The evidence records of the study (those with at least 2 splits)."""
    out: dict[str, dict[str, Any]] = {}

    def add(name, metric, better, effects, **kw):
        e = np.asarray(effects, dtype=np.float64)
        if e.shape[0] >= 2:
            out[name] = evidence.comparison(name, metric, better, e, **kw)

    def runs(block, n_splits):  # (grid, runs) -> (grid, splits, seeds)
        v = np.asarray(block["per_seed"], dtype=np.float64)
        return v.reshape(v.shape[0], n_splits, -1)

    sz = results.get("train_size_sweep")
    if sz is not None:
        n = len(sz["split_seeds"])
        for metric, better in (("test_loss", "lower"), ("test_acc", "higher")):
            gain = runs(sz["dropout"][metric], n) - runs(sz["plain"][metric], n)
            for g, size in zip(gain, sz["grid"], strict=True):
                add(f"size-{metric}-n{size}", metric, better, g)
            add(f"size-{metric}-trend", f"{metric} gain at {sz['grid'][0]} "
                f"minus gain at {sz['grid'][-1]}", better, gain[0] - gain[-1],
                a=f"gain at n={sz['grid'][-1]}",
                b=f"gain at n={sz['grid'][0]}")
    pd = results.get("p_drop_sweep")
    if pd is not None:
        n = len(pd["split_seeds"])
        for metric, val, better in (("test_loss", "val_loss", "lower"),
                                    ("test_acc", "val_acc", "higher")):
            best = p_drop_choice(pd, val)
            v = runs(pd[metric], n)
            eff = np.array([v[b, j] - v[0, j] for j, b in enumerate(best)])
            add(f"pdrop-{metric}", metric, better, eff, a="p_drop 0",
                b="p_drop chosen on validation")
    ini = results.get("init_sensitivity")
    if ini is not None:
        n = len(ini["split_seeds"])

        def per_split(arm, key):
            return np.asarray(ini[arm][key]["per_seed"][0]).reshape(n, -1)

        add("converge-epochs", f"epochs to {ini['target']:.0%} training "
            "accuracy (shared settings)", "lower",
            per_split("dropout", "epochs_to_target")
            - per_split("plain", "epochs_to_target"))
        log_sd = np.log(per_split("dropout", "test_acc").std(axis=1, ddof=1)
                        / per_split("plain", "test_acc").std(axis=1, ddof=1))
        add("init-log-sd-ratio", "log(SD dropout / SD plain) of test "
            "accuracy over initial weights", "lower", log_sd[:, None])
        add("init-log-sd-equal", "log(SD dropout / SD plain) of test "
            "accuracy over initial weights", "equal", log_sd[:, None],
            margin=INIT_MARGIN)
    wd = results.get("coadaptation_by_width")
    if wd is not None:
        for i, w in enumerate(wd["widths"]):
            eff = (np.asarray(wd["dropout"]["nonadd"][i])
                   - np.asarray(wd["plain"]["nonadd"][i]))
            add(f"nonadd-w{w}", "non-additivity", "lower", eff)
        cw = int(results["config"]["chapter_width"])
        if cw in wd["widths"] and len(wd["widths"]) >= 2:
            add("nonadd-damage-matched",
                "log non-additivity at matched single-unit damage", "lower",
                damage_matched(wd, cw), a="plain (interpolated over widths)")
            i = wd["widths"].index(cw)
            for m, better in (("rough_change", "lower"),
                              ("rough_weights", "lower"),
                              ("frac_zero", "higher")):
                eff = (np.asarray(wd["dropout"][m][i])
                       - np.asarray(wd["plain"][m][i]))
                add(m.replace("_", "-"), m, better, eff)
    return out


SWEEPS = {
    "p_drop_sweep": p_drop_sweep,
    "train_size_sweep": train_size_sweep,
    "init_sensitivity": init_sensitivity,
    "l2_grid": l2_grid,
    "coadaptation_by_width": coadaptation_by_width,
}


def _config_record(scale: str) -> dict[str, Any]:
    base = _base_for(scale)
    s = _scale(scale)
    return {
        "data": f"digits_splits(seed=split): {N_TRAIN} training images "
                "unless stated, 359 validation, 359 test",
        "network": f"64-{'-'.join(map(str, base.hidden))}-10 "
                   f"{base.activation}, {base.dtype}",
        "chapter_width": int(base.hidden[0]),
        "optimizer": f"{base.optimizer} lr={base.lr:g}",
        "batch_size": base.batch_size,
        "epochs": base.epochs,
        "dropout_arm": {"p_drop_input": DROPOUT.p_drop_input,
                        "p_drop_hidden": DROPOUT.p_drop_hidden},
        "size_seeds": list(s["size_seeds"]),
        "tune_seeds": list(s["tune_seeds"]),
        "patience": PATIENCE,
        "init_seeds": list(s["init_seeds"]),
        "widths": list(s["widths"]),
        "width_seeds": list(s["width_seeds"]),
        "updates_train_size_sweep": int(round(UPDATES * s["epoch_factor"])),
    }


def run_all(scale: str = "small", *, progress: bool = False,
            which: Sequence[str] | None = None,
            split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Run every sweep (or those named in ``which``) at one scale.

    Returns
    -------
    dict
        The envelope of :func:`~dropout_lib.experiments.registry.envelope`,
        one entry per sweep, and ``"comparisons"``: the evidence records.
    """
    from .registry import envelope

    names = list(SWEEPS) if which is None else list(which)
    for n in names:
        if n not in SWEEPS:
            raise ValueError(f"which: unknown sweep {n!r}; choose from "
                             f"{list(SWEEPS)}")
    splits = _splits(scale, split_seeds)
    out = envelope(NAME, scale, split_seeds=splits,
                   seeds=_scale(scale)["seeds"], config=_config_record(scale))
    for n in names:
        if n == "l2_grid":
            out[n] = SWEEPS[n](scale, progress=progress)
        else:
            out[n] = SWEEPS[n](scale, progress=progress, split_seeds=splits)
    out["comparisons"] = comparisons(out)
    return out


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Every sweep at ``scale``: see :func:`run_all`."""
    return run_all(scale, progress=progress, split_seeds=split_seeds)

"""Chapter 3's headline comparison: dropout against a tuned plain network.

On every data split (digits, and a small MNIST subset), both arms choose
their optimizer, learning rate and regulariser on a grid of their own (the
plain network: L2; dropout: ``p_drop`` and, in Srivastava et al.'s SGD
recipe, max-norm) and their epoch by early stopping, all on that split's
validation set, with two tuning seeds; a grid is extended while a
choice sits on its edge (``tune(..., extend=True)``). The chosen settings
are then trained with other seeds, paired between the arms, and the
split's test set is read once per network. Temperature scaling, fitted on
validation, is applied to both arms. The comparisons a verdict rests on
are saved as evidence records
(:func:`dropout_lib.experiments.evidence.comparison`).

Run from the command line (minutes; writes the book's file)::

    python -m dropout_lib.experiments run tuned_comparison --scale full

See Also
--------
book/03_co_adaptation.ipynb : the section "A fair comparison".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..analysis.calibration import (
    expected_calibration_error,
    fit_temperature,
    reliability,
)
from ..data import Splits, digits_splits, mnist_splits
from ..losses import log_softmax
from ..net import MLP
from ..training import EarlyStopping
from . import evidence
from .coadaptation import BASE, DROPOUT
from .core import Config, run
from .tuning import tune, without_test

__all__ = ["CACHE_FILE", "DATASETS", "FORMAT", "NAME", "SCALES",
           "arm_config", "comparisons", "evaluate_net", "run_study"]

#: The study's name for ``python -m dropout_lib.experiments``.
NAME = "tuned_comparison"
#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "tuned_comparison.json"
#: Version of the JSON layout; bump it when the layout changes.
FORMAT = 2
#: Bins of the reliability diagram and of the ECE.
N_BINS = 10

# Every grid is a start: :func:`tune` extends it (``extend=True``) while a
# choice sits on its edge, so the saved choices are interior or at a
# natural bound (L2 of 0). Digits: learning rates on both sides of the
# choice; L2 from 0 (the natural lower end) to past the best; p_drop
# around the earlier choices (0.2-0.4). SGD with momentum and max-norm is
# Srivastava et al.'s recipe, tuned over its learning rate and bound
# (column norms of the trained weights here are about 1.5).
_D_PLAIN = [{"optimizer": ["adam"], "lr": [3e-4, 1e-3, 3e-3],
             "l2": [0.0, 1e-4, 1e-3, 1e-2]},
            {"optimizer": ["sgd"], "lr": [0.01, 0.03, 0.1],
             "momentum": [0.9], "l2": [0.0, 1e-3]}]
_D_DROP = [{"optimizer": ["adam"], "lr": [3e-4, 1e-3, 3e-3],
            "p_drop_hidden": [0.2, 0.4, 0.6]},
           {"optimizer": ["sgd"], "lr": [0.01, 0.03, 0.1],
            "momentum": [0.9], "p_drop_hidden": [0.5],
            "max_norm": [2.0, 4.0]}]
# MNIST: Adam only (the digits' SGD settings were never chosen).
_M_PLAIN = [{"lr": [3e-4, 1e-3, 3e-3], "l2": [0.0, 1e-4, 1e-3]}]
_M_DROP = [{"lr": [3e-4, 1e-3, 3e-3], "p_drop_hidden": [0.1, 0.25, 0.5]}]
#: Tuning seeds of the full studies: two, because one seed's validation
#: loss is too noisy on these flat curves (choices flipped across splits).
_TUNE_SEEDS = (100, 101)

#: Per data set: its splits, the arms' base settings and grids, per scale.
DATASETS: dict[str, dict[str, Any]] = {
    "digits": {
        "data": lambda split, n: digits_splits(seed=split, n_train=n),
        "plain": BASE, "dropout": DROPOUT,
        "full": {"n_train": 200, "hidden": (256, 256), "epochs": 300,
                 "patience": 30, "tune_seeds": _TUNE_SEEDS,
                 "grids": {"plain": _D_PLAIN, "dropout": _D_DROP},
                 "untuned": True},
        "small": {"n_train": 200, "hidden": (32, 32), "epochs": 40,
                  "patience": 10, "tune_seeds": (100,),
                  "grids": {"plain": [{"lr": [1e-3, 3e-3]}],
                            "dropout": [{"p_drop_hidden": [0.3, 0.5]}]},
                  "untuned": True},
    },
    "mnist": {
        "data": lambda split, n: mnist_splits(seed=split, n_train=n),
        "plain": BASE.replace(batch_size=64),
        "dropout": DROPOUT.replace(batch_size=64),
        "full": {"n_train": 2000, "hidden": (128, 128), "epochs": 100,
                 "patience": 10, "tune_seeds": _TUNE_SEEDS,
                 "grids": {"plain": _M_PLAIN, "dropout": _M_DROP},
                 "untuned": False},
        "small": {"n_train": 300, "hidden": (32,), "epochs": 10,
                  "patience": 3, "tune_seeds": (100,),
                  "grids": {"plain": [{"lr": [1e-3, 3e-3]}],
                            "dropout": [{"p_drop_hidden": [0.3, 0.5]}]},
                  "untuned": False},
    },
}

#: Splits and final seeds per scale.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"split_seeds": (0, 1, 2), "seeds": (0, 1, 2, 3, 4)},
    "small": {"split_seeds": (0, 1), "seeds": (0, 1)},
}

_ARMS = ("plain", "dropout")
_SCALARS = ("test_loss", "test_acc", "test_ece", "temperature",
            "ts_test_loss", "ts_test_ece", "val_loss", "best_epoch")


def arm_config(dataset: str, scale: str, arm: str,
               setting: dict[str, Any] | None = None) -> Config:
    """The configuration an arm trains with: its base, the scale's size and
    early stopping, and a grid ``setting`` (e.g. the chosen one)."""
    d = DATASETS[dataset]
    s = d[scale]
    cfg = d[arm].replace(hidden=s["hidden"], epochs=s["epochs"],
                         early_stopping=EarlyStopping(s["patience"]))
    return cfg.replace(**(setting or {}))


def evaluate_net(net: MLP, data: Splits) -> dict[str, Any]:
    """Test metrics of one trained network, before and after temperature.

    The temperature is fitted on the validation split; the test split is
    read here, once.

    Returns
    -------
    dict
        ``"test_loss"``, ``"test_acc"``, ``"test_ece"``, ``"temperature"``,
        ``"ts_test_loss"``, ``"ts_test_ece"``, per-image losses
        ``"image_loss"``, ``"ts_image_loss"`` and ``"correct"`` (0/1), arrays
        of shape (N_test,), and the reliability ``"bins"``, ``"ts_bins"``.
    """
    T = fit_temperature(net.scores(data.X_val), data.y_val)
    scores = net.scores(data.X_test).astype(np.float64)
    out: dict[str, Any] = {"temperature": T}
    for prefix, s in (("", scores), ("ts_", scores / T)):
        logp = log_softmax(s)
        proba = np.exp(logp)
        image_loss = -logp[np.arange(data.y_test.size), data.y_test]
        out[f"{prefix}test_loss"] = float(image_loss.mean())
        out[f"{prefix}test_ece"] = expected_calibration_error(
            proba, data.y_test, n_bins=N_BINS)
        out[f"{prefix}image_loss"] = image_loss
        out[f"{prefix}bins"] = reliability(proba, data.y_test, n_bins=N_BINS)
    out["correct"] = (scores.argmax(axis=1) == data.y_test).astype(float)
    out["test_acc"] = float(out["correct"].mean())
    return out


def _final_runs(name: str, config: Config, data: Splits,
                seeds: Sequence[int], bar) -> tuple[dict[str, Any], list]:
    """Train ``config`` once per seed on the *training* split alone, with
    early stopping on the validation split (the weights of the best
    validation epoch are kept), then read the test split once.

    Returns the per-seed scalars (JSON-ready) and the raw rows.
    """
    rows = []
    for seed in seeds:
        net, hist = run(config, without_test(data), seed,
                        curves=config.early_stopping is not None)
        row = evaluate_net(net, data)
        row["best_epoch"] = hist.best_epoch
        row["val_loss"] = hist.final["val_loss"]
        rows.append(row)
        bar.tick(f"{name} seed {seed} test_loss {row['test_loss']:.4f}")
    out: dict[str, Any] = {"seeds": list(seeds)}
    for key in _SCALARS:
        out[key] = [round(float(r[key]), 6) for r in rows]
    out["best_epoch"] = [int(r["best_epoch"]) for r in rows]
    return out, rows


def _reliability(rows: list, prefix: str) -> dict[str, list]:
    """The reliability bins of several networks, pooled."""
    bins = [r[f"{prefix}bins"] for r in rows]
    count = np.sum([b["count"] for b in bins], axis=0)
    conf = np.nansum([b["confidence"] * b["count"] for b in bins], axis=0)
    acc = np.nansum([b["accuracy"] * b["count"] for b in bins], axis=0)
    with np.errstate(invalid="ignore"):
        conf, acc = np.round(conf / count, 6), np.round(acc / count, 6)
    # Empty bins are None (JSON has no NaN).
    return {"count": count.tolist(),
            "confidence": [None if c == 0 else float(v)
                           for c, v in zip(count, conf, strict=True)],
            "accuracy": [None if c == 0 else float(v)
                         for c, v in zip(count, acc, strict=True)]}


def _one_split(dataset: str, scale: str, split: int, seeds: Sequence[int],
               progress: bool) -> tuple[dict[str, Any], dict[str, list]]:
    """Tune both arms on one split's validation set; then the final runs."""
    s = DATASETS[dataset][scale]
    data = DATASETS[dataset]["data"](split, s["n_train"])
    out: dict[str, Any] = {"split_seed": split, "tuning": {}, "final": {}}
    arms: dict[str, Config] = {}
    for arm in _ARMS:
        t = tune(arm_config(dataset, scale, arm), data, s["grids"][arm],
                 seeds=s["tune_seeds"], progress=progress, extend=True)
        out["tuning"][arm] = t.record()
        arms[arm] = t.config
    if s["untuned"]:  # the shared settings of the chapter's first section
        for arm in _ARMS:
            arms[f"{arm}_untuned"] = DATASETS[dataset][arm].replace(
                hidden=s["hidden"], epochs=min(s["epochs"], 200))
    bar = progress_bar(len(arms) * len(seeds),
                       f"{dataset} split {split} final", progress)
    raw = {}
    for name, cfg in arms.items():
        out["final"][name], raw[name] = _final_runs(name, cfg, data, seeds,
                                                    bar)
    bar.close()
    return out, raw


def comparisons(dataset: str, splits: list[dict[str, Any]],
                raw: list[dict[str, list]]) -> dict[str, dict[str, Any]]:
    """The evidence records of one data set: dropout minus the plain arm.

    ``splits`` are the per-split results, ``raw`` the per-split raw rows
    (per-image losses and correctness for the test-set check).
    """
    out = {}
    specs: list[tuple[str, str, str, str, Callable]] = [
        ("test_loss", "test_loss", "lower", "", lambda r: r["image_loss"]),
        ("ts_test_loss", "ts_test_loss", "lower", "",
         lambda r: r["ts_image_loss"]),
        ("test_acc", "test_acc", "higher", "", lambda r: r["correct"])]
    if "plain_untuned" in splits[0]["final"]:
        specs.append(("untuned_test_loss", "test_loss", "lower", "_untuned",
                      lambda r: r["image_loss"]))
    for name, metric, better, suffix, per_image in specs:
        a, b = f"plain{suffix}", f"dropout{suffix}"
        eff = [np.subtract(sp["final"][b][metric], sp["final"][a][metric])
               for sp in splits]
        per_ex = [np.mean([per_image(rb) - per_image(ra) for ra, rb in
                           zip(rw[a], rw[b], strict=True)], axis=0)
                  for rw in raw]
        key = f"{name}-{dataset}"
        out[key] = evidence.comparison(key, metric, better, eff,
                                       per_example=per_ex, dataset=dataset,
                                       a=a, b=b)
    return out


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Tune both arms on every split of both data sets, then test them.

    Returns
    -------
    dict
        The envelope (:func:`~dropout_lib.experiments.registry.envelope`),
        ``"datasets"``: per data set its ``"config"``, per-split
        ``"splits"`` (``"tuning"`` and ``"final"`` per arm) and the pooled
        ``"reliability"`` per arm, and ``"comparisons"``: evidence records.
    """
    from .registry import envelope

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got "
                         f"{scale!r}")
    sc = SCALES[scale]
    splits = list(sc["split_seeds"] if split_seeds is None else split_seeds)
    seeds = list(sc["seeds"])
    config = {ds: {k: (v if not isinstance(v, tuple) else list(v))
                   for k, v in d[scale].items()}
              for ds, d in DATASETS.items()}
    out = envelope(NAME, scale, split_seeds=splits, seeds=seeds,
                   config=config)
    out.update({"n_bins": N_BINS, "datasets": {}, "comparisons": {}})
    for ds in DATASETS:
        per_split, raws = [], []
        for sp in splits:
            res, raw = _one_split(ds, scale, sp, seeds, progress)
            per_split.append(res)
            raws.append(raw)
        rel = {}
        for arm in _ARMS:
            for prefix in ("", "ts_"):
                rel[f"{prefix}{arm}"] = _reliability(
                    [r for raw in raws for r in raw[arm]], prefix)
        out["datasets"][ds] = {"splits": per_split, "reliability": rel}
        if len(splits) >= 2:
            out["comparisons"].update(comparisons(ds, per_split, raws))
    return out

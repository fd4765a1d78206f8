"""Chapter 4's study: dropout against real ensembles, and MC dropout's uncertainty.

Three parts, each on several data splits with paired training seeds:

1. **Ensembles** (digits and the shipped MNIST subset): one network without
   dropout, the same network with dropout, bagging (networks of about a fifth
   of the width, on bootstrap samples, together about one network's
   parameters) and a deep ensemble of full-size networks without dropout. On
   every split each arm picks its learning rate (dropout also ``p_drop``) on
   that split's validation set; a grid whose choice lies on an edge is
   extended until the choice is interior (``p_drop`` stops at 0.05: below,
   dropout becomes the plain arm). Every network stops early on validation;
   the test split is read once per model.
2. **MC dropout for classification**, on the same tuned dropout networks:
   weight scaling (also with a temperature fitted on validation), MC
   averaging and the deep ensemble, by test NLL, ECE and accuracy on clean
   images, and by how well their entropy or mutual information tells noised
   test images from clean ones (AUROC).
3. **Regression with a gap** (three data draws x seeds): the MC-dropout band
   against a deep ensemble's, by region; the spread against ``p_drop``; and
   Osband's question, whether the spread shrinks with 16 times more data.

Every comparison a verdict rests on is saved with
:func:`dropout_lib.experiments.evidence.comparison` under ``"comparisons"``;
test loss and accuracy with per-example differences (a bootstrap over test
images per split), ECE, AUROC and the regression bands without (their
per-split intervals are over seeds on one test set).

Not controlled: the plain arm tunes only ``lr`` (no L2), and there is no
matched-capacity control (five bagging-width networks without bootstrap,
or one), so bagging's deficit mixes resampling, width and averaging.

Run from the command line (about 20 CPU minutes; writes the book's file)::

    python -m dropout_lib.experiments run ensembles --scale full

See Also
--------
book/04_ensembles.ipynb : the sections "Dropout against a real ensemble" and
    "Uncertainty from dropout: MC dropout".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..analysis.calibration import (expected_calibration_error,
                                    fit_temperature, nll_per_example)
from ..analysis.ensembles import (auroc, mc_regression, mutual_information,
                                  predictive_entropy)
from ..data import (Splits, digits_splits, gap_function, make_gap_regression,
                    mnist_splits)
from ..losses import softmax
from ..net import MLP
from ..optim import make_optimizer
from ..training import EarlyStopping, fit
from . import evidence, registry
from .core import Config, run, run_bagging
from .tuning import Tuned, tune, without_test

__all__ = ["ARMS", "CACHE_FILE", "DATASETS", "FORMAT", "GAP", "NAME",
           "REGRESSION", "SCALES", "X_RANGE", "arm_config", "final_arm",
           "regression_net", "run_study"]

NAME = "ensembles"
#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "ensemble_comparison.json"
#: Version of the JSON layout.
FORMAT = 2

#: The four arms of part 1.
ARMS = ("plain", "dropout", "bagging", "deep_ensemble")

#: Per data set: how to load a split, the networks, members, noise.
DATASETS: dict[str, dict[str, Any]] = {
    "digits": {"splits": digits_splits, "n_train": None,
               "hidden": (128, 128), "small": (43, 43), "members": 5,
               "epochs": 100, "patience": 15, "noise": 0.5},
    "mnist": {"splits": mnist_splits, "n_train": 3000,
              "hidden": (128, 128), "small": (29, 29), "members": 5,
              "epochs": 60, "patience": 8, "noise": 0.5},
}
_LR = [1e-3, 2e-3, 4e-3]
_P = [0.1, 0.2, 0.3, 0.5]
#: Largest number of times a grid is extended past an edge.
_MAX_EXTEND = 3
#: Stochastic passes of MC dropout.
_T = 100

#: The 1-D regression problem of part 3.
GAP, X_RANGE = (-0.5, 1.0), (-3.0, 3.0)
REGRESSION = {"hidden": (64, 64), "epochs": 800, "batch_size": 50,
              "lr": 5e-3, "p_drop": 0.1, "p_values": [0.05, 0.1, 0.2, 0.4],
              "sizes": [25, 100, 400], "updates": 1600, "members": 5,
              "passes": 200, "grid": [-5.0, 5.0, 401]}

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"split_seeds": (0, 1, 2), "seeds": (0, 1, 2, 3, 4),
             "tune_seeds": (100, 101), "datasets": ("digits", "mnist"),
             "epochs": None, "members": None, "lr": _LR, "p": _P,
             "extend": _MAX_EXTEND, "reg_seeds": (0, 1, 2, 3, 4),
             "reg_epochs": 1.0},
    "small": {"split_seeds": (0, 1), "seeds": (0, 1),
              "tune_seeds": (100,), "datasets": ("digits",),
              "epochs": 3, "members": 2, "lr": [2e-3], "p": [0.3],
              "extend": 0, "reg_seeds": (0, 1), "reg_epochs": 0.05},
}


def arm_config(dataset: str, arm: str, *, epochs: int | None = None
               ) -> Config:
    """The untuned configuration of an arm on a data set (``lr`` 1e-3)."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}; "
                         f"got {dataset!r}")
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}; got {arm!r}")
    d = DATASETS[dataset]
    return Config(hidden=d["small"] if arm == "bagging" else d["hidden"],
                  epochs=epochs or d["epochs"], batch_size=64,
                  optimizer="adam", early_stopping=EarlyStopping(d["patience"]))


def _members(dataset: str, s: dict[str, Any]) -> int:
    return s["members"] or DATASETS[dataset]["members"]


def _train(config: Config, data: Splits, seed: int, members: int,
           bootstrap: bool) -> tuple[list[MLP], int]:
    """An arm's networks for one seed, and the epochs they trained."""
    if members == 1:  # the same seed gives plain and dropout the same start
        net, hist = run(config, data, seed)
        return [net], hist.epochs[-1]
    nets, hists = run_bagging(config, data, seed, n_members=members,
                              bootstrap=bootstrap)
    return nets, sum(h.epochs[-1] for h in hists)


def final_arm(dataset: str, arm: str, config: Config, data: Splits,
              seed: int, *, members: int | None = None
              ) -> tuple[list[MLP], int]:
    """The trained networks of one arm and seed, and their epochs summed.

    They train on ``data`` without its test split.
    """
    m = members or DATASETS[dataset]["members"]
    if arm in ("plain", "dropout"):
        m = 1
    return _train(config, without_test(data), seed, m, arm == "bagging")


def _extend(values: list, chosen: Any, key: str) -> list | None:
    """The grid with one more value past the edge ``chosen`` sits on."""
    vals = sorted(values)
    low = chosen == vals[0]
    if key == "lr":
        new = chosen / 2 if low else chosen * 2
    elif key == "p_drop_hidden":
        new = round(chosen / 2, 3) if low else round(chosen + 0.1, 3)
        if new < 0.05 or new > 0.8:
            return None  # 0 is the plain arm; 0.8 keeps one unit in five
    else:  # pragma: no cover - every grid is lr or p_drop
        return None
    return sorted({*vals, new})


def _tune(dataset: str, arm: str, s: dict[str, Any], data: Splits,
          bar) -> tuple[Config, dict[str, Any]]:
    """Tune an arm on the split's validation set; extend edge choices."""
    grid: dict[str, list] = {"lr": list(s["lr"])}
    if arm == "dropout":
        grid["p_drop_hidden"] = list(s["p"])
    members = 1 if arm in ("plain", "dropout") else _members(dataset, s)
    cache: dict[tuple[str, int], tuple[float, int]] = {}

    def score(cfg: Config, val: Splits, seed: int) -> tuple[float, int]:
        key = (repr(cfg), seed)
        if key in cache:
            return cache[key][0], 0  # trained already: no new epochs
        nets, epochs = _train(cfg, val, seed, members, arm == "bagging")
        proba = np.mean([n.predict_proba(val.X_val) for n in nets], axis=0)
        cache[key] = (float(np.mean(nll_per_example(proba, val.y_val))),
                      epochs)
        bar.tick(f"{dataset} {arm} tune")
        return cache[key]

    base = arm_config(dataset, arm, epochs=s["epochs"])
    extended = 0
    while True:
        t: Tuned = tune(base, data, grid, seeds=s["tune_seeds"], score=score)
        edges = t.edges()
        grew = False
        for key, e in edges.items():
            if e["on_edge"] and extended < s["extend"]:
                new = _extend(grid[key], e["chosen"], key)
                if new is not None and new != sorted(grid[key]):
                    grid[key] = new
                    grew = True
        if not grew:
            break
        extended += 1
    rec = t.record()
    rec["epochs_trained"] = sum(e for _, e in cache.values())
    rec["extended"] = extended
    return t.config, rec


def _noised(X: np.ndarray, split: int, sigma: float) -> np.ndarray:
    rng = np.random.default_rng([split, 777])
    return np.clip(X + rng.normal(0.0, sigma, X.shape), 0.0, 1.0)


def _scores(proba: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    per = nll_per_example(proba, y)
    right = (proba.argmax(axis=1) == y).astype(np.float64)
    return {"loss": float(per.mean()), "acc": float(right.mean()),
            "ece": expected_calibration_error(proba, y),
            "per_loss": per, "per_acc": right}


def _split_part(dataset: str, split: int, s: dict[str, Any],
                bar) -> dict[str, Any]:
    """Tune the arms on one split, then train and test every seed."""
    d = DATASETS[dataset]
    data = d["splits"](seed=split, n_train=d["n_train"])
    chosen, tuning = {}, {}
    for arm in ("plain", "dropout", "bagging"):
        chosen[arm], tuning[arm] = _tune(dataset, arm, s, data, bar)
    chosen["deep_ensemble"] = chosen["plain"]
    X, y = data.X_test, data.y_test
    X_noise = _noised(X, split, d["noise"])
    n_train = data.X_train.shape[0]
    final: dict[str, dict[str, list]] = {a: {} for a in ARMS}
    mc: dict[str, dict[str, list]] = {}
    per: dict[str, list] = {}

    def keep(store: dict, key: str, value: Any) -> None:
        store.setdefault(key, []).append(value)

    for seed in s["seeds"]:
        probas = {}
        for arm in ARMS:
            nets, epochs = final_arm(dataset, arm, chosen[arm], data, seed,
                                     members=_members(dataset, s))
            bar.tick(f"{dataset} split {split} {arm}")
            P = np.mean([n.predict_proba(X) for n in nets], axis=0)
            sc = _scores(P, y)
            probas[arm] = (nets, P)
            for k in ("loss", "acc", "ece"):
                keep(final[arm], f"test_{k}", round(sc[k], 6))
            keep(per, f"{arm}_loss", sc["per_loss"])
            keep(per, f"{arm}_acc", sc["per_acc"])
            final[arm]["params"] = sum(n.n_params for n in nets)
            final[arm]["members"] = len(nets)
            keep(final[arm], "compute",
                 int(epochs * n_train * nets[0].n_params))
        _mc_part(probas, data, X_noise, split, seed, mc, per)
    return {"split": split, "sizes": data.sizes(),
            "chosen": {a: {"lr": chosen[a].lr,
                           "p_drop_hidden": chosen[a].p_drop_hidden,
                           "hidden": list(chosen[a].hidden)} for a in ARMS},
            "tuning": tuning, "final": final, "mc": mc,
            "_per": {k: np.mean(v, axis=0) for k, v in per.items()}}


def _mc_part(probas: dict, data: Splits, X_noise: np.ndarray, split: int,
             seed: int, mc: dict, per: dict) -> None:
    """Weight scaling, temperature, MC dropout and the deep ensemble."""
    X, y = data.X_test, data.y_test
    (net,), P_ws = probas["dropout"]
    rng = np.random.default_rng([split, seed, 4242])
    S_clean = net.mc_predict(X, n_samples=_T, rng=rng)
    S_noise = net.mc_predict(X_noise, n_samples=_T, rng=rng)
    temp = fit_temperature(net.scores(data.X_val), data.y_val)
    members = probas["deep_ensemble"][0]
    D_clean = np.stack([m.predict_proba(X) for m in members])
    D_noise = np.stack([m.predict_proba(X_noise) for m in members])
    ways = {
        "weight_scaling": (P_ws, net.predict_proba(X_noise), None, None),
        "temperature": (softmax(net.scores(X) / temp),
                        softmax(net.scores(X_noise) / temp), None, None),
        "mc_dropout": (S_clean.mean(axis=0), S_noise.mean(axis=0),
                       S_clean, S_noise),
        "deep_ensemble": (D_clean.mean(axis=0), D_noise.mean(axis=0),
                          D_clean, D_noise),
    }
    mc.setdefault("fitted_temperature", []).append(round(temp, 6))
    out: dict[str, Any] = {}
    for way, (pc, pn, sc, sn) in ways.items():
        score = _scores(pc, y)
        row = {"test_loss": score["loss"], "test_acc": score["acc"],
               "test_ece": score["ece"],
               "auroc_entropy": auroc(predictive_entropy(pc),
                                      predictive_entropy(pn)),
               "noised_acc": float(np.mean(pn.argmax(axis=1) == y))}
        if sc is not None:
            mi_c, mi_n = mutual_information(sc), mutual_information(sn)
            row["auroc_mi"] = auroc(mi_c, mi_n)
            row["mi_clean"] = float(mi_c.mean())
            row["mi_noised"] = float(mi_n.mean())
        for k, v in row.items():
            out.setdefault(way, {}).setdefault(k, round(float(v), 6))
        per.setdefault(f"{way}_mcloss", []).append(score["per_loss"])
    for k, v in out.items():
        for m, val in v.items():
            mc.setdefault(k, {}).setdefault(m, []).append(val)


# --------------------------------------------------------------------------- regression


def regression_net(X: np.ndarray, y: np.ndarray, *, p_drop: float,
                   seed: int, epochs: int | None = None) -> MLP:
    """The gap-regression network of chapter 4, trained (deterministic)."""
    r = REGRESSION
    net = MLP([1, *r["hidden"], 1], p_drop_hidden=p_drop,
              seed=np.random.SeedSequence([seed, 1]))
    fit(net, (X, y), epochs=epochs or r["epochs"], batch_size=r["batch_size"],
        loss="mse", optimizer=make_optimizer("adam", lr=r["lr"]),
        seed=np.random.SeedSequence([seed, 2]))
    return net


def _regions(x: np.ndarray) -> dict[str, np.ndarray]:
    in_gap = (x > GAP[0]) & (x < GAP[1])
    in_range = (x >= X_RANGE[0]) & (x <= X_RANGE[1])
    return {"data": in_range & ~in_gap, "gap": in_gap, "outside": ~in_range}


def _band(mu: np.ndarray, sd: np.ndarray, truth: np.ndarray,
          regions: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    err = np.abs(mu - truth)
    return {name: {"std": round(float(sd[r].mean()), 6),
                   "coverage": round(float(np.mean(err[r] <= 2 * sd[r])), 6),
                   "error": round(float(err[r].mean()), 6)}
            for name, r in regions.items()}


def _regression(s: dict[str, Any], bar) -> dict[str, Any]:
    r = REGRESSION
    x = np.linspace(*r["grid"][:2], int(r["grid"][2]))
    truth = gap_function(x)
    regions = _regions(x)
    scale = s["reg_epochs"]
    epochs = max(1, round(r["epochs"] * scale))
    out: dict[str, Any] = {"config": r, "by_p": {}, "deep": [],
                           "osband": {str(n): [] for n in r["sizes"]}}
    for split in s["split_seeds"]:
        X, y = make_gap_regression(100, x_range=X_RANGE, gap=GAP, seed=split)
        by_p = {str(p): [] for p in r["p_values"]}
        deep, osb = [], {str(n): [] for n in r["sizes"]}
        for seed in s["reg_seeds"]:
            for p in r["p_values"]:
                net = regression_net(X, y, p_drop=p, seed=seed, epochs=epochs)
                mu, sd = mc_regression(net, x[:, None], n_samples=r["passes"],
                                       rng=np.random.default_rng([seed, 3]))
                by_p[str(p)].append(_band(mu, sd, truth, regions))
                bar.tick(f"regression split {split} p {p}")
            outs = np.array([regression_net(
                X, y, p_drop=0.0, seed=1000 * (m + 1) + seed,
                epochs=epochs).scores(x[:, None])[:, 0]
                for m in range(r["members"])])
            deep.append(_band(outs.mean(axis=0), outs.std(axis=0), truth,
                              regions))
            bar.tick(f"regression split {split} deep ensemble")
            for n in r["sizes"]:
                Xn, yn = make_gap_regression(n, x_range=X_RANGE, gap=GAP,
                                             seed=split)
                ep = max(1, round(r["updates"] // -(-n // r["batch_size"])
                                  * scale))
                net = regression_net(Xn, yn, p_drop=r["p_drop"], seed=seed,
                                     epochs=ep)
                mu, sd = mc_regression(net, x[:, None], n_samples=r["passes"],
                                       rng=np.random.default_rng([seed, 3]))
                osb[str(n)].append(_band(mu, sd, truth, regions))
                bar.tick(f"regression split {split} n {n}")
        for p, rows in by_p.items():
            out["by_p"].setdefault(p, []).append(rows)
        out["deep"].append(deep)
        for n, rows in osb.items():
            out["osband"][n].append(rows)
    return out


def _field(rows: list[list[dict]], region: str, key: str) -> np.ndarray:
    """(splits, seeds) array of one band statistic."""
    return np.array([[row[region][key] for row in split] for split in rows])


# --------------------------------------------------------------------------- the study


def _comparisons(parts: dict[str, list[dict]], reg: dict[str, Any]
                 ) -> dict[str, dict[str, Any]]:
    out = {}

    def add(rec: dict[str, Any]) -> None:
        out[rec["name"]] = rec

    for ds, splits in parts.items():
        F = [p["final"] for p in splits]
        per = [p["_per"] for p in splits]
        for b, a in (("dropout", "plain"), ("dropout", "bagging"),
                     ("deep_ensemble", "plain"), ("deep_ensemble", "dropout"),
                     ("bagging", "plain")):
            for metric, better, key in (("test_loss", "lower", "loss"),
                                        ("test_acc", "higher", "acc")):
                eff = [np.subtract(f[b][metric], f[a][metric]) for f in F]
                add(evidence.comparison(
                    f"{b}-vs-{a}-{key}-{ds}", metric, better, eff,
                    per_example=[p[f"{b}_{key}"] - p[f"{a}_{key}"]
                                 for p in per], dataset=ds, a=a, b=b))
        M = [p["mc"] for p in splits]
        for b, a, metric, better in (
                ("mc_dropout", "weight_scaling", "test_loss", "lower"),
                ("mc_dropout", "weight_scaling", "test_ece", "lower"),
                ("mc_dropout", "temperature", "test_loss", "lower"),
                ("mc_dropout", "weight_scaling", "auroc_entropy", "higher"),
                ("mc_dropout", "temperature", "auroc_entropy", "higher"),
                ("deep_ensemble", "mc_dropout", "test_loss", "lower"),
                ("deep_ensemble", "mc_dropout", "auroc_entropy", "higher"),
                ("deep_ensemble", "mc_dropout", "auroc_mi", "higher")):
            eff = [np.subtract(m[b][metric], m[a][metric]) for m in M]
            kw = {}
            if metric == "test_loss":
                kw["per_example"] = [p[f"{b}_mcloss"] - p[f"{a}_mcloss"]
                                     for p in per]
            add(evidence.comparison(f"{b}-vs-{a}-{metric}-{ds}", metric,
                                    better, eff, dataset=ds, a=a, b=b, **kw))
        eff = [np.subtract(m["mc_dropout"]["auroc_mi"],
                           m["weight_scaling"]["auroc_entropy"]) for m in M]
        add(evidence.comparison(f"mc_dropout_mi-vs-weight_scaling-auroc-{ds}",
                                "auroc", "higher", eff, dataset=ds,
                                a="weight_scaling", b="mc_dropout_mi"))
    if reg is not None:
        sizes = [str(n) for n in REGRESSION["sizes"]]
        O = reg["osband"]
        add(evidence.comparison(
            "osband-spread-shrinks-regression", "std_data", "lower",
            _field(O[sizes[-1]], "data", "std")
            - _field(O[sizes[0]], "data", "std"),
            dataset="gap regression", a=f"{sizes[0]} points",
            b=f"{sizes[-1]} points"))
        mc = reg["by_p"][str(REGRESSION["p_drop"])]
        for region in ("outside", "gap", "data"):
            add(evidence.comparison(
                f"deep-vs-mc-coverage-{region}-regression",
                f"coverage_{region}", "higher",
                _field(reg["deep"], region, "coverage")
                - _field(mc, region, "coverage"),
                dataset="gap regression", a="mc_dropout",
                b="deep_ensemble"))
        add(evidence.comparison(
            "mc-spread-outside-vs-data-regression", "std", "higher",
            _field(mc, "outside", "std") - _field(mc, "data", "std"),
            dataset="gap regression", a="data", b="outside"))
    return out


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Run the three parts; return the JSON-ready results.

    Parameters
    ----------
    scale : {"small", "full"}
    progress : bool
        A tqdm bar on stderr.
    split_seeds : sequence of int, optional
        Data splits (default: the scale's, ``(0, 1, 2)`` at full size).

    Returns
    -------
    dict
        The envelope, then ``"datasets"`` (per data set and split: the
        tuning records, the chosen settings, per-seed test metrics of every
        arm, and the MC-dropout measurements), ``"regression"`` and
        ``"comparisons"``.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; "
                         f"got {scale!r}")
    s = dict(SCALES[scale])
    if split_seeds is not None:
        s["split_seeds"] = tuple(int(v) for v in split_seeds)
        if len(s["split_seeds"]) < 2:
            raise ValueError("split_seeds must hold at least 2 seeds")
    n_reg = len(s["split_seeds"]) * len(s["reg_seeds"]) * (
        len(REGRESSION["p_values"]) + 1 + len(REGRESSION["sizes"]))
    n_final = len(s["datasets"]) * len(s["split_seeds"]) * len(s["seeds"]) * 4
    n_tune = len(s["datasets"]) * len(s["split_seeds"]) * len(
        s["tune_seeds"]) * len(s["lr"]) * (2 + len(s["p"]))
    bar = progress_bar(n_tune + n_final + n_reg, "ensembles", progress)
    config = {"datasets": {k: {f: v for f, v in DATASETS[k].items()
                               if f != "splits"} for k in s["datasets"]},
              "tune_seeds": list(s["tune_seeds"]),
              "grid": {"lr": list(s["lr"]), "p_drop_hidden": list(s["p"])},
              "max_extensions": s["extend"], "mc_passes": _T,
              "epochs": s["epochs"], "members": s["members"],
              "regression_seeds": list(s["reg_seeds"]),
              "regression_epoch_scale": s["reg_epochs"]}
    out = registry.envelope(NAME, scale, split_seeds=s["split_seeds"],
                            seeds=s["seeds"], config=config)
    parts = {ds: [_split_part(ds, split, s, bar) for split in s["split_seeds"]]
             for ds in s["datasets"]}
    reg = _regression(s, bar)
    bar.close()
    out["comparisons"] = _comparisons(parts, reg)
    for splits in parts.values():
        for p in splits:
            del p["_per"]
    out["datasets"] = parts
    out["regression"] = reg
    return _jsonable(out)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if callable(obj):
        return getattr(obj, "__name__", str(obj))
    return obj


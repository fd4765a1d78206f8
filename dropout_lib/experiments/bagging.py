"""Chapter 4's comparison of dropout with real ensembles, each tuned on validation.

Four arms on the digits: one 128-128 network without dropout, the same
network with dropout, bagging (5 networks of 43-43 units on bootstrap
samples, about the parameters of one 128-128 network), and a deep ensemble
of 5 full-size networks without dropout (5 times the cost). Each of the
first three picks its learning rate (and dropout its ``p_drop``) on the
validation split with tuning seeds; every network stops early on
validation; the test split is read once per ensemble.

Run from the command line (minutes; writes the book's cache)::

    python -m dropout_lib.experiments.bagging --full

See Also
--------
book/04_ensembles.ipynb : the section "Dropout against a real ensemble".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..analysis.calibration import expected_calibration_error, nll
from ..analysis.ensembles import ensemble_predict_proba
from ..data import Splits, digits_splits
from ..net import MLP
from ..training import EarlyStopping
from . import _cli
from .core import Config, run, run_bagging
from .tuning import expand_grid, tune, without_test

__all__ = ["ARMS", "CACHE_FILE", "FORMAT", "SCALES", "load", "main",
           "run_study"]

#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "ensemble_comparison.json"
#: Version of the JSON layout.
FORMAT = 1

_LR = [1e-3, 2e-3, 4e-3]
_BASE = Config(hidden=(128, 128), epochs=100, batch_size=64,
               optimizer="adam", early_stopping=EarlyStopping(15))

#: name: (configuration, tuning grid, members, bootstrap)
ARMS: dict[str, tuple[Config, dict[str, list], int, bool]] = {
    "plain": (_BASE, {"lr": _LR}, 1, False),
    "dropout": (_BASE, {"lr": _LR, "p_drop_hidden": [0.1, 0.2, 0.3, 0.5]},
                1, False),
    "bagging": (_BASE.replace(hidden=(43, 43)), {"lr": _LR}, 5, True),
}

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"tune_seeds": (100, 101, 102), "seeds": tuple(range(10)),
             "epochs": 100, "grid": slice(None)},
    "small": {"tune_seeds": (100,), "seeds": (0, 1), "epochs": 4,
              "grid": slice(0, 1)},
}


def _train(config: Config, data: Splits, seed: int, members: int,
           bootstrap: bool) -> tuple[list[MLP], int]:
    """The arm's networks for one seed, and the epochs they trained."""
    if members == 1:  # the same seed gives plain and dropout the same start
        net, hist = run(config, data, seed)
        return [net], hist.epochs[-1]
    nets, hists = run_bagging(config, data, seed, n_members=members,
                              bootstrap=bootstrap)
    return nets, sum(h.epochs[-1] for h in hists)


def _scores(nets: list[MLP], X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    proba = ensemble_predict_proba(nets, X)
    return {"loss": nll(proba, y),
            "acc": float(np.mean(proba.argmax(axis=1) == y)),
            "ece": expected_calibration_error(proba, y)}


def _tune(name: str, scale: dict[str, Any], data: Splits, bar
          ) -> tuple[Config, dict[str, Any]]:
    config, grid, members, bootstrap = ARMS[name]

    def score(cfg: Config, val: Splits, seed: int) -> tuple[float, int]:
        nets, epochs = _train(cfg, val, seed, members, bootstrap)
        bar.tick(f"{name} seed {seed}")
        return _scores(nets, val.X_val, val.y_val)["loss"], epochs

    t = tune(config.replace(epochs=scale["epochs"]), data,
             {k: v[scale["grid"]] for k, v in grid.items()},
             seeds=scale["tune_seeds"], score=score)
    return t.config, t.record()


def _finals(cfg: Config, members: int, bootstrap: bool, data: Splits,
            seeds: Sequence[int], bar, name: str) -> dict[str, Any]:
    rows = []
    n_train = data.X_train.shape[0]
    for seed in seeds:
        nets, epochs = _train(cfg, without_test(data), seed, members,
                              bootstrap)
        row = _scores(nets, data.X_test, data.y_test)  # the test split, once
        row["compute"] = epochs * n_train * nets[0].n_params
        rows.append(row)
        bar.tick(f"{name} seed {seed}")
    return {"seeds": list(seeds),
            "params": sum(n.n_params for n in nets), "members": members,
            **{f"test_{k}": [round(float(r[k]), 6) for r in rows]
               for k in ("loss", "acc", "ece")},
            "compute": [int(r["compute"]) for r in rows]}


def run_study(scale: str = "small", *, progress: bool = False
              ) -> dict[str, Any]:
    """Tune the three arms, then train and test them and the deep ensemble.

    Returns
    -------
    dict
        JSON-ready: ``"tuning"`` per tuned arm and ``"final"`` per arm
        (``"plain"``, ``"dropout"``, ``"bagging"``, ``"deep_ensemble"``),
        each with per-seed test loss, accuracy, ECE and training compute.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    data = digits_splits(seed=0)
    n_tune = sum(len(expand_grid({k: v[s["grid"]] for k, v in g.items()}))
                 for _, g, _, _ in ARMS.values()) * len(s["tune_seeds"])
    bar = progress_bar(n_tune + 4 * len(s["seeds"]), "ensembles", progress)
    out: dict[str, Any] = {"format": FORMAT, **_cli.provenance(),
                           "scale": scale, "tune_seeds": list(s["tune_seeds"]),
                           "rerun": f"python -m dropout_lib.experiments."
                                    f"bagging --{scale}",
                           "tuning": {}, "final": {}}
    chosen = {}
    for name in ARMS:
        chosen[name], out["tuning"][name] = _tune(name, s, data, bar)
    for name, (_, _, members, bootstrap) in ARMS.items():
        out["final"][name] = _finals(chosen[name], members, bootstrap, data,
                                     s["seeds"], bar, name)
    out["final"]["deep_ensemble"] = _finals(chosen["plain"], 5, False, data,
                                            s["seeds"], bar, "deep ensemble")
    bar.close()
    return out


def load(path: str | Path) -> dict[str, Any]:
    """Read a results file written by :func:`main`; checks its format."""
    return _cli.load(path, FORMAT, "python -m dropout_lib.experiments.bagging "
                     "--full")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the study and write it as JSON."""
    return _cli.main(argv, prog="python -m dropout_lib.experiments.bagging",
                     description="Dropout against bagging and a "
                                 "deep ensemble, each tuned on validation.",
                     cache_file=CACHE_FILE, run_study=run_study)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Chapter 3's fair comparison: each arm tuned on validation, then fresh seeds.

Both arms choose their optimizer, learning rate and regulariser on a small
grid of their own (the plain network: L2; dropout: ``p_drop`` and max-norm)
and their epoch by early stopping, all on the validation split, with tuning
seeds. The chosen settings are then trained with other seeds, and the test
split is read once per network. Temperature scaling, fitted on validation,
is applied to both arms.

Run from the command line (minutes; writes the book's cache)::

    python -m dropout_lib.experiments.tuned --full

See Also
--------
book/03_co_adaptation.ipynb : the section "A fair comparison".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..analysis.calibration import (
    expected_calibration_error,
    fit_temperature,
    reliability,
)
from ..data import Splits
from ..losses import log_softmax
from ..net import MLP
from ..training import EarlyStopping
from . import _cli
from .coadaptation import BASE, DROPOUT, chapter_data
from .core import Config, run
from .tuning import tune, without_test

__all__ = ["ARMS", "CACHE_FILE", "FORMAT", "SCALES", "evaluate_net",
           "load", "main", "run_study"]

#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "tuned_comparison.json"
#: Version of the JSON layout; bump it when the layout changes.
FORMAT = 1
#: Bins of the reliability diagram and of the ECE.
N_BINS = 10

_ADAM = {"optimizer": ["adam"], "lr": [1e-3, 3e-3]}
_P = {"p_drop_hidden": [0.3, 0.5]}
_L2 = {"l2": [0.0, 1e-4, 1e-3, 1e-2]}
# Max-norm bounds that bind: trained column norms here are about 1.5.
_PLAIN_SGD = {"optimizer": ["sgd"], "lr": [0.05], "momentum": [0.9], **_L2}
_DROP_SGD = {"optimizer": ["sgd"], "lr": [0.2], "momentum": [0.9], **_P,
             "max_norm": [1.0, 2.0]}  # Srivastava's recipe: high lr + max-norm

#: The two arms: base configuration and tuning grid (12 settings each).
ARMS: dict[str, tuple[Config, list[dict[str, list]]]] = {
    "plain": (BASE, [{**_ADAM, **_L2}, _PLAIN_SGD]),
    "dropout": (DROPOUT, [{**_ADAM, **_P, "max_norm": [None, 1.0]},
                          _DROP_SGD]),
}

#: Sizes: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"hidden": (256, 256), "epochs": 200, "patience": 30,
             "tune_seeds": (100, 101, 102), "seeds": tuple(range(10)),
             "grid_slice": slice(None)},
    "small": {"hidden": (32, 32), "epochs": 40, "patience": 10,
              "tune_seeds": (100,), "seeds": (0, 1),
              "grid_slice": slice(0, 2)},
}


def _scaled(config: Config, scale: dict[str, Any]) -> Config:
    return config.replace(hidden=scale["hidden"], epochs=scale["epochs"],
                          early_stopping=EarlyStopping(scale["patience"]))


def evaluate_net(net: MLP, data: Splits) -> dict[str, Any]:
    """Test metrics of one trained network, before and after temperature.

    The temperature is fitted on the validation split; the test split is
    read here, once.

    Returns
    -------
    dict
        ``"test_loss"``, ``"test_acc"``, ``"test_ece"``, ``"temperature"``,
        ``"ts_test_loss"``, ``"ts_test_ece"``, and per-image losses
        ``"image_loss"``, ``"ts_image_loss"`` (arrays of shape (N_test,)).
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
    out["test_acc"] = float(np.mean(scores.argmax(axis=1) == data.y_test))
    return out


def _final_runs(name: str, config: Config, data: Splits, seeds: Sequence[int],
                bar) -> dict[str, Any]:
    """Train ``config`` once per seed on train+val; read the test split once."""
    rows = []
    for seed in seeds:
        net, hist = run(config, without_test(data), seed)
        row = evaluate_net(net, data)
        row["best_epoch"] = hist.best_epoch
        row["val_loss"] = hist.final["val_loss"]
        rows.append(row)
        bar.tick(f"{name} seed {seed} test_loss {row['test_loss']:.4f}")
    out: dict[str, Any] = {"seeds": list(seeds)}
    for key in ("test_loss", "test_acc", "test_ece", "temperature",
                "ts_test_loss", "ts_test_ece", "val_loss"):
        out[key] = [round(float(r[key]), 6) for r in rows]
    out["best_epoch"] = [int(r["best_epoch"]) for r in rows]
    for prefix in ("", "ts_"):
        loss = np.mean([r[f"{prefix}image_loss"] for r in rows], axis=0)
        out[f"{prefix}image_loss"] = loss.round(6).tolist()
        bins = [r[f"{prefix}bins"] for r in rows]
        count = np.sum([b["count"] for b in bins], axis=0)
        conf = np.nansum([b["confidence"] * b["count"] for b in bins], axis=0)
        acc = np.nansum([b["accuracy"] * b["count"] for b in bins], axis=0)
        with np.errstate(invalid="ignore"):
            out[f"{prefix}reliability"] = {
                "count": count.tolist(),
                "confidence": np.round(conf / count, 6).tolist(),
                "accuracy": np.round(acc / count, 6).tolist()}
    return out


def run_study(scale: str = "small", *, progress: bool = False
              ) -> dict[str, Any]:
    """Tune both arms, then train and test the chosen settings.

    Returns
    -------
    dict
        JSON-ready: ``"format"``, ``"library"``, ``"numeric_env"``,
        ``"scale"``, ``"tuning"`` and ``"final"`` per arm (also the untuned
        arms ``"plain_untuned"`` and ``"dropout_untuned"``).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    data = chapter_data()
    out: dict[str, Any] = {
        "format": FORMAT, **_cli.provenance(), "scale": scale, "n_bins": N_BINS, "patience": s["patience"],
        "rerun": f"python -m dropout_lib.experiments.tuned --{scale}",
        "tuning": {}, "final": {}}
    chosen = {}
    for name, (base, grid) in ARMS.items():
        grid = [{k: v[s["grid_slice"]] for k, v in g.items()} for g in grid]
        t = tune(_scaled(base, s), data, grid, seeds=s["tune_seeds"],
                 progress=progress)
        out["tuning"][name] = t.record()
        chosen[name] = t.config
    untuned = {f"{n}_untuned": c.replace(hidden=s["hidden"], epochs=s["epochs"])
               for n, c in (("plain", BASE), ("dropout", DROPOUT))}
    arms = {**chosen, **untuned}
    bar = progress_bar(len(arms) * len(s["seeds"]), "final", progress)
    for name, cfg in arms.items():
        out["final"][name] = _final_runs(name, cfg, data, s["seeds"], bar)
    bar.close()
    return out


def load(path: str | Path) -> dict[str, Any]:
    """Read a results file written by :func:`main`; checks its format."""
    return _cli.load(path, FORMAT, "python -m dropout_lib.experiments.tuned "
                     "--full")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the study and write it as JSON."""
    return _cli.main(argv, prog="python -m dropout_lib.experiments.tuned",
                     description="Tune the plain and the dropout network on "
                                 "validation, then test the chosen settings on fresh seeds.",
                     cache_file=CACHE_FILE, run_study=run_study)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Chapter 5's grid of layer width against ``p_drop``, on validation only.

Srivastava et al. (2014, section 7.3) keep either the width ``n`` or the
expected number of kept units ``n * q`` fixed while varying the keep
probability ``q = 1 - p_drop``. This study trains a 64-n-n-10 ReLU network on
the digits for every ``(n, p_drop)`` of a small grid, with the recipe of
their Appendix A (SGD with momentum 0.95, max-norm 3), and records
validation error and loss per seed. The test split is never read: the grid
is for exploring a choice, which is what validation is for.

Run from the command line (minutes; writes the book's results file)::

    python -m dropout_lib.experiments.width --full

See Also
--------
book/05_noise_and_modern.ipynb : the section "Choosing p_drop and the width".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..data import digits_splits
from . import _cli
from .core import Config, run
from .tuning import without_test

__all__ = ["BASE", "CACHE_FILE", "FORMAT", "SCALES", "load", "main", "run_study"]

#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "width_grid.json"
#: Version of the JSON layout.
FORMAT = 1

#: The training recipe shared by every cell of the grid.
BASE = Config(hidden=(64, 64), optimizer="sgd", lr=0.05, momentum=0.95,
              max_norm=3.0, epochs=40, batch_size=64)

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"widths": (16, 32, 64, 128, 256), "p_drops": (0.0, 0.2, 0.5, 0.7),
             "seeds": (0, 1, 2), "epochs": 40},
    "small": {"widths": (16, 32), "p_drops": (0.0, 0.5), "seeds": (0,),
              "epochs": 2},
}


def run_study(scale: str = "small", *, progress: bool = False
              ) -> dict[str, Any]:
    """Train every (width, p_drop) of the grid over the scale's seeds.

    Returns
    -------
    dict
        JSON-ready: ``"widths"``, ``"p_drops"``, ``"seeds"`` and, for
        ``"val_error"``, ``"val_loss"`` and ``"train_error"``, a list per
        width of a list per ``p_drop`` of per-seed values.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    data = without_test(digits_splits(seed=0))
    grid = [(w, p) for w in s["widths"] for p in s["p_drops"]]
    bar = progress_bar(len(grid) * len(s["seeds"]), "width grid", progress)
    found: dict[str, np.ndarray] = {
        k: np.zeros((len(s["widths"]), len(s["p_drops"]), len(s["seeds"])))
        for k in ("val_error", "val_loss", "train_error")}
    for i, w in enumerate(s["widths"]):
        for j, p in enumerate(s["p_drops"]):
            cfg = BASE.replace(hidden=(w, w), p_drop_hidden=p, epochs=s["epochs"])
            for k, seed in enumerate(s["seeds"]):
                final = run(cfg, data, seed, curves=False)[1].final
                found["val_error"][i, j, k] = 1.0 - final["val_acc"]
                found["val_loss"][i, j, k] = final["val_loss"]
                found["train_error"][i, j, k] = 1.0 - final["train_acc"]
                bar.tick(f"n={w} p_drop={p}")
    bar.close()
    return {"format": FORMAT, **_cli.provenance(), "scale": scale,
            "rerun": f"python -m dropout_lib.experiments.width --{scale}",
            "config": {"lr": BASE.lr, "momentum": BASE.momentum,
                       "max_norm": BASE.max_norm, "optimizer": BASE.optimizer,
                       "batch_size": BASE.batch_size, "epochs": s["epochs"]},
            "widths": list(s["widths"]), "p_drops": list(s["p_drops"]),
            "seeds": list(s["seeds"]),
            **{k: v.round(6).tolist() for k, v in found.items()}}


def load(path: str | Path) -> dict[str, Any]:
    """Read a results file written by :func:`main`; checks its format."""
    return _cli.load(path, FORMAT, "python -m dropout_lib.experiments.width --full")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the grid and write it as JSON."""
    return _cli.main(argv, prog="python -m dropout_lib.experiments.width",
                     description="Validation error over a grid of layer width "
                                 "and p_drop (Srivastava et al. 2014, 7.3).",
                     cache_file=CACHE_FILE, run_study=run_study)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

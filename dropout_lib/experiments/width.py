"""Layer width against ``p_drop`` on the digits, the learning rate tuned per cell.

Srivastava et al. (2014, section 7.3 and Appendix A.1) keep either the width
``n`` or the expected number of kept units ``n * q`` fixed while varying the
keep probability ``q = 1 - p_drop``; their rule of thumb gives a layer that
needs ``n`` units without dropout about ``n / q`` units with it. This study
trains a 64-n-n-10 ReLU network for every ``(n, p_drop)`` of a grid whose
``p_drop`` values (0.5, 0.75) make ``n * q`` another width of the grid, so
the rule is tested exactly. Every cell uses the recipe of their Appendix A
(SGD with momentum 0.95, max-norm 3) and chooses its own learning rate on the
split's validation set; five training seeds then train it and read the test
set once. Three data splits.

Run from the command line (about four CPU minutes)::

    python -m dropout_lib.experiments run width --scale full

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
from ._layers_net import choose, pair, per_example
from .core import Config, run
from .registry import envelope
from .tuning import without_test

__all__ = ["BASE", "CACHE_FILE", "FORMAT", "LR_GRID", "MARGIN", "NAME", "SCALES",
           "rule_pairs", "run_study"]

NAME = "width"
#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "width_grid.json"
#: Version of the JSON layout.
FORMAT = 2

#: The training recipe shared by every cell of the grid (lr is tuned per cell).
BASE = Config(hidden=(64, 64), optimizer="sgd", lr=0.05, momentum=0.95,
              max_norm=3.0, epochs=40, batch_size=64)
#: Learning rates each cell tries on validation.
LR_GRID = [0.003, 0.01, 0.03, 0.1]
#: The rule "n units at q match n q units without dropout" counts as holding
#: when the test errors differ by less than one point.
MARGIN = 0.01

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"widths": (16, 32, 64, 128, 256), "p_drops": (0.0, 0.5, 0.75),
             "split_seeds": (0, 1, 2), "tune_seeds": (100,),
             "seeds": (0, 1, 2, 3, 4), "epochs": 40, "lrs": LR_GRID},
    "small": {"widths": (16, 32), "p_drops": (0.0, 0.5), "split_seeds": (0, 1),
              "tune_seeds": (100,), "seeds": (0,), "epochs": 2,
              "lrs": LR_GRID[1:3]},
}


def rule_pairs(widths: Sequence[int], p_drops: Sequence[float]
               ) -> list[tuple[int, float, int]]:
    """Every ``(n, p_drop, n q)`` of the grid whose ``n q`` is a width of it."""
    out = []
    for p in p_drops:
        for n in widths:
            nq = n * (1 - p)
            if p > 0 and nq in widths:
                out.append((n, p, int(nq)))
    return out


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Every (width, p_drop) cell on every split: lr chosen on validation, then tested.

    Returns
    -------
    dict
        JSON-ready: the envelope, ``"widths"``, ``"p_drops"``, per split the
        chosen ``"lr"`` and its grid record per cell, and for ``"val_error"``,
        ``"val_loss"``, ``"train_error"`` and ``"test_error"`` arrays of shape
        (splits, widths, p_drops, seeds); ``"comparisons"``: the n / q rule,
        cell (n, p_drop) against cell (n q, 0) in test error.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    splits = list(s["split_seeds"] if split_seeds is None else split_seeds)
    widths, p_drops = list(s["widths"]), list(s["p_drops"])
    lrs = list(s["lrs"])
    cells = [(w, p) for w in widths for p in p_drops]
    bar = progress_bar(len(splits) * len(cells) * (len(lrs) * len(s["tune_seeds"])
                                                   + len(s["seeds"])),
                       "width grid", progress)
    shape = (len(splits), len(widths), len(p_drops), len(s["seeds"]))
    found = {k: np.zeros(shape) for k in ("val_error", "val_loss", "train_error",
                                          "test_error")}
    wrong: dict[tuple[int, float], list] = {c: [] for c in cells}
    chosen_lr = np.zeros(shape[:3])
    tuning = []
    for a, split in enumerate(splits):
        data = digits_splits(seed=split)
        val = without_test(data)
        records = {}
        for i, w in enumerate(widths):
            for j, p in enumerate(p_drops):
                cfg = BASE.replace(hidden=(w, w), p_drop_hidden=p, epochs=s["epochs"])

                def score(setting: dict, seed: int, cfg: Config = cfg) -> float:
                    return run(cfg.replace(**setting), val, seed,
                               curves=False)[1].final["val_loss"]

                best, records[f"{w}/{p:g}"] = choose(
                    [{"lr": lr} for lr in lrs], score, s["tune_seeds"], s["epochs"],
                    lambda: bar.tick(f"split {split} n={w} p_drop={p:g} tuning"))
                chosen_lr[a, i, j] = best["lr"]
                per = []
                for k, seed in enumerate(s["seeds"]):
                    net, hist = run(cfg.replace(**best), val, seed, curves=False)
                    found["val_error"][a, i, j, k] = 1.0 - hist.final["val_acc"]
                    found["val_loss"][a, i, j, k] = hist.final["val_loss"]
                    found["train_error"][a, i, j, k] = 1.0 - hist.final["train_acc"]
                    miss = 1.0 - per_example(net, data.X_test, data.y_test)[1]
                    found["test_error"][a, i, j, k] = miss.mean()
                    per.append(miss)
                    bar.tick(f"split {split} n={w} p_drop={p:g}")
                wrong[(w, p)].append(np.array(per))
        tuning.append(records)
    bar.close()
    out = envelope(NAME, scale, split_seeds=splits, seeds=s["seeds"], config={
        "network": "64-n-n-10 ReLU", "optimizer": BASE.optimizer,
        "momentum": BASE.momentum, "max_norm": BASE.max_norm,
        "batch_size": BASE.batch_size, "epochs": s["epochs"], "lr_grid": lrs,
        "tune_seeds": list(s["tune_seeds"]), "margin": MARGIN,
        "selection": "per cell, lowest mean validation NLL of the split"})
    out.update({"widths": widths, "p_drops": p_drops,
                "lr": chosen_lr.tolist(), "tuning": tuning,
                **{k: v.round(6).tolist() for k, v in found.items()}})
    comps = {}
    for n, p, nq in rule_pairs(widths, p_drops):
        i, j, i0 = widths.index(n), p_drops.index(p), widths.index(nq)
        name = f"width-rule-n{n}-p{p:g}"
        values = {"narrow": found["test_error"][:, i0, 0], "wide": found["test_error"][:, i, j]}
        examples = {"narrow": wrong[(nq, 0.0)], "wide": wrong[(n, p)]}
        comps[name] = pair(name, "test_error", "equal", "narrow", "wide", values,
                           examples, margin=MARGIN)
    out["comparisons"] = comps
    return out

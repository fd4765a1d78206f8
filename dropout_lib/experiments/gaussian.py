"""Gaussian against Bernoulli dropout on the digits, each tuned on every split.

Both arms train the same 64-256-256-10 ReLU network with Adam; one drops
units with Bernoulli masks, the other multiplies them by Gaussian noise
with the same mean and variance (Srivastava et al. 2014, section 10). On
each data split, each arm picks its learning rate and ``p_drop`` on that
split's validation set with a tuning seed; five training seeds then train
each arm once and read the split's test set once. Seed ``s`` gives both
arms the same initial weights and batch order, so the differences pair up.

Run from the command line (about three CPU minutes)::

    python -m dropout_lib.experiments run gaussian --scale full

See Also
--------
book/05_noise_and_modern.ipynb : the section "Dropout as multiplicative noise".
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
from .tuning import expand_grid, without_test

__all__ = ["ARMS", "CACHE_FILE", "FORMAT", "GRID", "MARGINS", "NAME", "SCALES",
           "run_study"]

NAME = "gaussian"
#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "gaussian_comparison.json"
#: Version of the JSON layout.
FORMAT = 2

_BASE = Config(hidden=(256, 256), optimizer="adam", epochs=30, batch_size=64)
#: The two arms: the kind of noise each network multiplies its units by.
ARMS: dict[str, Config] = {"bernoulli": _BASE, "gaussian": _BASE.replace(noise="gaussian")}
#: The tuning grid, the same for both arms. A first run on lr {3e-4, 1e-3,
#: 3e-3} x p_drop {0.35, 0.5, 0.65} chose lr 3e-3 and p_drop 0.35 at its
#: edges, so the grid goes one step beyond both.
GRID: dict[str, list] = {"lr": [1e-3, 3e-3, 1e-2],
                         "p_drop_hidden": [0.2, 0.35, 0.5, 0.65]}
#: The claim is "no difference": the largest difference that counts as none
#: (half a point of error, about two of 359 test images; 0.01 in NLL).
MARGINS = {"test_error": 0.005, "test_loss": 0.01}

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"split_seeds": (0, 1, 2), "tune_seeds": (100,), "seeds": (0, 1, 2, 3, 4),
             "epochs": 30, "grid": slice(None)},
    "small": {"split_seeds": (0, 1), "tune_seeds": (100,), "seeds": (0, 1),
              "epochs": 2, "grid": slice(0, 1)},
}


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Tune both arms on each split's validation set, then train and test them.

    Returns
    -------
    dict
        JSON-ready: the envelope, per split ``"tuning"`` (each arm's grid
        record) and ``"final"`` (per-seed ``test_loss``, ``test_error``), and
        ``"comparisons"``: Gaussian minus Bernoulli in test error and NLL.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    splits = list(s["split_seeds"] if split_seeds is None else split_seeds)
    grid = {k: v[s["grid"]] for k, v in GRID.items()}
    settings = expand_grid(grid)
    n = len(splits) * len(ARMS) * (len(settings) * len(s["tune_seeds"]) + len(s["seeds"]))
    bar = progress_bar(n, "gaussian vs bernoulli", progress)
    out = envelope(NAME, scale, split_seeds=splits, seeds=s["seeds"], config={
        "network": "64-256-256-10 ReLU", "optimizer": "adam", "batch_size": 64,
        "epochs": s["epochs"], "tune_seeds": list(s["tune_seeds"]), "grid": grid,
        "selection": "lowest mean validation NLL of the split, last epoch"})
    out["splits"] = []
    values = {m: {a: [] for a in ARMS} for m in MARGINS}
    examples = {m: {a: [] for a in ARMS} for m in MARGINS}
    for split in splits:
        data = digits_splits(seed=split)
        val = without_test(data)
        rec: dict[str, Any] = {"split_seed": split, "tuning": {}, "final": {}}
        for name, config in ARMS.items():
            base = config.replace(epochs=s["epochs"])

            def score(setting: dict, seed: int, base: Config = base) -> float:
                return run(base.replace(**setting), val, seed,
                           curves=False)[1].final["val_loss"]

            chosen, rec["tuning"][name] = choose(
                settings, score, s["tune_seeds"], s["epochs"],
                lambda name=name: bar.tick(f"split {split} {name} tuning"))
            cfg = base.replace(**chosen)
            nll, wrong = [], []
            for seed in s["seeds"]:
                net = run(cfg, without_test(data), seed, curves=False)[0]
                l_i, c_i = per_example(net, data.X_test, data.y_test)
                nll.append(l_i)
                wrong.append(1.0 - c_i)
                bar.tick(f"split {split} {name} seed {seed}")
            rec["final"][name] = {
                **chosen, "test_loss": [round(float(v.mean()), 6) for v in nll],
                "test_error": [round(float(v.mean()), 6) for v in wrong]}
            for m, per in (("test_loss", nll), ("test_error", wrong)):
                values[m][name].append([float(v.mean()) for v in per])
                examples[m][name].append(np.array(per))
        out["splits"].append(rec)
    bar.close()
    out["comparisons"] = {
        f"gaussian-vs-bernoulli-{m.replace('_', '-')}": pair(
            f"gaussian-vs-bernoulli-{m.replace('_', '-')}", m, "equal",
            "bernoulli", "gaussian", values[m], examples[m], margin=MARGINS[m])
        for m in MARGINS}
    return out

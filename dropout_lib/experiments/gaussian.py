"""Chapter 5's comparison of Gaussian and Bernoulli dropout on the digits.

Both arms train the same 64-256-256-10 ReLU network with Adam; one drops
units with Bernoulli masks, the other multiplies them by Gaussian noise
with the same mean and variance (Srivastava et al. 2014, section 10). Each
arm picks its learning rate and ``p_drop`` on validation with its own
tuning seeds; the final seeds then train each arm once and read the test
split once. Seed ``s`` gives both arms the same initial weights and batch
order, so the differences pair up.

Run from the command line (a minute; writes the book's results file)::

    python -m dropout_lib.experiments.gaussian --full

See Also
--------
book/05_noise_and_modern.ipynb : the section "Dropout as multiplicative noise".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._progress import progress_bar
from ..data import digits_splits
from . import _cli
from .core import Config, run
from .tuning import expand_grid, tune

__all__ = ["ARMS", "CACHE_FILE", "FORMAT", "GRID", "SCALES", "load", "main",
           "run_study"]

#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "gaussian_comparison.json"
#: Version of the JSON layout.
FORMAT = 1

_BASE = Config(hidden=(256, 256), optimizer="adam", epochs=60, batch_size=64)
#: The two arms: the kind of noise each network multiplies its units by.
ARMS: dict[str, Config] = {"bernoulli": _BASE, "gaussian": _BASE.replace(noise="gaussian")}
#: The tuning grid, the same for both arms.
GRID: dict[str, list] = {"lr": [1e-3, 3e-3], "p_drop_hidden": [0.2, 0.5]}

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"tune_seeds": (100, 101), "seeds": tuple(range(10)), "epochs": 60,
             "grid": slice(None)},
    "small": {"tune_seeds": (100,), "seeds": (0, 1), "epochs": 2,
              "grid": slice(0, 1)},
}


def run_study(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Tune both arms on validation, then train and test each over the seeds.

    Returns
    -------
    dict
        JSON-ready: ``"tuning"`` (every setting's validation loss) and
        ``"final"`` (per-seed ``test_loss`` and ``test_acc``) per arm.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    data = digits_splits(seed=0)
    grid = {k: v[s["grid"]] for k, v in GRID.items()}
    n = len(ARMS) * (len(expand_grid(grid)) * len(s["tune_seeds"]) + len(s["seeds"]))
    bar = progress_bar(n, "gaussian vs bernoulli", progress)
    out: dict[str, Any] = {"format": FORMAT, **_cli.provenance(), "scale": scale,
                           "rerun": f"python -m dropout_lib.experiments.gaussian "
                                    f"--{scale}",
                           "epochs": s["epochs"], "tune_seeds": list(s["tune_seeds"]),
                           "seeds": list(s["seeds"]), "tuning": {}, "final": {}}
    for name, config in ARMS.items():

        def score(cfg: Config, val: Any, seed: int) -> tuple[float, int]:
            hist = run(cfg, val, seed, curves=False)[1]
            bar.tick(f"{name} tuning")
            return hist.final["val_loss"], hist.epochs[-1]

        t = tune(config.replace(epochs=s["epochs"]), data, grid,
                 seeds=s["tune_seeds"], score=score)
        out["tuning"][name] = t.record()
        finals = []
        for seed in s["seeds"]:
            finals.append(run(t.config, data, seed, curves=False)[1].final)
            bar.tick(f"{name} seed {seed}")
        out["final"][name] = {
            "lr": t.config.lr, "p_drop_hidden": t.config.p_drop_hidden,
            **{k: [round(f[k], 6) for f in finals] for k in ("test_loss", "test_acc")}}
    bar.close()
    return out


def load(path: str | Path) -> dict[str, Any]:
    """Read a results file written by :func:`main`; checks its format."""
    return _cli.load(path, FORMAT, "python -m dropout_lib.experiments.gaussian --full")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the comparison and write it as JSON."""
    return _cli.main(argv, prog="python -m dropout_lib.experiments.gaussian",
                     description="Gaussian against Bernoulli dropout on the digits, "
                                 "each tuned on validation.",
                     cache_file=CACHE_FILE, run_study=run_study)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

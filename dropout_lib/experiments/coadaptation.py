"""The co-adaptation chapter's training runs and sweeps, and their on-disk cache.

Every run goes through :func:`dropout_lib.experiments.run`, so it is seeded
the same way: runs with and without dropout that share a seed start from the
same weights and see the same batches, and every comparison is paired.

The sweeps come in two sizes: ``"small"`` (seconds, run live in the notebook
and in the tests) and ``"full"`` (minutes, run from the command line and
cached in ``book/data/coadaptation_sweeps.json``)::

    python -m dropout_lib.experiments.coadaptation --full
    python -m dropout_lib.experiments.coadaptation --small --out /tmp/small.json

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

from ..data import Splits, digits_splits
from ..net import MLP
from .core import Config, run, streams, sweep, sweep_p_drop, sweep_train_size

__all__ = [
    "BASE",
    "CACHE_FILE",
    "DROPOUT",
    "N_TRAIN",
    "PLAIN",
    "SCALES",
    "chapter_data",
    "init_sensitivity",
    "initial_net",
    "l2_grid",
    "load_results",
    "main",
    "p_drop_sweep",
    "run_all",
    "save_results",
    "train_and_test",
    "train_size_sweep",
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


def chapter_data(n_train: int = N_TRAIN) -> Splits:
    """The chapter's digits: ``n_train`` stratified training images, fixed val/test.

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


def _record(result) -> dict[str, Any]:
    """A sweep's JSON record: its grid, seeds and the four final metrics."""
    rec = result.record()
    return {k: rec[k] for k in ("grid", "seeds", *_METRICS)}


def p_drop_sweep(scale: str = "small", *, progress: bool = False
                 ) -> dict[str, Any]:
    """Final accuracy and loss against the hidden drop probability.

    Parameters
    ----------
    scale : {"small", "full"}
        Size of the run, see :data:`SCALES`.
    progress : bool, default False
        Progress bar on stderr.

    Returns
    -------
    dict
        ``"grid"``, ``"seeds"``, ``"n_train"``, ``"epochs"`` and, per metric
        (``"test_acc"``, ...), ``"per_seed"``, ``"mean"`` and ``"std"``.
    """
    base = _base_for(scale)
    res = sweep_p_drop(base, chapter_data(), P_DROP_GRID,
                       seeds=_scale(scale)["seeds"], curves=False,
                       progress=progress)
    rec = _record(res)
    return {"grid": rec.pop("grid"), "seeds": rec.pop("seeds"),
            "n_train": N_TRAIN, "epochs": base.epochs, **rec}


def train_size_sweep(scale: str = "small", *, progress: bool = False
                     ) -> dict[str, Any]:
    """Final accuracy with and without dropout against the training-set size.

    Each seed draws its own stratified subsets of the 1079-image pool; the
    number of epochs keeps the number of updates about constant.

    Returns
    -------
    dict
        ``"grid"``, ``"epochs"`` (per size), ``"seeds"``, and for ``"plain"``
        and ``"dropout"`` the metrics of :func:`p_drop_sweep`.
    """
    s = _scale(scale)
    pool = digits_splits(seed=0)
    arms = _arms(scale)
    epochs = {n: _epochs_for(n, BASE.batch_size, s["epoch_factor"])
              for n in TRAIN_SIZE_GRID}
    out: dict[str, Any] = {"grid": list(TRAIN_SIZE_GRID),
                           "epochs": list(epochs.values()),
                           "seeds": list(s["seeds"])}
    for name, cfg in arms.items():
        res = sweep_train_size(cfg, pool, TRAIN_SIZE_GRID, seeds=s["seeds"],
                               epochs_for=epochs.get, curves=False,
                               progress=progress)
        out[name] = {m: _record(res)[m] for m in _METRICS}
    return out


def init_sensitivity(scale: str = "small", *, progress: bool = False
                     ) -> dict[str, Any]:
    """Spread of the final test accuracy over the initial weights alone.

    The batch order and the dropout masks come from seed 0; only the seed of
    the initial weights changes.

    Returns
    -------
    dict
        ``"init_seeds"``, ``"train_seed"``, and for ``"plain"`` and
        ``"dropout"`` the metrics, one row of one value per initial seed.
    """
    inits = list(_scale(scale)["init_seeds"])
    out: dict[str, Any] = {"init_seeds": inits, "train_seed": 0}
    for name, cfg in _arms(scale).items():
        res = sweep(cfg, chapter_data(), param="init_seed", values=inits,
                    seeds=[0], curves=False, progress=progress)
        res.metrics = {m: v.T for m, v in res.metrics.items()}  # one row
        out[name] = {m: _record(res)[m] for m in _METRICS}
    return out


def l2_grid(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Final accuracy and loss for L2 weight decay with and without dropout.

    Returns
    -------
    dict
        ``"grid"`` (the L2 strengths), ``"seeds"``, and for ``"plain"`` and
        ``"dropout"`` the metrics aligned with the grid.
    """
    seeds = list(_scale(scale)["seeds"])
    out: dict[str, Any] = {"grid": list(L2_GRID), "seeds": seeds}
    for name, cfg in _arms(scale).items():
        res = sweep(cfg, chapter_data(), param="l2", values=L2_GRID,
                    seeds=seeds, curves=False, progress=progress)
        out[name] = {m: _record(res)[m] for m in _METRICS}
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
        "rerun": f"python -m dropout_lib.experiments.coadaptation --{scale}",
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
        prog="python -m dropout_lib.experiments.coadaptation",
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

"""Chapter 5's variance shift between dropout and batch normalisation (Li et al. 2019).

The network is affine(64, 128) -> ReLU -> [dropout] -> affine(128, 128) ->
batch norm -> ReLU -> [dropout] -> affine(128, 10), trained with Adam on
the digits. With dropout *before* the batch-norm layer, the running
variance it learns includes the dropout noise, which is gone at test time.
Per seed the study measures

* the shift: the mean over units of (variance of the BN input on the test
  images, evaluation mode) / (running variance), for ``p_drop`` 0, 0.2, 0.5;
* the cost: test accuracy and NLL with the running statistics, and with the
  statistics re-estimated on the training set in evaluation mode (remedy 1);
* remedy 2: the same network with dropout after the batch-norm layer.

Each arm picks its learning rate on validation with tuning seeds; the final
seeds train each arm once and read the test split once. Seed ``s`` gives
every arm the same initial weights and batch order, so differences pair up.

Run from the command line (two minutes; writes the book's results file)::

    python -m dropout_lib.experiments.bn_shift --full

See Also
--------
book/05_noise_and_modern.ipynb : the section on dropout and batch normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..data import Splits, digits_splits
from . import _cli
from . import _layers_net as nn
from .tuning import without_test

__all__ = ["ARMS", "CACHE_FILE", "FORMAT", "LR_GRID", "SCALES", "load", "main",
           "network", "run_study", "train_and_measure"]

#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "bn_shift.json"
#: Version of the JSON layout.
FORMAT = 1

HIDDEN = 128
#: Each arm's learning rates, tried on validation.
LR_GRID = [1e-3, 3e-3]
#: name: (p_drop, where the dropout layer sits relative to batch norm)
ARMS: dict[str, tuple[float, str]] = {
    "no_dropout": (0.0, "before"),
    "before_0.2": (0.2, "before"), "before_0.5": (0.5, "before"),
    "after_0.2": (0.2, "after"), "after_0.5": (0.5, "after"),
}
#: The paired comparisons the chapter states: (name, arm a, arm b) for b - a.
REMEDY_2 = [("p0.2", "before_0.2", "after_0.2"), ("p0.5", "before_0.5", "after_0.5")]

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"tune_seeds": (100, 101), "seeds": tuple(range(10)), "epochs": 30,
             "grid": slice(None)},
    "small": {"tune_seeds": (100,), "seeds": (0, 1), "epochs": 2,
              "grid": slice(0, 1)},
}


def network(p_drop: float, position: str) -> list[nn.Layer]:
    """The layers of one arm; ``position`` is "before" or "after" the BN layer."""
    drop = [nn.dropout(p_drop)] if p_drop > 0 else []
    return [nn.affine("1", 64, HIDDEN), nn.relu(),
            *(drop if position == "before" else []),
            nn.affine("2", HIDDEN, HIDDEN), nn.batchnorm("2", HIDDEN), nn.relu(),
            *(drop if position == "after" else []),
            nn.affine("3", HIDDEN, 10)]


def _bn_input(layers: list[nn.Layer], params: nn.Params, states: nn.States,
              X: np.ndarray) -> np.ndarray:
    """The input of the batch-norm layer in evaluation mode, shape (N, HIDDEN)."""
    i = [layer[0] for layer in layers].index("batchnorm")
    return nn.forward(layers[:i], params, states, X, train=False)[0]


def train_and_measure(arm: str, lr: float, data: Splits, seed: int, epochs: int,
                      *, split: str = "test") -> dict[str, float]:
    """Train one network of ``arm`` on the training split; score it on ``split``.

    Returns
    -------
    dict
        ``loss_running``, ``acc_running`` (running BN statistics),
        ``loss_reestimated``, ``acc_reestimated`` (statistics re-estimated on
        the training set in evaluation mode) and ``var_ratio``: the mean over
        units of the BN input's variance on ``split`` over the running variance.
    """
    layers = network(*ARMS[arm])
    params, states = nn.fit(layers, data.X_train, data.y_train, epochs=epochs,
                            lr=lr, seed=seed)
    X, y = data.get(split)
    again = nn.reestimate_bn(layers, params, states, data.X_train)
    running = nn.evaluate(layers, params, states, X, y)
    reest = nn.evaluate(layers, params, again, X, y)
    var = _bn_input(layers, params, states, X).var(axis=0, ddof=1)
    return {"loss_running": running["loss"], "acc_running": running["acc"],
            "loss_reestimated": reest["loss"], "acc_reestimated": reest["acc"],
            "var_ratio": float(np.mean(var / states["2"].var))}


def run_study(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Tune every arm's learning rate on validation, then train and test each.

    Returns
    -------
    dict
        JSON-ready: ``"tuning"`` (validation NLL of every setting and tuning
        seed), ``"final"`` (per-seed test numbers per arm), ``"var_ratio"``
        (interval per arm), ``"reestimated_minus_running"`` (per arm) and
        ``"after_minus_before"`` (per ``p_drop``), each for ``test_acc`` and
        ``test_loss`` with paired 95% intervals.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    data = digits_splits(seed=0)
    val = without_test(data)
    lrs = LR_GRID[s["grid"]]
    bar = progress_bar(len(ARMS) * (len(lrs) * len(s["tune_seeds"]) + len(s["seeds"])),
                       "bn shift", progress)
    out: dict[str, Any] = {
        "format": FORMAT, **_cli.provenance(), "scale": scale,
        "rerun": f"python -m dropout_lib.experiments.bn_shift --{scale}",
        "epochs": s["epochs"], "batch_size": 64, "hidden": HIDDEN,
        "tune_seeds": list(s["tune_seeds"]), "seeds": list(s["seeds"]),
        "tuning": {}, "final": {}}
    for arm, (p_drop, position) in ARMS.items():
        scores = []
        for lr in lrs:
            row = []
            for seed in s["tune_seeds"]:
                r = train_and_measure(arm, lr, val, seed, s["epochs"], split="val")
                row.append(round(r["loss_running"], 6))
                bar.tick(f"{arm} tuning")
            scores.append(row)
        mean = np.mean(scores, axis=1)
        best = int(np.argmin(mean))
        out["tuning"][arm] = {"lr": lrs, "val_loss": scores,
                              "mean_val_loss": mean.round(6).tolist(), "chosen": best}
        rows = []
        for seed in s["seeds"]:
            rows.append(train_and_measure(arm, lrs[best], data, seed, s["epochs"]))
            bar.tick(f"{arm} seed {seed}")
        out["final"][arm] = {"p_drop": p_drop, "position": position, "lr": lrs[best],
                             **{k: [round(r[k], 6) for r in rows] for k in rows[0]}}
    bar.close()
    final = out["final"]
    out["var_ratio"] = {arm: nn.interval_record(f["var_ratio"]) for arm, f in final.items()}
    out["reestimated_minus_running"] = {
        arm: {f"test_{m}": nn.paired_record(f[f"{m}_running"], f[f"{m}_reestimated"])
              for m in ("acc", "loss")} for arm, f in final.items()}
    out["after_minus_before"] = {
        name: {f"test_{m}": nn.paired_record(final[a][f"{m}_running"], final[b][f"{m}_running"])
               for m in ("acc", "loss")} for name, a, b in REMEDY_2}
    return out


def load(path: str | Path) -> dict[str, Any]:
    """Read a results file written by :func:`main`; checks its format."""
    return _cli.load(path, FORMAT, "python -m dropout_lib.experiments.bn_shift --full")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the study and write it as JSON."""
    return _cli.main(argv, prog="python -m dropout_lib.experiments.bn_shift",
                     description="The variance shift between dropout and batch "
                                 "normalisation, and its two remedies, on the digits.",
                     cache_file=CACHE_FILE, run_study=run_study)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

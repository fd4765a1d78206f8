"""The variance shift between dropout and batch normalisation, and two remedies.

The network is affine(64, 128) -> ReLU -> [dropout] -> affine(128, 128) ->
batch norm -> ReLU -> [dropout] -> affine(128, 10), trained with Adam on
the digits by :func:`dropout_lib.training.fit`. With dropout *before* the
batch-norm layer, the running variance it learns includes the dropout
noise, which is gone at test time (Li et al. 2019). For every trained
network the study measures

* the shift: the mean over units of (variance of the BN input on the test
  images, evaluation mode) / (running variance), beside the formula's
  prediction for the same trained network;
* the cost: test NLL and error with the running statistics, and with the
  statistics re-estimated on the training set in evaluation mode
  (remedy 1);
* remedy 2: the same network with dropout after the batch-norm layer.

On each data split every arm picks its learning rate on that split's
validation set (the grid extended while the choice sits on its edge, as
``tune(extend=True)`` does); five training seeds then train each arm once and read the
split's test set once. Seed ``s`` gives every arm the same initial weights
and batch order, so differences pair up.

Run from the command line (about two CPU minutes)::

    python -m dropout_lib.experiments run bn_shift --scale full

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
from ..optim import Adam
from ..training import fit
from . import _layers_net as nn
from .core import streams
from .registry import envelope
from .tuning import _beyond, without_test

__all__ = ["ARMS", "CACHE_FILE", "FORMAT", "LR_GRID", "NAME", "SCALES",
           "network", "predicted_ratio", "run_study", "train", "measure"]

NAME = "bn_shift"
#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "bn_shift.json"
#: Version of the JSON layout.
FORMAT = 2

HIDDEN = 128
BATCH = 64
#: Each arm's learning rates, tried on validation.
LR_GRID = [3e-4, 1e-3, 3e-3, 1e-2]
#: name: (p_drop, where the dropout layer sits relative to batch norm)
ARMS: dict[str, tuple[float, str]] = {
    "no_dropout": (0.0, "before"),
    "before_0.2": (0.2, "before"), "before_0.5": (0.5, "before"),
    "after_0.2": (0.2, "after"), "after_0.5": (0.5, "after"),
}

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"split_seeds": (0, 1, 2), "tune_seeds": (100,), "seeds": (0, 1, 2, 3, 4),
             "epochs": 30, "grid": slice(None)},
    "small": {"split_seeds": (0, 1), "tune_seeds": (100,), "seeds": (0, 1),
              "epochs": 2, "grid": slice(1, 2)},
}


def network(p_drop: float, position: str) -> list[nn.Layer]:
    """The layers of one arm; ``position`` is "before" or "after" the BN layer."""
    drop = [nn.dropout(p_drop)] if p_drop > 0 else []
    return [nn.affine("1", 64, HIDDEN), nn.relu(),
            *(drop if position == "before" else []),
            nn.affine("2", HIDDEN, HIDDEN), nn.batchnorm("2", HIDDEN), nn.relu(),
            *(drop if position == "after" else []),
            nn.affine("3", HIDDEN, 10)]


def train(arm: str, lr: float, data: Splits, seed: int, epochs: int) -> nn.LayerNet:
    """One network of ``arm`` trained by ``training.fit`` on ``data``'s training set."""
    init_ss, train_ss = streams(seed)[:2]
    net = nn.LayerNet(network(*ARMS[arm]), input_shape=(64,), n_outputs=10, seed=init_ss)
    fit(net, (data.X_train, data.y_train), epochs=epochs, batch_size=BATCH,
        optimizer=Adam(lr), seed=train_ss)
    return net


def predicted_ratio(net: nn.LayerNet, p_drop: float, X: np.ndarray) -> float:
    r"""The formula's test/train variance ratio of the BN input, for this network.

    :math:`\mathrm{Var}_{test}[z_j] / (\mathrm{Var}_{test}[z_j] + \frac{p}{1-p}
    \sum_k W_{kj}^2 \mathbb{E}[a_k^2])`, averaged over units, with the
    activations ``a`` entering the dropout layer and the variances over ``X``.
    """
    z = net.bn_input(X, "2")
    a = np.maximum(X @ net.params["W1"] + net.params["b1"], 0.0)
    extra = p_drop / (1 - p_drop) * (net.params["W2"] ** 2).T @ (a**2).mean(axis=0)
    var = z.var(axis=0, ddof=1)
    return float(np.mean(var / (var + extra)))


def measure(net: nn.LayerNet, arm: str, data: Splits, split: str = "test"
            ) -> dict[str, Any]:
    """Per-example NLL and correctness on ``split``, with the running and the
    re-estimated statistics, and the measured and predicted variance ratios."""
    X, y = data.get(split)
    p_drop, position = ARMS[arm]
    out: dict[str, Any] = {}
    out["loss_running"], out["correct_running"] = nn.per_example(net, X, y)
    running = net.states
    net.states = net.reestimate_bn(data.X_train)
    try:
        out["loss_reestimated"], out["correct_reestimated"] = nn.per_example(net, X, y)
    finally:
        net.states = running
    var = net.bn_input(X, "2").var(axis=0, ddof=1)
    out["var_ratio"] = float(np.mean(var / running["2"].var))
    out["predicted_ratio"] = (predicted_ratio(net, p_drop, X)
                              if p_drop > 0 and position == "before" else 1.0)
    return out


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Tune every arm's learning rate on each split's validation set, then test.

    Returns
    -------
    dict
        JSON-ready: the envelope; per split the tuning records and per arm
        and seed the test NLL and error (running and re-estimated statistics)
        and the variance ratios; ``"comparisons"``: remedy 1 (re-estimated
        minus running) and remedy 2 (after minus before) in test NLL and
        error at each ``p_drop``.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    splits = list(s["split_seeds"] if split_seeds is None else split_seeds)
    lrs = LR_GRID[s["grid"]]
    bar = progress_bar(len(splits) * len(ARMS) * (len(lrs) * len(s["tune_seeds"])
                                                  + len(s["seeds"])),
                       "bn shift", progress)
    out = envelope(NAME, scale, split_seeds=splits, seeds=s["seeds"], config={
        "network": f"64-{HIDDEN}-BN-{HIDDEN}-10 ReLU", "optimizer": "adam",
        "batch_size": BATCH, "epochs": s["epochs"], "lr_grid": lrs,
        "tune_seeds": list(s["tune_seeds"]),
        "selection": "lowest mean validation NLL of the split, running statistics"})
    out["splits"] = []
    keys = ("loss_running", "loss_reestimated", "error_running", "error_reestimated")
    values = {k: {a: [] for a in ARMS} for k in keys}
    examples = {k: {a: [] for a in ARMS} for k in keys}
    ratios = {k: {a: [] for a in ARMS} for k in ("var_ratio", "predicted_ratio")}
    for split in splits:
        data = digits_splits(seed=split)
        val = without_test(data)
        rec: dict[str, Any] = {"split_seed": split, "tuning": {}, "final": {}}
        for arm in ARMS:

            def score(setting: dict, seed: int, arm: str = arm) -> float:
                net = train(arm, setting["lr"], val, seed, s["epochs"])
                return float(nn.per_example(net, val.X_val, val.y_val)[0].mean())

            chosen, rec["tuning"][arm] = choose_lr(
                lrs, score, s, lambda arm=arm: bar.tick(f"split {split} {arm} tuning"))
            per: dict[str, list] = {k: [] for k in keys}
            rows: dict[str, list] = {"var_ratio": [], "predicted_ratio": []}
            for seed in s["seeds"]:
                m = measure(train(arm, chosen, data, seed, s["epochs"]), arm, data)
                for which in ("running", "reestimated"):
                    per[f"loss_{which}"].append(m[f"loss_{which}"])
                    per[f"error_{which}"].append(1.0 - m[f"correct_{which}"])
                for k in rows:
                    rows[k].append(m[k])
                bar.tick(f"split {split} {arm} seed {seed}")
            rec["final"][arm] = {
                "p_drop": ARMS[arm][0], "position": ARMS[arm][1], "lr": chosen,
                **{f"test_{k}": [round(float(v.mean()), 6) for v in per[k]] for k in keys},
                **{k: [round(v, 6) for v in r] for k, r in rows.items()}}
            for k in keys:
                values[k][arm].append([float(v.mean()) for v in per[k]])
                examples[k][arm].append(np.array(per[k]))
            for k in rows:
                ratios[k][arm].append(rows[k])
        out["splits"].append(rec)
    bar.close()
    out["var_ratio"] = {k: {a: np.round(v, 6).tolist() for a, v in r.items()}
                        for k, r in ratios.items()}
    out["comparisons"] = _comparisons(values, examples)
    return out


def choose_lr(lrs: list[float], score: Any, s: dict[str, Any], tick: Any,
              max_rounds: int = 4) -> tuple[float, dict[str, Any]]:
    """The learning rate of lowest mean validation NLL, and its record.

    Like :func:`~.tuning.tune` with ``extend=True``: while the choice is
    the smallest or largest rate tried, the next rate beyond it (a
    geometric step) is trained too, for at most ``max_rounds`` rounds.
    Each (rate, seed) trains once.
    """
    seen: dict[tuple[float, int], float] = {}

    def once(setting: dict, seed: int) -> float:
        key = (setting["lr"], seed)
        if key not in seen:
            seen[key] = score(setting, seed)
            tick()
        return seen[key]

    grid = sorted(lrs)
    for _ in range(max_rounds + 1):
        chosen, rec = nn.choose([{"lr": lr} for lr in grid], once,
                                s["tune_seeds"], s["epochs"])
        if not rec["edges"]["lr"]["on_edge"]:
            break
        nxt = _beyond(grid, "lr", chosen["lr"] == grid[-1])
        if nxt is None:
            break
        grid = sorted([*grid, nxt])
    rec["epochs_trained"] = s["epochs"] * len(seen)
    return chosen["lr"], rec


def _comparisons(values: dict, examples: dict) -> dict[str, Any]:
    out = {}
    for p in ("0.2", "0.5"):
        arm = f"before_{p}"
        for m, metric in (("loss", "test_loss"), ("error", "test_error")):
            # remedy 1: the same networks, re-estimated against running statistics
            name = f"bn-reestimate-p{p}-{metric.replace('_', '-')}"
            v = {"running": values[f"{m}_running"][arm],
                 "reestimated": values[f"{m}_reestimated"][arm]}
            e = {"running": examples[f"{m}_running"][arm],
                 "reestimated": examples[f"{m}_reestimated"][arm]}
            out[name] = nn.pair(name, metric, "lower", "running", "reestimated", v, e)
            # remedy 2: dropout moved after the batch-norm layer
            name = f"bn-after-p{p}-{metric.replace('_', '-')}"
            v = {arm: values[f"{m}_running"][arm],
                 f"after_{p}": values[f"{m}_running"][f"after_{p}"]}
            e = {arm: examples[f"{m}_running"][arm],
                 f"after_{p}": examples[f"{m}_running"][f"after_{p}"]}
            out[name] = nn.pair(name, metric, "lower", arm, f"after_{p}", v, e)
    return out

"""Early dropout against underfitting (Liu et al. 2023) on the digits.

Liu et al. ("Dropout Reduces Underfitting", 2023) turn dropout on only for
the first epochs of training and report that a model that *underfits* ends
with a lower training loss, and better test accuracy, than without dropout.
This study asks the same of a network that underfits the digits: 64-4-10
with tanh (four hidden units: at the learning rate validation prefers
without dropout its median training NLL is about 0.25 and its validation
NLL 0.32-0.38), trained with Adam for a fixed budget of 40 epochs, batches
of 64, the last epoch's network kept by every arm.

Why this network. A comparison of final training losses needs a loss that
moves smoothly with the seed. :func:`pilot` checks it on 20 seeds that
neither tuning nor the reported runs use, without dropout, at each
learning rate of the grid: over seeds, the 64-4-10 tanh network's final
training NLL has a coefficient of variation of 0.08-0.19 and a max/min of
1.3-2.3; the 64-4-10 ReLU this study first used has 0.33-0.85 and 3.1-14.7
(some seeds end near 1.5 NLL, others near 0.2: a lottery). A 64-8-10 tanh
is smooth too but does not underfit: at the learning rate validation
prefers, median training NLL 0.01-0.04 against validation NLL 0.10-0.16.

Arms (:data:`ARMS`), each tuned on every split's validation set:

- ``none``: no dropout (grid: learning rate);
- ``throughout``: dropout on the hidden layer in every epoch (learning rate
  x ``p_drop``);
- ``early``: dropout in epochs ``1..k`` only, then none (learning rate x
  ``p_drop`` x ``k``);
- ``late``: none in epochs ``1..k``, dropout afterwards (the same grid);

and the control :data:`CONTROL`, no dropout at the learning rate ``early``
chose (not tuned), so that early minus it cannot be a learning-rate gap.

Learning rate and ``p_drop`` are tuned by
:func:`~dropout_lib.experiments.tuning.tune` with ``extend=True``; ``k`` by
tuning every value of :data:`K_GRID` and extending that list the same way
while the best ``k`` lies on its edge (bounds ``1`` and ``epochs - 1``: a
``k`` of 0 or of ``epochs`` is another arm). Selection: the lowest mean
validation NLL over five tuning seeds. Then ten training seeds train each
arm's choice on the split's training set and read its test set once; seed
``s`` gives every arm the same initial weights and batch order. Three
splits x ten seeds: 30 paired differences per comparison.

Evidence records (:func:`~dropout_lib.experiments.evidence.comparison`,
named by :func:`record_name`): early minus none, minus throughout and minus
the control, in test NLL, test error and training NLL (the network in
evaluation mode on its training set after the last epoch: the underfitting
claim is about this number).

Results of the full run (95% t interval over the 3 splits): early minus
none, training NLL +0.014 [-0.007, +0.035], test NLL +0.003 [-0.010,
+0.016], test error +0.2 points [-0.5, +0.9]; early minus throughout,
training NLL -0.008 [-0.031, +0.015]: all within noise, no effect detected
on this testbed (early dropout ended with a higher training NLL on all
three splits, by +0.005, +0.022 and +0.015). Early chose the same
learning rate as none on every split, so the control equals none. One
choice lies on a grid edge: late's ``p_drop`` on split 0 at 0.00625, the
lowest value tried, whose limit is no dropout.

Run from the command line (pilot included: 3 min 52 s of CPU, 4 min 53 s
wall on a busy 2-core machine)::

    python -m dropout_lib.experiments run early_dropout --scale full

See Also
--------
dropout_lib.training.fit : ``dropout_epochs``, the schedule hook.
book/06 : dropout as practised today, early dropout.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..data import digits_splits
from ._layers_net import pair, per_example
from .core import Config, run
from .registry import envelope
from .tuning import tune, without_test

__all__ = ["ARMS", "CACHE_FILE", "COMPARISONS", "CONTROL", "FORMAT", "GRIDS",
           "K_GRID", "METRICS", "NAME", "PILOT_NETS", "SCALES", "arm_config",
           "edges", "pilot", "record_name", "run_study", "train_arm"]

NAME = "early_dropout"
#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "early_dropout.json"
#: Version of the JSON layout.
FORMAT = 2

#: The underfitting network and its training budget (every arm).
BASE = Config(hidden=(4,), activation="tanh", optimizer="adam", epochs=40,
              batch_size=64)
#: The tuned arms, in the order they are reported.
ARMS = ("none", "throughout", "early", "late")
#: The control arm: no dropout, at the learning rate ``early`` chose (not
#: tuned), so that early minus it is not a learning-rate difference.
CONTROL = "none_at_early_lr"
#: The pilot's networks: this study's; a wider one that no longer underfits;
#: and the 64-4-10 ReLU (the study's first network), whose final training
#: loss depends on the seed like a lottery.
PILOT_NETS: dict[str, Config] = {
    "64-4-10 tanh": BASE, "64-8-10 tanh": BASE.replace(hidden=(8,)),
    "64-4-10 ReLU": BASE.replace(activation="relu")}
#: Each arm's grid of learning rate and ``p_drop`` (grown by ``extend``).
GRIDS: dict[str, dict[str, list]] = {
    "none": {"lr": [3e-3, 1e-2, 3e-2]},
    "throughout": {"lr": [3e-3, 1e-2, 3e-2], "p_drop_hidden": [0.1, 0.2, 0.3]},
    "early": {"lr": [3e-3, 1e-2, 3e-2], "p_drop_hidden": [0.1, 0.2, 0.3]},
    "late": {"lr": [3e-3, 1e-2, 3e-2], "p_drop_hidden": [0.1, 0.2, 0.3]},
}
#: The epochs ``k`` where dropout switches off (early) or on (late), out of 40.
K_GRID: dict[str, list[int]] = {"early": [5, 10, 20], "late": [10, 20, 30]}
#: What each comparison measures; all are "lower is better" for ``early``.
METRICS = ("test_loss", "test_error", "train_loss")
#: The comparisons, as ``(a, b)``: the records hold ``b - a``.
COMPARISONS = (("none", "early"), ("throughout", "early"), (CONTROL, "early"))

#: "full" for the book, "small" (seconds) for the tests. Tuning, training
#: and pilot seeds are disjoint.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"split_seeds": (0, 1, 2), "tune_seeds": tuple(range(100, 105)),
             "seeds": tuple(range(10)), "pilot_seeds": tuple(range(200, 220)),
             "epochs": 40, "small": False},
    "small": {"split_seeds": (0, 1), "tune_seeds": (100,), "seeds": (0, 1),
              "pilot_seeds": (200, 201), "epochs": 4, "small": True},
}


def record_name(a: str, b: str, metric: str) -> str:
    """The evidence record of ``b - a`` in ``metric``, e.g.
    ``"early-vs-none-train-loss"`` (underscores become hyphens)."""
    return "-vs-".join((b, a)).replace("_", "-") + "-" + metric.replace("_", "-")


def arm_config(arm: str, *, lr: float, p_drop_hidden: float = 0.0,
               k: int | None = None, epochs: int = 40) -> Config:
    """The configuration of one arm with the given settings.

    Parameters
    ----------
    arm : {"none", "throughout", "early", "late", "none_at_early_lr"}
        The control :data:`CONTROL` is the ``"none"`` network.
    lr : float
        Adam's learning rate.
    p_drop_hidden : float
        Drop probability of the hidden units (0 for ``"none"``).
    k : int, optional
        Needed by ``"early"`` (dropout in epochs ``1..k``) and ``"late"``
        (dropout in epochs ``k+1..epochs``), ``1 <= k < epochs``.
    epochs : int, default 40

    Returns
    -------
    Config
    """
    if arm not in (*ARMS, CONTROL):
        raise ValueError(f"arm must be one of {(*ARMS, CONTROL)}; got {arm!r}")
    if (k is None) != (arm in ("none", "throughout", CONTROL)):
        raise ValueError(f"k is needed by the early and late arms only; "
                         f"got k={k!r} for {arm!r}")
    if k is not None and not (isinstance(k, int) and 1 <= k < epochs):
        raise ValueError(f"k must be an int in 1..{epochs - 1}; got {k!r}")
    window = {"early": (1, k), "late": (k + 1, epochs)}.get(arm) if k else None
    return BASE.replace(lr=lr, p_drop_hidden=p_drop_hidden, epochs=epochs,
                        dropout_epochs=window)


def _ks(arm: str, epochs: int, small: bool) -> list[int]:
    """The k grid scaled to the budget (the full grid is for 40 epochs)."""
    if small:
        return [max(1, epochs // 2)]
    return [max(1, min(epochs - 1, round(k * epochs / 40))) for k in K_GRID[arm]]


def _next_k(ks: list[int], chosen: int, epochs: int) -> int | None:
    """The next k beyond the edge the choice is on (halve/double), if any."""
    if len(ks) < 2 or chosen not in (min(ks), max(ks)):
        return None
    nxt = max(1, chosen // 2) if chosen == min(ks) else \
        min(epochs - 1, chosen + (epochs - chosen) // 2)
    return nxt if nxt not in ks else None


def _tune_arm(arm: str, data: Any, s: dict[str, Any], bar: Any
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tune one arm on one split: the chosen settings and the tuning record."""
    grid = {key: list(v) for key, v in GRIDS[arm].items()}
    if s["small"]:
        grid = {key: v[1:2] for key, v in grid.items()}

    def tuned_at(k: int | None) -> Any:
        cfg = arm_config(arm, lr=grid["lr"][0],
                         p_drop_hidden=grid.get("p_drop_hidden", [0.0])[0],
                         k=k, epochs=s["epochs"])
        t = tune(cfg, data, grid, seeds=s["tune_seeds"], extend=True)
        bar.tick(f"{arm} k={k}")
        return t

    if arm not in K_GRID:
        t = tuned_at(None)
        chosen = {"lr": t.config.lr, "p_drop_hidden": t.config.p_drop_hidden}
        return chosen, {"by_k": None, "grid": t.record()}
    ks = _ks(arm, s["epochs"], s["small"])
    runs = {k: tuned_at(k) for k in ks}
    for _ in range(4):                   # extend k while it is on an edge
        best_k = min(runs, key=lambda k: runs[k].scores[runs[k].best].mean())
        nxt = _next_k(sorted(runs), best_k, s["epochs"])
        if nxt is None:
            break
        runs[nxt] = tuned_at(nxt)
    ks = sorted(runs)
    best_k = min(ks, key=lambda k: runs[k].scores[runs[k].best].mean())
    on_edge = len(ks) > 1 and best_k in (ks[0], ks[-1])
    at_bound = on_edge and best_k in (1, s["epochs"] - 1)
    t = runs[best_k]
    chosen = {"lr": t.config.lr, "p_drop_hidden": t.config.p_drop_hidden,
              "k": best_k}
    record = {"by_k": {str(k): runs[k].record() for k in ks},
              "k_values": ks,
              "mean_val_loss_by_k": [round(float(
                  runs[k].scores[runs[k].best].mean()), 6) for k in ks],
              "k_edge": {"chosen": best_k, "on_edge": on_edge and not at_bound,
                         "at_bound": at_bound}}
    return chosen, record


def train_arm(arm: str, chosen: dict[str, Any], split_seed: int, seed: int,
              *, epochs: int = 40) -> dict[str, Any]:
    """Train one arm's chosen setting with ``seed`` on split ``split_seed``.

    What the chapter re-runs live: the same call gives the saved numbers.

    Returns
    -------
    dict
        ``test_loss``, ``test_error``, ``train_loss`` (floats), the
        per-epoch training-set NLL ``train_curve`` (evaluation mode, epoch 0
        first) and the per-test-example ``test_nll`` and ``test_wrong`` and
        per-training-example ``train_nll`` arrays.
    """
    data = digits_splits(seed=split_seed)
    cfg = arm_config(arm, lr=chosen["lr"],
                     p_drop_hidden=chosen.get("p_drop_hidden", 0.0),
                     k=chosen.get("k"), epochs=epochs)
    net, hist = run(cfg, without_test(data), seed, curves=False)
    nll, correct = per_example(net, data.X_test, data.y_test)
    train_nll, _ = per_example(net, data.X_train, data.y_train)
    return {"test_loss": float(nll.mean()), "test_error": float(1 - correct.mean()),
            "train_loss": float(hist.final["train_loss"]),
            "train_curve": np.asarray(hist.train_loss, float),
            "test_nll": nll, "test_wrong": 1.0 - correct, "train_nll": train_nll}


def pilot(split_seeds: Sequence[int], seeds: Sequence[int], *,
          epochs: int = 40, lrs: Sequence[float] | None = None,
          bar: Any = None) -> dict[str, Any]:
    """Is the final training loss a smooth function of the seed?

    Trains each network of :data:`PILOT_NETS` without dropout, at every
    learning rate of the ``"none"`` grid, once per seed (seeds that neither
    tuning nor the reported runs use), on each split's training set.

    Returns
    -------
    dict
        ``seeds``, ``lr``, ``split_seeds`` and, in ``nets``, per network
        name: ``train_loss`` and ``val_loss`` (shape (n_splits, n_lr,
        n_seeds): evaluation-mode NLL after the last epoch), and the
        training NLL's coefficient of variation over seeds ``cv`` and its
        ``max_over_min`` (shape (n_splits, n_lr)). A lottery shows as a
        large ``max_over_min`` (a few seeds end far above the rest).
    """
    lrs = list(GRIDS["none"]["lr"] if lrs is None else lrs)
    out: dict[str, Any] = {"seeds": list(seeds), "lr": lrs,
                           "split_seeds": list(split_seeds), "nets": {}}
    for name, base in PILOT_NETS.items():
        losses = np.empty((len(split_seeds), len(lrs), len(seeds)))
        val = np.empty_like(losses)
        for i, split in enumerate(split_seeds):
            data = without_test(digits_splits(seed=split))
            for j, lr in enumerate(lrs):
                cfg = base.replace(lr=lr, epochs=epochs)
                for n, seed in enumerate(seeds):
                    final = run(cfg, data, seed, curves=False)[1].final
                    losses[i, j, n] = final["train_loss"]
                    val[i, j, n] = final["val_loss"]
                if bar is not None:
                    bar.tick(f"pilot {name} split {split} lr {lr:g}")
        sd = losses.std(axis=2, ddof=min(1, len(seeds) - 1))
        out["nets"][name] = {
            "train_loss": losses.round(6).tolist(),
            "val_loss": val.round(6).tolist(),
            "cv": (sd / losses.mean(axis=2)).round(4).tolist(),
            "max_over_min": (losses.max(axis=2) / losses.min(axis=2)).round(4)
            .tolist()}
    return out


def edges(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every saved choice that lies on its grid's edge or at a natural bound.

    Parameters
    ----------
    results : dict
        As returned by :func:`run_study` (or ``registry.load(NAME)``).

    Returns
    -------
    list of dict
        One row per such choice: ``split_seed``, ``arm``, ``field`` (``lr``,
        ``p_drop_hidden`` or ``k``), ``chosen``, the ``values`` tried and
        ``where``: ``"edge"`` (the grid could go on) or ``"bound"`` (``k``
        of 1 or ``epochs - 1``: beyond it is another arm).
    """
    rows = []
    for split in results["splits"]:
        for arm in ARMS:
            t = split["tuning"][arm]
            k = split["chosen"][arm].get("k")
            grid = t["grid"] if t["by_k"] is None else t["by_k"][str(k)]
            for field, e in grid["edges"].items():
                if e["on_edge"] or e["at_bound"]:
                    rows.append({"split_seed": split["split_seed"], "arm": arm,
                                 "field": field, "chosen": e["chosen"],
                                 "values": e["values"],
                                 "where": "edge" if e["on_edge"] else "bound"})
            if t["by_k"] is not None and (t["k_edge"]["on_edge"]
                                          or t["k_edge"]["at_bound"]):
                rows.append({"split_seed": split["split_seed"], "arm": arm,
                             "field": "k", "chosen": k, "values": t["k_values"],
                             "where": "edge" if t["k_edge"]["on_edge"]
                             else "bound"})
    return rows


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Tune every arm on each split's validation set, then train and test.

    Returns
    -------
    dict
        JSON-ready: the envelope; ``"pilot"`` (:func:`pilot`); per split
        ``"tuning"`` (per tuned arm: the grid record, by ``k`` for early and
        late, with edges), ``"chosen"`` and ``"final"`` (per arm, the control
        :data:`CONTROL` included, and seed: ``test_loss``, ``test_error``,
        ``train_loss`` and the training-loss curve); ``"comparisons"``:
        evidence records named by :func:`record_name`.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    splits = list(s["split_seeds"] if split_seeds is None else split_seeds)
    n_tunes = sum(len(_ks(a, s["epochs"], s["small"])) if a in K_GRID else 1
                  for a in ARMS)
    pilot_lrs = GRIDS["none"]["lr"][1:2] if s["small"] else GRIDS["none"]["lr"]
    arms = (*ARMS, CONTROL)
    bar = progress_bar(len(splits) * (n_tunes + len(arms) * len(s["seeds"])
                                      + len(PILOT_NETS) * len(pilot_lrs)),
                       "early dropout", progress)
    out = envelope(NAME, scale, split_seeds=splits, seeds=s["seeds"], config={
        "network": "64-4-10 tanh", "optimizer": "adam", "batch_size": 64,
        "epochs": s["epochs"], "tune_seeds": list(s["tune_seeds"]),
        "grids": GRIDS, "k_grid": K_GRID, "arms": list(ARMS),
        "control": {"arm": CONTROL, "lr": "the early arm's chosen lr",
                    "p_drop_hidden": 0.0},
        "pilot_seeds": list(s["pilot_seeds"]),
        "selection": "lowest mean validation NLL over the tuning seeds, "
                     "last epoch; lr and p_drop by tune(extend=True), k "
                     "extended (halve/double) while on its edge",
        "train_loss": "evaluation-mode NLL on the split's training set "
                      "after the last epoch"})
    out["pilot"] = pilot(splits, s["pilot_seeds"], epochs=s["epochs"],
                         lrs=pilot_lrs, bar=bar)
    out["splits"] = []
    values = {m: {a: [] for a in arms} for m in METRICS}
    examples = {m: {a: [] for a in arms} for m in METRICS}
    for split in splits:
        data = digits_splits(seed=split)
        rec: dict[str, Any] = {"split_seed": split, "tuning": {},
                               "chosen": {}, "final": {}}
        for arm in arms:
            if arm == CONTROL:
                chosen = {"lr": rec["chosen"]["early"]["lr"],
                          "p_drop_hidden": 0.0}
            else:
                chosen, rec["tuning"][arm] = _tune_arm(arm, data, s, bar)
            rec["chosen"][arm] = chosen
            runs = []
            for seed in s["seeds"]:
                runs.append(train_arm(arm, chosen, split, seed, epochs=s["epochs"]))
                bar.tick(f"split {split} {arm} seed {seed}")
            rec["final"][arm] = {
                m: [round(r[m], 6) for r in runs] for m in METRICS}
            rec["final"][arm]["train_curve"] = [
                np.round(r["train_curve"], 5).tolist() for r in runs]
            for m, key in (("test_loss", "test_nll"), ("test_error", "test_wrong"),
                           ("train_loss", "train_nll")):
                values[m][arm].append([r[m] for r in runs])
                examples[m][arm].append(np.array([r[key] for r in runs]))
        out["splits"].append(rec)
    bar.close()
    out["comparisons"] = {}
    for a, b in COMPARISONS:
        for m in METRICS:
            name = record_name(a, b, m)
            out["comparisons"][name] = pair(name, m, "lower", a, b,
                                            values[m], examples[m])
    return out

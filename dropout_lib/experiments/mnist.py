"""Chapter 5's MNIST study: the 784-512-512-10 ReLU network with and without dropout.

Three arms, in the spirit of Srivastava et al. (2014, Table 9, which keeps
one ReLU network fixed): no dropout (with a tuned L2 penalty); dropout
(inputs ``p_drop`` 0.2, hidden 0.5); dropout with max-norm and more momentum
(their Appendix A). Each arm chooses its learning rate (the plain network
also its L2 penalty) on the validation split with a tuning seed. Every
network trains for the same number of epochs, and the weights of its best
validation epoch are kept. The chosen settings are then trained with other
seeds, paired across arms (same split, initial weights and batch order), and
the test split is read once per network. Every interval also carries the
sampling error of a 2,000-image test set: binomial for an arm's error, and
for a paired difference the standard error of the per-image differences
(saved per seed as ``test_wrong``).

Four arms, as in Table 9: L2 only, max-norm only (Appendix A's momentum
0.95), dropout, dropout with max-norm. Every choice is made by
:func:`~.tuning.tune` with ``extend=True``, so no learning rate or L2
penalty is left on its grid's edge.

One data split and 35 epochs only: the full study costs about fifteen CPU
minutes, and every further split would add as much; the chapter says so
beside the numbers.

The data are MNIST's 10,000 official test images (the only part shipped):
7,000 to train, 1,000 to validate, 2,000 to test.

Run from the command line (about fifteen minutes on one core; writes the
book's results file with both the full and the small study)::

    python -m dropout_lib.experiments run mnist --scale full

See Also
--------
book/05_noise_and_modern.ipynb : the section "Real digits at scale: MNIST".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..data import Splits, mnist_splits
from ..training import EarlyStopping
from .core import Config, run
from .registry import envelope
from .stats import paired_ci, t_interval
from .tuning import expand_grid, tune, without_test

__all__ = ["ARMS", "CACHE_FILE", "DIFFERENCES", "FORMAT", "NAME", "PAPER",
           "SCALES", "run_study"]

#: The study's name on the command line.
NAME = "mnist"
#: Where the book keeps the results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "mnist_comparison.json"
#: Version of the JSON layout; bump it when the layout changes.
FORMAT = 2
#: The normal 97.5% quantile, for the test-set term of an interval.
_Z = 1.959964

_BASE = Config(hidden=(512, 512), activation="relu", optimizer="sgd",
               lr=0.03, momentum=0.9, batch_size=100, dtype="float32")
_DROP = {"p_drop_input": 0.2, "p_drop_hidden": 0.5}

#: name: (base configuration, tuning grid). Each grid spans a factor of 5
#: to 10 in lr / (1 - momentum), and :func:`~.tuning.tune` extends it
#: (``extend=True``) while a choice sits on its edge. Higher rates for the
#: dropout arms (0.3 with momentum 0.9, 0.1 with 0.95) left them at chance
#: or far behind in pilot runs on these 7,000 images. ``max_norm`` is
#: Table 9's max-norm row: no dropout, Appendix A's momentum and max-norm.
ARMS: dict[str, tuple[Config, dict[str, list]]] = {
    "no_dropout": (_BASE, {"lr": [0.03, 0.1, 0.3], "l2": [0.0, 1e-4]}),
    "max_norm": (_BASE.replace(momentum=0.95, max_norm=3.0),
                 {"lr": [0.02, 0.05, 0.1]}),
    "dropout": (_BASE.replace(**_DROP), {"lr": [0.01, 0.03, 0.1]}),
    "dropout_max_norm": (_BASE.replace(**_DROP, momentum=0.95, max_norm=3.0),
                         {"lr": [0.01, 0.02, 0.05]}),
}

#: The paired differences reported, as (arm b, arm a): mean of b - a.
DIFFERENCES = (("dropout", "no_dropout"), ("dropout_max_norm", "no_dropout"),
               ("dropout_max_norm", "dropout"), ("max_norm", "no_dropout"),
               ("dropout", "max_norm"), ("dropout_max_norm", "max_norm"))

#: "full" for the book; "small" (seconds) for the chapter's live run and the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"n_train": None, "epochs": 35, "tune_seeds": (100,),
             "seeds": (0, 1, 2, 3, 4), "grid_keys": ("lr", "l2")},
    "small": {"n_train": 500, "epochs": 2, "tune_seeds": (100,),
              "seeds": (0, 1), "grid_keys": ("lr",)},
}

#: Srivastava et al. (2014): MNIST test error (%), 60,000 training images.
PAPER: dict[str, Any] = {
    "table_9": {
        "source": "Srivastava et al. (2014), Table 9 (section 6.5): one "
                  "ReLU network, 784-1024-1024-2048-10, regularisers "
                  "compared",
        "test_error_percent": {"no_dropout": 1.62, "max_norm": 1.35,
                               "dropout": 1.25, "dropout_max_norm": 1.05},
        "rows": {"no_dropout": "L2", "max_norm": "max-norm",
                 "dropout": "dropout + L2",
                 "dropout_max_norm": "dropout + max-norm"}},
    "table_2": {
        "source": "Srivastava et al. (2014), Table 2",
        "rows": {"standard neural net, 2 layers of 800 logistic units "
                 "(Simard et al., 2003)": 1.60,
                 "dropout + max-norm, ReLU, 3 layers of 1024 units": 1.06}},
}

NOTES = [
    ("Srivastava et al. trained on MNIST's 60,000 training images and tested "
     "on its 10,000 test images, with wider networks (Table 9: 784-1024-1024-"
     "2048-10) and far longer training, with a decaying "
     "learning rate and a rising momentum. Here the whole data set is the "
     "10,000 official test images: 7,000 train, 1,000 validate and 2,000 "
     f"test, and every network trains for the same {SCALES['full']['epochs']} "
     "epochs of SGD at a "
     "fixed learning rate. The paper's errors are therefore not a target: "
     "what compares is the direction and rough size of each effect."),
    ("MNIST's training and test writers are disjoint; this random split of "
     "the test images is not split by writer (no writer ids are shipped), so "
     "a writer may appear in both training and test here."),
    ("Table 2's 1.60% is Simard et al.'s logistic 2 x 800 network, not a "
     "version of the dropout network without dropout; Table 9 keeps one ReLU "
     "network and changes only the regulariser, which is the comparison "
     "made here (its dropout row also has L2; ours has none). Table 9's "
     "strongest row without dropout is max-norm (1.35%), run here as the "
     "max_norm arm."),
]


#: The settings an arm may fix or tune (recorded with the results).
_FIXED = ("p_drop_input", "p_drop_hidden", "momentum", "max_norm", "lr", "l2")


def _epoch_selection(epochs: int) -> EarlyStopping:
    """Keep the best validation epoch without stopping early: every arm trains equally long."""
    return EarlyStopping(patience=epochs, monitor="val_acc")


def _grid(arm: str, scale: dict[str, Any]) -> dict[str, list]:
    """The arm's grid at this scale: keys outside ``grid_keys`` keep their first value."""
    return {k: v if k in scale["grid_keys"] else v[:1]
            for k, v in ARMS[arm][1].items()}


def _setup(scale: dict[str, Any]) -> tuple[Splits, dict[str, Config]]:
    data = mnist_splits(seed=0, n_train=scale["n_train"])
    e = scale["epochs"]
    bases = {name: cfg.replace(epochs=e, early_stopping=_epoch_selection(e))
             for name, (cfg, _) in ARMS.items()}
    return data, bases


def _tune(name: str, base: Config, data: Splits, grid: dict[str, list],
          tune_seeds: Sequence[int], bar) -> tuple[Config, dict[str, Any]]:
    """The arm's grid on validation; the chosen setting and the record."""

    def score(cfg: Config, val: Splits, seed: int) -> tuple[float, int]:
        hist = run(cfg, val, seed)[1]
        bar.tick(f"{name} tuning lr={cfg.lr:g} val_err "
                 f"{1 - hist.final['val_acc']:.4f}")
        return hist.final["val_acc"], hist.epochs[-1]

    t = tune(base, data, grid, seeds=tune_seeds, metric="val_acc",
             score=score, extend=True)
    rec = t.record()
    rec["val_error"] = [round(1.0 - float(v), 6)
                        for v in t.scores.mean(axis=1)]
    return t.config, rec


def _final(name: str, cfg: Config, data: Splits, seeds: Sequence[int],
           bar) -> dict[str, Any]:
    """One network per seed on train (+ validation for the epoch); test once."""
    rows: dict[str, list] = {"test_error": [], "val_error": [],
                             "train_error": [], "best_epoch": []}
    wrong = []
    for seed in seeds:
        net, hist = run(cfg, without_test(data), seed)
        miss = net.predict(data.X_test) != data.y_test
        wrong.append("".join("1" if m else "0" for m in miss))
        rows["test_error"].append(float(miss.mean()))
        rows["val_error"].append(1.0 - hist.final["val_acc"])
        rows["train_error"].append(1.0 - hist.final["train_acc"])
        rows["best_epoch"].append(int(hist.best_epoch))
        bar.tick(f"{name} seed {seed} test_err {rows['test_error'][-1]:.4f}")
    ci = t_interval(rows["test_error"])
    out = {"seeds": list(seeds),
           **{k: [round(float(v), 6) for v in vals] if k != "best_epoch"
              else vals for k, vals in rows.items()}}
    out["mean"] = round(ci.mean, 6)
    out["ci"] = [round(ci.low, 6), round(ci.high, 6)]
    out.update(_with_test_set(ci, data.y_test.shape[0]))
    out["test_wrong"] = wrong
    return out


def _with_test_set(ci: Any, n_test: int) -> dict[str, Any]:
    """The seed interval widened by the binomial error of ``n_test`` images."""
    test = _Z * math.sqrt(max(ci.mean * (1 - ci.mean), 0.0) / n_test)
    half = math.hypot(ci.high - ci.mean, test)
    return {"ci_with_test_set": [round(ci.mean - half, 6), round(ci.mean + half, 6)]}


def _wrong(final: dict[str, Any]) -> np.ndarray:
    """Per seed and test image, 1 where the arm's network got it wrong."""
    return np.array([[c == "1" for c in w] for w in final["test_wrong"]],
                    dtype=np.float64)


def _differences(final: dict[str, dict[str, Any]], n_test: int) -> dict[str, Any]:
    """Paired differences over seeds, with and without the test-set term.

    The test-set term is measured, not bounded: per test image, the
    difference of the two arms' errors averaged over the paired seeds;
    its standard error over the ``n_test`` images (the images the arms
    disagree on carry it) is added in quadrature to the seed interval's
    half-width.
    """
    out = {}
    for b, a in DIFFERENCES:
        ea = np.array(final[a]["test_error"])
        eb = np.array(final[b]["test_error"])
        ci = paired_ci(ea, eb)
        wa, wb = _wrong(final[a]), _wrong(final[b])
        d = (wb - wa).mean(axis=0)
        se = float(d.std(ddof=1) / math.sqrt(n_test))
        half = math.hypot(ci.high - ci.mean, _Z * se)
        low, high = ci.mean - half, ci.mean + half
        out[f"{b} - {a}"] = {"b": b, "a": a,
                             "per_seed": (eb - ea).round(6).tolist(),
                             "disagree": (wa != wb).mean(axis=1).round(6).tolist(),
                             "mean": round(ci.mean, 6),
                             "ci": [round(ci.low, 6), round(ci.high, 6)],
                             "test_set_se": round(se, 6),
                             "ci_with_test_set": [round(low, 6), round(high, 6)],
                             "covers_zero": bool(low <= 0 <= high)}
    return out


def _n_runs(scale: dict[str, Any]) -> int:
    n_settings = sum(len(expand_grid(_grid(arm, scale))) for arm in ARMS)
    return (n_settings * len(scale["tune_seeds"])
            + len(ARMS) * len(scale["seeds"]))


def _study(name: str, bar) -> dict[str, Any]:
    s = SCALES[name]
    data, bases = _setup(s)
    sizes = data.sizes()
    n_train = sizes["train"]
    out: dict[str, Any] = {
        "scale": name,
        "rerun": f"run_study({name!r})",
        "config": {
            "network": f"{data.n_features}-512-512-{data.n_classes} ReLU",
            "optimizer": "sgd", "batch_size": _BASE.batch_size,
            "dtype": _BASE.dtype, "epochs": s["epochs"],
            "updates": s["epochs"] * math.ceil(n_train / _BASE.batch_size),
            "epoch_selection": "best validation accuracy over all epochs "
                               "(no early stop)",
            "split_seed": 0, "sizes": sizes,
            "tune_seeds": list(s["tune_seeds"]), "seeds": list(s["seeds"])},
        "arms": {}}
    for arm, base in bases.items():
        grid = _grid(arm, s)
        cfg, rec = _tune(arm, base, data, grid, s["tune_seeds"], bar)
        fixed = {k: getattr(base, k) for k in _FIXED if k not in grid}
        out["arms"][arm] = {
            "base": fixed, "grid": grid, "tuning": rec,
            "chosen": rec["settings"][rec["chosen"]],
            "final": _final(arm, cfg, data, s["seeds"], bar)}
    out["differences"] = _differences(
        {arm: v["final"] for arm, v in out["arms"].items()}, sizes["test"])
    return out


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Tune the three arms on validation, then train and test them on fresh seeds.

    Parameters
    ----------
    scale : {"small", "full"}, default "small"
        "small" runs in seconds (500 training images, 2 epochs, 2 seeds,
        only the learning rates tuned);
        "full" (minutes) runs the full study and then the small one too.
    progress : bool, default False
        One progress bar over every run, on stderr.

    Returns
    -------
    dict
        JSON-ready: ``"format"``, provenance, ``"paper"``, ``"notes"`` and
        one study per scale run (``"full"``, ``"small"``), each with the
        ``"config"``, per arm its ``"tuning"`` grid (validation errors),
        ``"chosen"`` setting and ``"final"`` per-seed test errors with mean
        and 95% t interval, and the paired ``"differences"``.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    names = ["full", "small"] if scale == "full" else ["small"]
    bar = progress_bar(sum(_n_runs(SCALES[n]) for n in names), "mnist",
                       progress)
    s = SCALES[scale]
    out: dict[str, Any] = {
        **envelope(NAME, scale, split_seeds=[0], seeds=s["seeds"],
                   config={"tune_seeds": list(s["tune_seeds"]),
                           "epochs": s["epochs"]}),
        "paper": PAPER, "notes": NOTES}
    for name in names:
        out[name] = _study(name, bar)
    bar.close()
    return out

"""Element-wise against channel (spatial) dropout in a small conv net, over splits.

The network is conv(1 -> 16, 3x3) -> ReLU -> [dropout] -> 2x2 average pool ->
affine(16*4*4 -> 10) on the 8x8 digits (rows of 64 pixels read as
1 x 8 x 8 images), trained with Adam by :func:`dropout_lib.training.fit`.
Three arms: no dropout, element-wise dropout of the feature maps, and
channel dropout (one mask value per feature map, ``shared_axes=(2, 3)``;
Tompson et al. 2015). On each data split every arm picks its learning rate
(and both dropout arms ``p_drop``, from the same grid) on that split's
validation set; five training seeds then train each arm once and read the
split's test set once. Seed ``s`` gives every arm the same initial weights
and batch order, so differences pair up.

The study also measures the premise of channel dropout: on the test images
(evaluation mode) the mean Pearson correlation of a unit with its right and
lower neighbours in the same map, against that of units of different maps
at the same position.

Run from the command line (about three CPU minutes)::

    python -m dropout_lib.experiments run conv_dropout --scale full

See Also
--------
book/05_noise_and_modern.ipynb : the section on convolutions.
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
from .tuning import expand_grid, without_test

__all__ = ["ARMS", "CACHE_FILE", "COMPARISONS", "FORMAT", "NAME", "SCALES",
           "feature_correlations", "images", "network", "run_study", "train"]

NAME = "conv_dropout"
#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "conv_dropout.json"
#: Version of the JSON layout.
FORMAT = 2

CHANNELS = 16
BATCH = 64
#: A first run on lr {5e-3, ..., 4e-2} x p_drop {0.05, ..., 0.5} chose the
#: largest rate and, for channel dropout, the smallest p_drop; the grids
#: move one step beyond both (p_drop 0.5 was never chosen).
_LR = [1e-2, 2e-2, 4e-2, 8e-2]
_P = [0.02, 0.05, 0.1, 0.2, 0.3]
#: name: (shared axes of the dropout mask or None for no dropout, tuning grid)
ARMS: dict[str, tuple[tuple[int, ...] | None, dict[str, list]]] = {
    "no_dropout": (None, {"lr": _LR}),
    "elementwise": ((), {"p_drop": _P, "lr": _LR}),
    "channel": ((2, 3), {"p_drop": _P, "lr": _LR}),
}
#: The paired comparisons: (name, arm a, arm b, claim direction of b - a).
COMPARISONS = [("elementwise-vs-none", "no_dropout", "elementwise"),
               ("channel-vs-none", "no_dropout", "channel"),
               ("channel-vs-elementwise", "elementwise", "channel")]

_CORRELATIONS = ("neighbour", "neighbour_abs", "cross_channel", "cross_channel_abs")

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"split_seeds": (0, 1, 2), "tune_seeds": (100,), "seeds": (0, 1, 2, 3, 4),
             "epochs": 20, "grid": slice(None)},
    "small": {"split_seeds": (0, 1), "tune_seeds": (100,), "seeds": (0, 1),
              "epochs": 1, "grid": slice(1, 2)},
}


def network(shared_axes: tuple[int, ...] | None, p_drop: float = 0.0) -> list[nn.Layer]:
    """The layers of one arm; ``shared_axes=None`` leaves dropout out."""
    drop = [] if shared_axes is None else [nn.dropout(p_drop, shared_axes)]
    return [nn.conv("1", 1, CHANNELS), nn.relu(), *drop, nn.avg_pool(),
            nn.flatten(), nn.affine("2", CHANNELS * 16, 10)]


def images(X: np.ndarray) -> np.ndarray:
    """Rows of 64 pixels as N x 1 x 8 x 8 images (a view; ``X`` is unchanged)."""
    return X.reshape(-1, 1, 8, 8)


def feature_correlations(maps: np.ndarray) -> dict[str, float]:
    """Mean Pearson correlations within and across the maps of ``maps`` (N, C, H, W).

    Returns
    -------
    dict
        ``neighbour``: a unit with its right and lower neighbour in the same
        map; ``cross_channel``: units of two different maps at the same
        position; ``*_abs``: the mean absolute values. Correlations are over
        the N images; units constant over them (dead) are left out.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (maps - maps.mean(axis=0)) / maps.std(axis=0)
    right = (z[..., :-1] * z[..., 1:]).mean(axis=0)
    down = (z[:, :, :-1] * z[:, :, 1:]).mean(axis=0)
    c = maps.shape[1]
    cross = np.einsum("ncij,ndij->cdij", z, z) / z.shape[0]
    off = cross[~np.eye(c, dtype=bool)]
    near = np.concatenate([right.ravel(), down.ravel()])
    return {"neighbour": float(np.nanmean(near)),
            "neighbour_abs": float(np.nanmean(np.abs(near))),
            "cross_channel": float(np.nanmean(off)) if c > 1 else float("nan"),
            "cross_channel_abs": float(np.nanmean(np.abs(off))) if c > 1 else float("nan")}


def train(arm: str, setting: dict[str, Any], data: Splits, seed: int,
          epochs: int) -> nn.LayerNet:
    """One network of ``arm`` with ``setting`` (``lr``, ``p_drop``), by ``training.fit``."""
    init_ss, train_ss = streams(seed)[:2]
    net = nn.LayerNet(network(ARMS[arm][0], setting.get("p_drop", 0.0)),
                      input_shape=(1, 8, 8), n_outputs=10, seed=init_ss)
    fit(net, (data.X_train, data.y_train), epochs=epochs, batch_size=BATCH,
        optimizer=Adam(setting["lr"]), seed=train_ss)
    return net


def run_study(scale: str = "small", *, progress: bool = False,
              split_seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """Tune every arm on each split's validation set, then train and test it.

    Returns
    -------
    dict
        JSON-ready: the envelope; per split the tuning records and per arm
        and seed the test NLL, error and feature-map correlations;
        ``"comparisons"``: the three pairs of arms in test NLL and error, and
        neighbour against cross-channel |r| of the network without dropout.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    splits = list(s["split_seeds"] if split_seeds is None else split_seeds)
    grids = {arm: expand_grid({k: v[s["grid"]] for k, v in g.items()})
             for arm, (_, g) in ARMS.items()}
    n = sum(len(g) for g in grids.values()) * len(s["tune_seeds"])
    bar = progress_bar(len(splits) * (n + len(ARMS) * len(s["seeds"])),
                       "conv dropout", progress)
    out = envelope(NAME, scale, split_seeds=splits, seeds=s["seeds"], config={
        "network": f"conv(1->{CHANNELS}, 3x3)-ReLU-[dropout]-avgpool-affine(10)",
        "optimizer": "adam", "batch_size": BATCH, "epochs": s["epochs"],
        "grids": {arm: {k: v[s["grid"]] for k, v in g.items()}
                  for arm, (_, g) in ARMS.items()},
        "tune_seeds": list(s["tune_seeds"]),
        "selection": "lowest mean validation NLL of the split, last epoch"})
    out["splits"] = []
    values = {m: {a: [] for a in ARMS} for m in ("test_loss", "test_error", *_CORRELATIONS)}
    examples = {m: {a: [] for a in ARMS} for m in ("test_loss", "test_error")}
    for split in splits:
        data = digits_splits(seed=split)
        val = without_test(data)
        rec: dict[str, Any] = {"split_seed": split, "tuning": {}, "final": {}}
        for arm, settings in grids.items():

            def score(setting: dict, seed: int, arm: str = arm) -> float:
                net = train(arm, setting, val, seed, s["epochs"])
                return float(nn.per_example(net, val.X_val, val.y_val)[0].mean())

            chosen, rec["tuning"][arm] = nn.choose(
                settings, score, s["tune_seeds"], s["epochs"],
                lambda arm=arm: bar.tick(f"split {split} {arm} tuning"))
            per: dict[str, list] = {"test_loss": [], "test_error": []}
            corr: dict[str, list] = {k: [] for k in _CORRELATIONS}
            for seed in s["seeds"]:
                net = train(arm, chosen, data, seed, s["epochs"])
                loss_i, correct_i = nn.per_example(net, data.X_test, data.y_test)
                per["test_loss"].append(loss_i)
                per["test_error"].append(1.0 - correct_i)
                maps = net.forward(data.X_test, train=False, upto=2)[0]
                for k, v in feature_correlations(maps).items():
                    corr[k].append(v)
                bar.tick(f"split {split} {arm} seed {seed}")
            rec["final"][arm] = {
                **chosen, "shared_axes": ARMS[arm][0],
                **{m: [round(float(v.mean()), 6) for v in per[m]] for m in per},
                **{k: np.round(v, 6).tolist() for k, v in corr.items()}}
            for m in per:
                values[m][arm].append([float(v.mean()) for v in per[m]])
                examples[m][arm].append(np.array(per[m]))
            for k in corr:
                values[k][arm].append(corr[k])
        rec["pixel_neighbour"] = round(
            feature_correlations(images(data.X_test))["neighbour"], 6)
        out["splits"].append(rec)
    bar.close()
    comps: dict[str, Any] = {}
    for name, a, b in COMPARISONS:
        for m in ("test_loss", "test_error"):
            key = f"conv-{name}-{m.replace('_', '-')}"
            comps[key] = nn.pair(key, m, "lower", a, b, values[m], examples[m])
    # the premise: neighbours more correlated than channels, in |r|, no dropout
    v = {"cross_channel": values["cross_channel_abs"]["no_dropout"],
         "neighbour": values["neighbour_abs"]["no_dropout"]}
    comps["conv-neighbour-vs-channel-abs-r"] = nn.pair(
        "conv-neighbour-vs-channel-abs-r", "mean |r|", "higher",
        "cross_channel", "neighbour", v)
    out["comparisons"] = comps
    return out

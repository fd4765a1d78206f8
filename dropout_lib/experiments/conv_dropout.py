"""Chapter 5's element-wise against channel (spatial) dropout in a small conv net.

The network is conv(1 -> 16, 3x3) -> ReLU -> [dropout] -> 2x2 average pool ->
affine(16*4*4 -> 10) on the 8x8 digits (N x 1 x 8 x 8), trained with Adam.
Three arms: no dropout, element-wise dropout of the feature maps, and
channel dropout (one mask value per feature map, ``shared_axes=(2, 3)``;
Tompson et al. 2015). Each arm picks its learning rate (and ``p_drop``) on
validation with tuning seeds; the final seeds train each arm once and read
the test split once. Seed ``s`` gives every arm the same initial weights and
batch order, so differences pair up.

The study also measures why element-wise dropout is weak on feature maps:
on the test images (evaluation mode) the mean Pearson correlation of a unit
with its right and lower neighbours in the same map, against the mean
correlation of units of different maps at the same position.

Run from the command line (about three minutes; writes the book's results
file)::

    python -m dropout_lib.experiments.conv_dropout --full

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
from . import _cli
from . import _layers_net as nn
from .tuning import expand_grid, without_test

__all__ = ["ARMS", "CACHE_FILE", "FORMAT", "SCALES", "feature_correlations",
           "images", "load", "main", "network", "run_study", "train_and_score"]

#: Where the book keeps the full-size results, relative to the repository.
CACHE_FILE = Path("book") / "data" / "conv_dropout.json"
#: Version of the JSON layout.
FORMAT = 1

CHANNELS = 16
_LR = [1e-2, 2e-2]
#: name: (shared axes of the dropout mask or None for no dropout, tuning grid)
ARMS: dict[str, tuple[tuple[int, ...] | None, dict[str, list]]] = {
    "no_dropout": (None, {"lr": _LR}),
    "elementwise": ((), {"p_drop": [0.1, 0.3], "lr": _LR}),
    "channel": ((2, 3), {"p_drop": [0.1, 0.3], "lr": _LR}),
}
#: The paired comparisons the chapter states: (name, arm a, arm b) for b - a.
COMPARISONS = [("elementwise_minus_none", "no_dropout", "elementwise"),
               ("channel_minus_none", "no_dropout", "channel"),
               ("channel_minus_elementwise", "elementwise", "channel")]

_CORRELATIONS = ("neighbour", "neighbour_abs", "cross_channel", "cross_channel_abs")

#: "full" for the book, "small" (seconds) for the tests.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"tune_seeds": (100, 101), "seeds": tuple(range(10)), "epochs": 20,
             "grid": slice(None)},
    "small": {"tune_seeds": (100,), "seeds": (0, 1), "epochs": 1,
              "grid": slice(0, 1)},
}


def network(shared_axes: tuple[int, ...] | None, p_drop: float = 0.0) -> list[nn.Layer]:
    """The layers of one arm; ``shared_axes=None`` leaves dropout out."""
    drop = [] if shared_axes is None else [nn.dropout(p_drop, shared_axes)]
    return [nn.conv("1", 1, CHANNELS), nn.relu(), *drop, nn.avg_pool(),
            nn.flatten(), nn.affine("2", CHANNELS * 16, 10)]


def images(X: np.ndarray) -> np.ndarray:
    """Rows of 64 pixels as N x 1 x 8 x 8 images (a view; ``X`` is unchanged)."""
    return X.reshape(-1, 1, 8, 8)


def _mean_r(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over units of the correlation over images of standardised ``a`` and ``b``."""
    r = (a * b).mean(axis=0)
    return float(np.nanmean(r))


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


def train_and_score(arm: str, setting: dict[str, Any], data: Splits, seed: int,
                    epochs: int, *, split: str = "test") -> dict[str, float]:
    """Train one network of ``arm`` with ``setting`` (``lr``, ``p_drop``); score it on ``split``.

    Returns
    -------
    dict
        ``loss`` and ``acc`` on ``split``, and the :func:`feature_correlations`
        of the ReLU feature maps on ``split`` in evaluation mode.
    """
    layers = network(ARMS[arm][0], setting.get("p_drop", 0.0))
    params, states = nn.fit(layers, images(data.X_train), data.y_train,
                            epochs=epochs, lr=setting["lr"], seed=seed)
    X, y = data.get(split)
    maps = nn.forward(layers[:2], params, states, images(X), train=False)[0]
    return {**nn.evaluate(layers, params, states, images(X), y),
            **feature_correlations(maps)}


def run_study(scale: str = "small", *, progress: bool = False) -> dict[str, Any]:
    """Tune every arm on validation, then train and test each over the seeds.

    Returns
    -------
    dict
        JSON-ready: ``"tuning"`` (validation NLL of every setting and tuning
        seed), ``"final"`` (per-seed test numbers and correlations per arm),
        ``"differences"`` (paired 95% intervals of ``test_acc`` and
        ``test_loss``), ``"correlations"`` (intervals per arm, and
        neighbour minus cross-channel) and ``"pixel_neighbour"`` (the same
        neighbour correlation of the test images themselves).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    s = SCALES[scale]
    data = digits_splits(seed=0)
    val = without_test(data)
    grids = {arm: expand_grid({k: v[s["grid"]] for k, v in g.items()})
             for arm, (_, g) in ARMS.items()}
    n = sum(len(g) for g in grids.values()) * len(s["tune_seeds"])
    bar = progress_bar(n + len(ARMS) * len(s["seeds"]), "conv dropout", progress)
    out: dict[str, Any] = {
        "format": FORMAT, **_cli.provenance(), "scale": scale,
        "rerun": f"python -m dropout_lib.experiments.conv_dropout --{scale}",
        "epochs": s["epochs"], "batch_size": 64, "channels": CHANNELS,
        "tune_seeds": list(s["tune_seeds"]), "seeds": list(s["seeds"]),
        "tuning": {}, "final": {}}
    for arm, settings in grids.items():
        scores = []
        for setting in settings:
            scores.append([round(train_and_score(arm, setting, val, seed, s["epochs"],
                                                 split="val")["loss"], 6)
                           for seed in s["tune_seeds"]])
            bar.tick(f"{arm} tuning")
        mean = np.mean(scores, axis=1)
        best = int(np.argmin(mean))
        out["tuning"][arm] = {"settings": settings, "val_loss": scores,
                              "mean_val_loss": mean.round(6).tolist(), "chosen": best}
        rows = []
        for seed in s["seeds"]:
            rows.append(train_and_score(arm, settings[best], data, seed, s["epochs"]))
            bar.tick(f"{arm} seed {seed}")
        out["final"][arm] = {**settings[best], "shared_axes": ARMS[arm][0],
                             "test_loss": [round(r["loss"], 6) for r in rows],
                             "test_acc": [round(r["acc"], 6) for r in rows],
                             **{k: [round(r[k], 6) for r in rows]
                                for k in _CORRELATIONS}}
    bar.close()
    final = out["final"]
    out["differences"] = {name: {m: nn.paired_record(final[a][m], final[b][m])
                                 for m in ("test_acc", "test_loss")}
                          for name, a, b in COMPARISONS}
    out["correlations"] = {
        arm: {**{k: nn.interval_record(f[k]) for k in _CORRELATIONS},
              "neighbour_minus_cross_channel": nn.paired_record(f["cross_channel"], f["neighbour"])}
        for arm, f in final.items()}
    out["pixel_neighbour"] = round(
        feature_correlations(images(data.X_test))["neighbour"], 6)
    return out


def load(path: str | Path) -> dict[str, Any]:
    """Read a results file written by :func:`main`; checks its format."""
    return _cli.load(path, FORMAT, "python -m dropout_lib.experiments.conv_dropout --full")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the study and write it as JSON."""
    return _cli.main(argv, prog="python -m dropout_lib.experiments.conv_dropout",
                     description="Element-wise against channel dropout in a small "
                                 "conv net on the 8x8 digits, each tuned on validation.",
                     cache_file=CACHE_FILE, run_study=run_study)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

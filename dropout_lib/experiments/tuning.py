"""Choosing settings on the validation split: a small grid per arm.

:func:`tune` trains every setting of a grid on data *without* its test split,
so a choice cannot read the test set even by accident, and picks the
setting with the best mean validation metric over a few seeds.

See Also
--------
book/03_co_adaptation.ipynb : each arm tuned on its own grid.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_bool, check_choice
from .._progress import progress_bar
from ..data import Splits
from .core import Config, _check_seeds, run

__all__ = ["BOUNDS", "Tuned", "expand_grid", "tune", "without_test"]


@dataclass(frozen=True)
class Tuned:
    """The outcome of :func:`tune`.

    Attributes
    ----------
    config : Config
        The chosen setting.
    settings : list of dict
        Every setting tried, in order.
    scores : ndarray, shape (n_settings, n_seeds)
        The validation metric of every run.
    metric : str
    seeds : list of int
    best : int
        Index of the chosen setting (a diverged setting is never chosen).
    epochs_trained : int
        Epochs run over the whole grid: the cost of the tuning.
    """

    config: Config
    settings: list[dict[str, Any]]
    scores: np.ndarray
    metric: str
    seeds: list[int]
    best: int
    epochs_trained: int

    def edges(self) -> dict[str, dict[str, Any]]:
        """Per tuned field: the chosen value, and whether it is on an edge.

        The grid *through* the choice along a field is the settings that
        agree with the chosen one on every other field. The choice is on
        an edge when it is the smallest or largest number of that line and
        the line holds more than one number (``None`` and strings are not
        numbers: ``max_norm=None`` or the optimizer are never an edge). A
        choice at a natural bound of :data:`BOUNDS` (L2 of 0) is
        ``at_bound`` instead: there is nothing beyond it to try.
        """
        chosen = self.settings[self.best]
        out = {}
        for key, value in chosen.items():
            line = [s[key] for s in self.settings
                    if s.keys() == chosen.keys() and all(
                        s[k] == chosen[k] for k in chosen if k != key)]
            nums = sorted({v for v in line if _is_number(v)})
            edge = (_is_number(value) and len(nums) > 1
                    and value in (nums[0], nums[-1]))
            lo, hi = BOUNDS.get(key, (None, None))
            at_bound = bool(edge) and (value == lo or value == hi)
            out[key] = {"chosen": value, "values": nums,
                        "on_edge": bool(edge) and not at_bound,
                        "at_bound": at_bound}
        return out

    def record(self) -> dict[str, Any]:
        """JSON-ready: the settings, every score, their means, the choice
        and whether each chosen value lies on its grid's edge."""
        return {"settings": self.settings,
                self.metric: self.scores.round(6).tolist(),
                f"mean_{self.metric}": self.scores.mean(axis=1).round(6).tolist(),
                "chosen": self.best, "edges": self.edges(),
                "seeds": self.seeds, "epochs_trained": self.epochs_trained}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def expand_grid(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping]
                ) -> list[dict[str, Any]]:
    """Every combination of a ``{field: values}`` grid, or a list of dicts.

    A list of grids is expanded one by one and concatenated, for grids
    that are not full products (e.g. SGD settings beside Adam settings).
    """
    if isinstance(grid, Mapping):
        keys = list(grid)
        for k in keys:
            if isinstance(grid[k], (str, bytes)) or not isinstance(
                    grid[k], Sequence) or not grid[k]:
                raise ValueError(f"grid[{k!r}] must be a non-empty list of "
                                 "values")
        return [dict(zip(keys, combo, strict=True))
                for combo in itertools.product(*(grid[k] for k in keys))]
    if isinstance(grid, Sequence) and grid:
        return [s for g in grid for s in expand_grid(g)]
    raise TypeError("grid must be a dict {field: values} or a non-empty list "
                    "of such dicts")


def without_test(data: Splits) -> Splits:
    """The same training and validation arrays, with no test split."""
    if not isinstance(data, Splits) or data.X_val is None:
        raise ValueError("data must be a Splits with a validation split")
    return Splits(data.X_train, data.y_train, data.X_val, data.y_val,
                  n_classes=data.n_classes)


#: Natural bounds of the fields :func:`tune` may extend a grid along: a
#: choice on an edge gets the next value beyond it (a geometric step, or an
#: arithmetic one for drop probabilities) until it is interior or the next
#: value would leave these bounds (``0`` for L2 is such a bound: no penalty).
BOUNDS: dict[str, tuple[float, float]] = {
    "lr": (0.0, np.inf), "l2": (0.0, np.inf), "max_norm": (0.0, np.inf),
    "p_drop_hidden": (0.0, 1.0), "p_drop_input": (0.0, 1.0),
    "p_drop": (0.0, 1.0)}


def _beyond(values: list[float], key: str, upward: bool) -> float | None:
    """The next grid value past the smallest or largest, inside BOUNDS."""
    lo, hi = BOUNDS[key]
    v = sorted(values)
    a, b = (v[-2], v[-1]) if upward else (v[1], v[0])
    if key.startswith("p_drop") or a <= 0 or b <= 0:
        nxt = b + (b - a)                      # arithmetic step
    else:
        nxt = b * (b / a)                      # geometric step
    if not lo < nxt < hi:                      # halfway to the bound
        nxt = (b + (hi if upward else lo)) / 2
    nxt = float(f"{nxt:.6g}")
    return nxt if lo < nxt < hi and nxt not in v else None


def tune(config: Config, data: Splits, grid: Any, *, seeds: Sequence[int],
         metric: str = "val_loss", progress: bool = False,
         score: Callable[[Config, Splits, int], tuple[float, int]] | None = None,
         extend: bool = False, max_rounds: int = 4) -> Tuned:
    """Train every setting of ``grid`` over ``seeds``; keep the best on validation.

    Parameters
    ----------
    config : Config
        The base configuration; each setting replaces some of its fields.
    data : Splits
        Needs a validation split; its test split is dropped before training.
    grid : dict or list of dict
        See :func:`expand_grid`, e.g. ``{"lr": [1e-3, 3e-3], "l2": [0, 1e-3]}``.
    seeds : sequence of int
        Tuning seeds; use other seeds for the final, reported runs.
    metric : {"val_loss", "val_acc"}, default "val_loss"
    progress : bool, default False
        Progress bar on stderr.
    score : callable, optional
        ``score(config, data, seed) -> (value, epochs)``: the validation
        metric of one setting and seed, and the epochs it trained, for data
        without a test split (e.g. an ensemble's). Default: one network
        trained by :func:`~dropout_lib.experiments.run`.
    extend : bool, default False
        While the choice lies on the edge of a field of :data:`BOUNDS`
        (see :meth:`Tuned.edges`), add the next value beyond it to that
        field of the choice's (sub-)grid and train the grown grid's new
        settings (the full product, so every other field is tried beside
        the new value), for at most ``max_rounds`` rounds: the choice ends
        inside the grid, or at a natural bound, or the record says it is
        still on an edge.

    Returns
    -------
    Tuned
    """
    check_choice(metric, "metric", ("val_loss", "val_acc"))
    seeds = _check_seeds(seeds)
    check_bool(extend, "extend")
    grids = [dict(grid)] if isinstance(grid, Mapping) else [dict(g) for g in grid]
    settings: list[dict[str, Any]] = []
    origin: list[int] = []                     # the sub-grid of each setting
    for k, g in enumerate(grids):
        for st in expand_grid(g):
            settings.append(st)
            origin.append(k)
    [config.replace(**st) for st in settings]  # validates them all
    val = without_test(data)
    if score is None:
        score = functools.partial(_one_network, metric=metric)
    bar = progress_bar(len(settings) * len(seeds), "tuning",
                       check_bool(progress, "progress"))
    rows: list[np.ndarray] = []
    epochs = 0
    sign = 1.0 if metric == "val_loss" else -1.0
    for _ in range(max_rounds + 1):
        for st in settings[len(rows):]:
            row = np.empty(len(seeds))
            for j, seed in enumerate(seeds):
                row[j], n_epochs = score(config.replace(**st), val, seed)
                epochs += n_epochs
                bar.tick(f"setting {len(rows) + 1}/{len(settings)} {metric} "
                         f"{row[j]:.4f}")
            rows.append(row)
        scores = np.array(rows)
        mean = sign * scores.mean(axis=1)
        best = int(np.argmin(np.where(np.isfinite(mean), mean, np.inf)))
        tuned = Tuned(config.replace(**settings[best]), list(settings),
                      scores, metric, seeds, best, epochs)
        if not extend:
            break
        g = grids[origin[best]]
        grew = False
        for key, e in tuned.edges().items():
            if e["on_edge"] and key in BOUNDS and key in g:
                nxt = _beyond(list(g[key]), key,
                              e["chosen"] == max(g[key]))
                if nxt is not None:
                    g[key] = sorted([*g[key], nxt])
                    grew = True
        if not grew:
            break
        # the whole product of the grown sub-grid: every other field is
        # tried at every one of its values beside the new one
        for st in expand_grid(g):
            if st not in settings:
                settings.append(st)
                origin.append(origin[best])
        if hasattr(bar, "bar"):
            bar.bar.total = len(settings) * len(seeds)
    bar.close()
    return tuned


def _one_network(config: Config, data: Splits, seed: int, *,
                 metric: str) -> tuple[float, int]:
    hist = run(config, data, seed)[1]
    return hist.final[metric], hist.epochs[-1]

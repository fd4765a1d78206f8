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

__all__ = ["Tuned", "expand_grid", "tune", "without_test"]


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
        numbers: ``max_norm=None`` or the optimizer are never an edge).
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
            out[key] = {"chosen": value, "values": nums,
                        "on_edge": bool(edge)}
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


def tune(config: Config, data: Splits, grid: Any, *, seeds: Sequence[int],
         metric: str = "val_loss", progress: bool = False,
         score: Callable[[Config, Splits, int], tuple[float, int]] | None = None,
         ) -> Tuned:
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

    Returns
    -------
    Tuned
    """
    check_choice(metric, "metric", ("val_loss", "val_acc"))
    seeds = _check_seeds(seeds)
    settings = expand_grid(grid)
    configs = [config.replace(**s) for s in settings]  # validates them all
    val = without_test(data)
    scores = np.empty((len(configs), len(seeds)))
    epochs = 0
    bar = progress_bar(scores.size, "tuning", check_bool(progress, "progress"))
    if score is None:
        score = functools.partial(_one_network, metric=metric)
    for i, cfg in enumerate(configs):
        for j, seed in enumerate(seeds):
            scores[i, j], n_epochs = score(cfg, val, seed)
            epochs += n_epochs
            bar.tick(f"setting {i + 1}/{len(configs)} {metric} "
                     f"{scores[i, j]:.4f}")
    bar.close()
    sign = 1.0 if metric == "val_loss" else -1.0
    mean = sign * scores.mean(axis=1)
    best = int(np.argmin(np.where(np.isfinite(mean), mean, np.inf)))
    return Tuned(configs[best], settings, scores, metric, seeds, best, epochs)


def _one_network(config: Config, data: Splits, seed: int, *,
                 metric: str) -> tuple[float, int]:
    hist = run(config, data, seed)[1]
    return hist.final[metric], hist.epochs[-1]

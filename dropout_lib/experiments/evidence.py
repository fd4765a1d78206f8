"""Evidence that survives resampling, and verdicts computed from it.

A *comparison* is what a verdict rests on: arm ``b`` against arm ``a``
(say dropout against the tuned plain network) on one data set, measured
on several data splits and, within each split, over several paired
training seeds. :func:`comparison` stores it as JSON-ready data;
:func:`interval` gives a 95% interval that includes split-to-split,
seed and test-set noise; :func:`verdict` turns one or more comparisons
(the same claim on several data sets) into one of four labels by the
rule below, which CONTRIBUTING.md states for readers of the book.

The rule
--------
Let ``I`` be the 95% t interval over the split means of ``b - a``
(``df = n_splits - 1``). Each split has its own training, validation
and test partition, so ``I`` carries split-to-split, seed and test-set
noise. For a directional claim (``better`` is ``"lower"`` or
``"higher"``):

- **holds**: ``I`` excludes zero on the side the claim predicts;
- **does not hold**: ``I`` excludes zero on the other side;
- **within noise**: ``I`` covers zero.

For a claim of *no difference* (``better="equal"`` with a ``margin``):
**holds** when ``I`` lies inside ``[-margin, margin]``, **does not
hold** when ``I`` excludes zero and its mean lies outside the margin,
**within noise** otherwise (the data cannot tell).

Several data sets (the same claim on each): the same label on all of
them gives that label; **holds** on some and **within noise** on the
others gives **holds with a caveat**, and the reason names the data set
where it did not hold; any other mix (support on one data set, contrary
evidence on another) gives **within noise**. Each label is a two-sided
95% decision per data set, so with no true effect a data set says
"holds" about 2.5% of the time.

The per-split intervals (:func:`split_intervals`, a bootstrap over each
split's test examples) are reported beside the verdict, as the size of
test-set noise; they do not enter the label.

See Also
--------
CONTRIBUTING.md : "Experiments a referee would accept".
book/claims.md : the verdicts, computed from these records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_choice, check_scalar
from .stats import Interval, bootstrap_ci, t_interval

__all__ = ["LABELS", "Verdict", "comparison", "interval", "split_intervals",
           "verdict"]

#: The four verdicts, strongest support first.
LABELS = ("holds", "holds with a caveat", "within noise", "does not hold")
_DIRECTIONS = ("lower", "higher", "equal")
#: Seed of the bootstrap over test examples (fixed: a verdict is a
#: function of the saved evidence alone).
_BOOT_SEED = 20140101
_N_BOOT = 2000


def _matrix(effects: Any) -> np.ndarray:
    e = np.asarray(effects, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] < 2 or e.shape[1] < 1:
        raise ValueError("effects must have shape (n_splits, n_seeds) with "
                         f"at least 2 splits; got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("effects must be finite")
    return e


def comparison(name: str, metric: str, better: str, effects: Any, *,
               per_example: Sequence[Any] | None = None,
               dataset: str = "digits", a: str = "plain",
               b: str = "dropout", margin: float | None = None,
               decimals: int = 6) -> dict[str, Any]:
    """A JSON-ready record of one comparison: ``metric(b) - metric(a)``.

    Parameters
    ----------
    name : str
        Unique within its study, e.g. ``"tuned-test-loss-digits"``.
    metric : str
        E.g. ``"test_loss"``, ``"test_error"``.
    better : {"lower", "higher", "equal"}
        The direction of ``b - a`` that supports the claim; ``"equal"``
        for a claim of no difference (needs ``margin``).
    effects : array_like, shape (n_splits, n_seeds)
        Paired differences, one per data split and training seed.
    per_example : sequence of array_like, optional
        Per split, the per-test-example differences averaged over seeds
        (shape (n_test,)), for the bootstrap over test examples.
    dataset, a, b : str
        What was compared, on what.
    margin : float, optional
        For ``better="equal"``: the largest difference that counts as none.

    Returns
    -------
    dict
    """
    check_choice(better, "better", _DIRECTIONS)
    if better == "equal":
        if margin is None:
            raise ValueError("better='equal' needs a margin")
        margin = check_scalar(margin, "margin", low=0.0)
    e = _matrix(effects)
    rec: dict[str, Any] = {
        "name": str(name), "metric": str(metric), "better": better,
        "dataset": str(dataset), "a": str(a), "b": str(b),
        "effects": np.round(e, decimals).tolist()}
    if margin is not None:
        rec["margin"] = float(margin)
    if per_example is not None:
        if len(per_example) != e.shape[0]:
            raise ValueError("per_example must hold one array per split: "
                             f"{len(per_example)} for {e.shape[0]} splits")
        rec["per_example"] = [
            np.round(np.asarray(p, dtype=np.float64).ravel(),
                     decimals).tolist() for p in per_example]
    return rec


def _check_record(record: Any) -> Mapping[str, Any]:
    if not isinstance(record, Mapping) or "effects" not in record:
        raise TypeError("record must be a dict made by comparison(); got "
                        f"{type(record).__name__}")
    return record


def interval(record: Mapping[str, Any]) -> Interval:
    """95% t interval over the split means of the paired differences."""
    e = _matrix(_check_record(record)["effects"])
    return t_interval(e.mean(axis=1))


def split_intervals(record: Mapping[str, Any]) -> list[Interval]:
    """One 95% interval per split.

    A bootstrap over the split's test examples when the record has
    ``per_example`` (the test-set sampling check), else a t interval over
    its seeds (a single seed gives a zero-width interval at its value).
    """
    rec = _check_record(record)
    e = _matrix(rec["effects"])
    out = []
    if "per_example" in rec:
        rng = np.random.default_rng(_BOOT_SEED)
        for p in rec["per_example"]:
            out.append(bootstrap_ci(p, rng=rng, n_boot=_N_BOOT))
    else:
        for row in e:
            out.append(t_interval(row) if row.size >= 2 else
                       Interval(float(row[0]), float(row[0]),
                                float(row[0]), 1))
    return out


@dataclass(frozen=True)
class Verdict:
    """A label from :data:`LABELS` and the reason, with its intervals."""

    label: str
    reason: str

    def __str__(self) -> str:
        return self.label


def _one(rec: Mapping[str, Any], decimals: int) -> tuple[str, str]:
    ci = interval(rec)
    where = (f"{rec['dataset']}: {rec['metric']} {rec['b']} - {rec['a']} "
             f"{ci.format(decimals)} over {ci.n} splits")
    if rec["better"] == "equal":
        m = rec["margin"]
        if -m <= ci.low and ci.high <= m:
            return "holds", where + f", inside +-{m}"
        if not ci.covers_zero and abs(ci.mean) > m:
            return "does not hold", where + f", beyond +-{m}"
        return "within noise", where
    sign = -1.0 if rec["better"] == "lower" else 1.0
    if not ci.covers_zero:
        return ("holds" if sign * ci.mean > 0 else "does not hold"), where
    return "within noise", where


def verdict(*records: Mapping[str, Any], decimals: int = 3) -> Verdict:
    """The verdict of one claim from its comparisons (one per data set).

    See the module docstring for the rule.
    """
    if not records:
        raise ValueError("verdict needs at least one comparison record")
    parts = [_one(_check_record(r), decimals) for r in records]
    labels = [p[0] for p in parts]
    reason = "; ".join(f"{lab} ({why})" for lab, why in parts)
    if len(set(labels)) == 1:
        return Verdict(labels[0], reason)
    if set(labels) == {"holds", "within noise"}:
        return Verdict("holds with a caveat", reason)
    return Verdict("within noise", "the data sets disagree: " + reason)

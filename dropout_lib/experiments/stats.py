"""Confidence intervals for the book's comparisons: paired over seeds, bootstrap,
and Wilson's interval for a proportion.

A comparison of two arms that share seeds (same initial weights, batches and
data) is *paired*: the interval is taken over the per-seed differences, which
removes the seed-to-seed spread that both arms share.

See Also
--------
book/03_co_adaptation.ipynb : the tuned comparison of dropout with a plain
    network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_int, check_rng

__all__ = ["T_975", "Interval", "bootstrap_ci", "paired_ci", "t_interval",
           "wilson_interval"]

#: Two-sided 95% quantiles t_{0.975, df} of Student's t for df = 1..30
#: (e.g. NIST/SEMATECH e-Handbook, table 1.4.3.2). Beyond, two terms of the
#: Cornish-Fisher expansion around the normal quantile z, within 0.001.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
         2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101,
         2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052,
         2.048, 2.045, 2.042)
_Z = 1.959964  # the normal 97.5% quantile


@dataclass(frozen=True)
class Interval:
    """A mean with a 95% confidence interval ``[low, high]`` from ``n`` values."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def covers_zero(self) -> bool:
        """True when zero is inside the interval: the effect is within noise."""
        return self.low <= 0.0 <= self.high

    def format(self, decimals: int = 3) -> str:
        """``"-0.024 [-0.031, -0.017]"``."""
        f = f"{{:+.{decimals}f}}"
        return (f"{f.format(self.mean)} [{f.format(self.low)}, "
                f"{f.format(self.high)}]")

    def __str__(self) -> str:
        return self.format()


def _values(values: Any, name: str, least: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < least or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must hold at least {least} finite numbers; "
                         f"got {v.size}")
    return v


def t_interval(values: Any) -> Interval:
    r"""Student-t 95% interval for the mean: :math:`\bar v \pm t\,s/\sqrt n`.

    Parameters
    ----------
    values : array_like, shape (n,), n >= 2
    """
    v = _values(values, "values", 2)
    n = v.size
    df = n - 1
    t = T_975[df - 1] if df <= len(T_975) else (
        _Z + (_Z**3 + _Z) / (4 * df)
        + (5 * _Z**5 + 16 * _Z**3 + 3 * _Z) / (96 * df**2))
    half = t * v.std(ddof=1) / np.sqrt(n)
    m = float(v.mean())
    return Interval(m, m - half, m + half, n)


def paired_ci(a: Any, b: Any) -> Interval:
    """95% interval for the mean of ``b - a`` over paired seeds.

    Parameters
    ----------
    a, b : array_like, shape (n_seeds,)
        One value per seed for each arm; entry ``i`` of both comes from seed
        ``i``.
    """
    a = _values(a, "a", 2)
    b = _values(b, "b", 2)
    if a.shape != b.shape:
        raise ValueError(f"a and b must pair up seed by seed; got {a.size} "
                         f"and {b.size} values")
    return t_interval(b - a)


def wilson_interval(k: int, n: int) -> Interval:
    r"""Wilson's 95% score interval for a proportion ``k / n``.

    Unlike :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}` it stays inside
    [0, 1] and is not empty when ``k`` is 0 or ``n`` (Wilson 1927; Agresti
    and Coull 1998).

    Parameters
    ----------
    k : int
        Successes, ``0 <= k <= n``.
    n : int
        Trials, ``n >= 1``.

    Returns
    -------
    Interval
        ``mean`` is :math:`\hat p = k/n`; ``low``, ``high`` are
        :math:`\frac{\hat p + z^2/2n \mp z\sqrt{\hat p(1-\hat p)/n
        + z^2/4n^2}}{1 + z^2/n}` with :math:`z = 1.96`.
    """
    n = check_int(n, "n", 1)
    k = check_int(k, "k", 0, n)
    p = k / n
    z2 = _Z * _Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # at k = 0 (k = n) the bound is exactly 0 (1); rounding would miss it
    low = 0.0 if k == 0 else float(max(0.0, centre - half))
    high = 1.0 if k == n else float(min(1.0, centre + half))
    return Interval(p, low, high, n)


def bootstrap_ci(per_item: Any, *, rng: np.random.Generator,
                 n_boot: int = 2000) -> Interval:
    """Percentile-bootstrap 95% interval for the mean over test items.

    Resampling the test images shows how much a number would move on another
    test set of the same size.

    Parameters
    ----------
    per_item : array_like, shape (N,)
        One value per test image, e.g. the paired difference in loss.
    rng : numpy.random.Generator
    n_boot : int, default 2000
    """
    v = _values(per_item, "per_item", 2)
    check_rng(rng)
    n_boot = check_int(n_boot, "n_boot", 100)
    means = np.empty(n_boot)
    for k in range(n_boot):
        means[k] = v[rng.integers(0, v.size, v.size)].mean()
    low, high = np.quantile(means, [0.025, 0.975])
    return Interval(float(v.mean()), float(low), float(high), v.size)

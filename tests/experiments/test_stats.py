"""Tests of dropout_lib.experiments.stats: t intervals, paired and bootstrap CIs."""

import numpy as np
import pytest

from dropout_lib.experiments import stats


def test_t_table_decreases_to_the_normal_quantile():
    t = np.array(stats.T_975)
    assert np.all(np.diff(t) < 0) and 2.0 < t[-1] < 2.05
    assert t[0] == 12.706 and t[4] == 2.571  # df 1 and df 5
    # Beyond the table, the approximation continues it: t(31) = 2.0395 and
    # t(61) = 1.9996 (exact values to four decimals).
    half = [stats.t_interval(np.array([0.0, 1.0] * (n // 2))).high - 0.5
            for n in (32, 62)]
    sd = [np.std([0.0, 1.0] * (n // 2), ddof=1) for n in (32, 62)]
    t31, t61 = (h * np.sqrt(n) / s for h, n, s in zip(half, (32, 62), sd))
    assert t31 == pytest.approx(2.0395, abs=0.001)
    assert t61 == pytest.approx(1.9996, abs=0.001)
    assert t[-1] > t31 > t61 > 1.96


@pytest.mark.parametrize("n", [5, 10])
def test_t_interval_covers_the_mean_95_percent_of_the_time(n):
    rng = np.random.default_rng(n)
    covered = 0
    trials = 4000
    for _ in range(trials):
        iv = stats.t_interval(rng.normal(1.0, 2.0, n))
        covered += iv.low <= 1.0 <= iv.high
    # 95% +- 4 binomial standard errors (0.34 points at 4000 trials)
    assert abs(covered / trials - 0.95) < 4 * np.sqrt(0.95 * 0.05 / trials)


def test_paired_ci_uses_the_differences():
    a = np.array([0.20, 0.30, 0.25, 0.40, 0.35])
    b = a - np.array([0.01, 0.02, 0.015, 0.012, 0.018])
    iv = stats.paired_ci(a, b)
    d = b - a
    half = 2.776 * d.std(ddof=1) / np.sqrt(5)
    assert iv.mean == pytest.approx(d.mean())
    assert (iv.low, iv.high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert not iv.covers_zero and iv.n == 5
    # Unpaired, the shared seed-to-seed spread would hide the effect.
    assert stats.t_interval(a).high > stats.t_interval(b).low
    assert str(iv).startswith("-0.015 [")
    with pytest.raises(ValueError, match="pair up"):
        stats.paired_ci(a, b[:4])
    with pytest.raises(ValueError, match="at least 2"):
        stats.paired_ci(a[:1], b[:1])


def test_bootstrap_ci_is_deterministic_and_brackets_the_mean():
    v = np.random.default_rng(3).normal(0.1, 1.0, 300)
    a = stats.bootstrap_ci(v, rng=np.random.default_rng(4))
    b = stats.bootstrap_ci(v, rng=np.random.default_rng(4))
    assert a == b and a.low < v.mean() < a.high
    se = v.std(ddof=1) / np.sqrt(v.size)
    assert a.high - a.low == pytest.approx(2 * 1.96 * se, rel=0.15)
    with pytest.raises(TypeError, match="rng"):
        stats.bootstrap_ci(v, rng=4)

"""Tests of dropout_lib.analysis.calibration: NLL, ECE, reliability, temperature."""

import numpy as np
import pytest

from dropout_lib.analysis import calibration as cal
from dropout_lib.losses import softmax


def _sample(rng, n=4000, k=5, scale=3.0):
    """Scores and labels drawn from softmax(scores): calibrated by construction."""
    scores = scale * rng.standard_normal((n, k))
    proba = softmax(scores)
    u = rng.random((n, 1))
    y = (u > np.cumsum(proba, axis=1)).sum(axis=1).astype(np.int64)
    return scores, np.minimum(y, k - 1)


def test_nll_matches_the_definition():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    y = np.array([0, 1])
    assert cal.nll(p, y) == pytest.approx(-(np.log(0.7) + np.log(0.1)) / 2)


def test_reliability_bins_by_top_probability():
    p = np.array([[0.95, 0.05], [0.55, 0.45], [0.58, 0.42], [0.15, 0.85]])
    y = np.array([0, 1, 0, 1])
    r = cal.reliability(p, y, n_bins=10)
    assert r["count"].sum() == 4 and r["count"][5] == 2 and r["count"][8] == 1
    assert r["accuracy"][5] == 0.5 and r["confidence"][5] == pytest.approx(0.565)
    assert np.isnan(r["accuracy"][0])
    ece = (2 * abs(0.5 - 0.565) + abs(1 - 0.85) + abs(1 - 0.95)) / 4
    assert cal.expected_calibration_error(p, y, n_bins=10) == pytest.approx(ece)


def test_ece_is_small_for_calibrated_and_large_for_overconfident():
    scores, y = _sample(np.random.default_rng(0))
    calibrated = cal.expected_calibration_error(softmax(scores), y)
    sharp = cal.expected_calibration_error(softmax(4 * scores), y)
    assert calibrated < 0.03 < 0.1 < sharp


@pytest.mark.parametrize("true_t", [0.5, 1.0, 3.0])
def test_fit_temperature_recovers_the_temperature(true_t):
    scores, y = _sample(np.random.default_rng(1), n=20000)
    t = cal.fit_temperature(scores * true_t, y)
    assert t == pytest.approx(true_t, rel=0.05)
    grid = [cal.nll(softmax(scores * true_t / s), y) for s in (0.9 * t, 1.1 * t)]
    assert cal.nll(softmax(scores * true_t / t), y) <= min(grid)


def test_inputs_are_not_modified_and_bad_input_is_rejected():
    scores, y = _sample(np.random.default_rng(2), n=50)
    before = scores.copy()
    cal.fit_temperature(scores, y)
    np.testing.assert_array_equal(scores, before)
    with pytest.raises(ValueError, match="proba"):
        cal.nll(np.ones((3, 2)), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="y must be int labels"):
        cal.nll(softmax(scores), y.astype(float))
    with pytest.raises(ValueError, match="y must lie"):
        cal.nll(softmax(scores), y + 10)
    with pytest.raises(ValueError, match="scores"):
        cal.fit_temperature(scores[0], y[:1])
    with pytest.raises(TypeError, match="n_bins"):
        cal.reliability(softmax(scores), y, n_bins=2.5)


def test_nll_per_example_is_each_images_loss_and_averages_to_nll():
    P = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])
    y = np.array([0, 1, 1])
    per = cal.nll_per_example(P, y)
    np.testing.assert_allclose(per, -np.log([0.5, 0.1, 0.8]))
    assert cal.nll(P, y) == pytest.approx(per.mean())
    with pytest.raises(ValueError, match="y must"):
        cal.nll_per_example(P, np.array([0, 2, 1]))

"""Verdicts follow the stated rule, from the saved evidence alone."""

import json

import numpy as np
import pytest

from dropout_lib.experiments import evidence
from dropout_lib.experiments.stats import t_interval


def _effects(split_means, n_seeds=5, spread=0.001, seed=0):
    rng = np.random.default_rng(seed)
    m = np.asarray(split_means, dtype=float)[:, None]
    noise = rng.normal(0.0, spread, (m.shape[0], n_seeds))
    return m + noise - noise.mean(axis=1, keepdims=True)


def _rec(split_means, better="lower", **kw):
    return evidence.comparison("c", "test_loss", better,
                               _effects(split_means), **kw)


def test_interval_is_t_over_split_means():
    e = _effects([-0.04, -0.01, -0.02], spread=0.01)
    rec = evidence.comparison("c", "test_loss", "lower", e)
    ci = evidence.interval(rec)
    ref = t_interval(np.round(e, 6).mean(axis=1))
    assert ci.n == 3
    assert ci.low == pytest.approx(ref.low) and ci.high == pytest.approx(ref.high)


@pytest.mark.parametrize("means, better, label", [
    ([-0.04, -0.041, -0.039], "lower", "holds"),
    ([0.04, 0.041, 0.039], "lower", "does not hold"),
    ([0.04, 0.041, 0.039], "higher", "holds"),
    ([-0.04, 0.041, -0.001], "lower", "within noise"),
])
def test_directional_labels(means, better, label):
    assert evidence.verdict(_rec(means, better)).label == label


def test_caveat_needs_same_side_and_one_clear_split():
    # every split below zero, but too spread for the t interval over 3 splits
    means = [-0.003, -0.1, -0.002]
    few = _rec(means)
    assert evidence.interval(few).covers_zero
    # without test examples each split's interval is over its seeds
    assert evidence.verdict(few).label == "holds with a caveat"
    spread = evidence.comparison("c", "test_loss", "lower",
                                 _effects(means, spread=0.5))
    assert evidence.verdict(spread).label == "within noise"
    clear = [np.full(300, -0.1) + np.linspace(-0.01, 0.01, 300)] * 3
    noisy = [np.linspace(-1.0, 1.0, 300) - 0.003] * 3
    rec = _rec(means, per_example=[noisy[0], clear[1], noisy[2]])
    v = evidence.verdict(rec)
    assert v.label == "holds with a caveat"
    assert "1 of them clearly" in v.reason
    mixed = _rec([-0.003, -0.1, 0.002],
                 per_example=[noisy[0], clear[1], noisy[2]])
    assert evidence.verdict(mixed).label == "within noise"


def test_equal_claims_need_a_margin_and_use_it():
    with pytest.raises(ValueError, match="margin"):
        evidence.comparison("c", "m", "equal", _effects([0, 0, 0]))
    tight = _rec([0.001, -0.001, 0.0], "equal", margin=0.01)
    assert evidence.verdict(tight).label == "holds"
    far = _rec([0.05, 0.051, 0.049], "equal", margin=0.01)
    assert evidence.verdict(far).label == "does not hold"
    wide = _rec([0.02, -0.02, 0.0], "equal", margin=0.01)
    assert evidence.verdict(wide).label == "within noise"


def test_two_data_sets():
    holds = _rec([-0.04, -0.041, -0.039], dataset="digits")
    noise = _rec([-0.04, 0.041, -0.001], dataset="mnist")
    against = _rec([0.04, 0.041, 0.039], dataset="mnist")
    v = evidence.verdict(holds, noise)
    assert v.label == "holds with a caveat"
    assert "digits" in v.reason and "mnist" in v.reason
    assert evidence.verdict(holds, against).label == "within noise"
    assert evidence.verdict(holds, holds).label == "holds"
    assert evidence.verdict(noise, against).label == "within noise"


def test_records_round_trip_through_json():
    rec = _rec([-0.04, -0.041, -0.039], per_example=[np.zeros(5)] * 3)
    back = json.loads(json.dumps(rec))
    assert evidence.verdict(back) == evidence.verdict(rec)


@pytest.mark.parametrize("effects", [[1.0, 2.0], [[1.0, 2.0]],
                                     [[1.0, np.nan], [1.0, 2.0]]])
def test_bad_effects(effects):
    with pytest.raises(ValueError, match="effects"):
        evidence.comparison("c", "m", "lower", effects)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="better"):
        evidence.comparison("c", "m", "smaller", _effects([0, 0]))
    with pytest.raises(ValueError, match="per_example"):
        evidence.comparison("c", "m", "lower", _effects([0, 0]),
                            per_example=[np.zeros(3)])
    with pytest.raises(TypeError, match="record"):
        evidence.interval([1, 2])
    with pytest.raises(ValueError, match="at least one"):
        evidence.verdict()


def test_inputs_not_mutated():
    e = _effects([-0.04, -0.041, -0.039])
    before = e.copy()
    evidence.comparison("c", "m", "lower", e)
    np.testing.assert_array_equal(e, before)

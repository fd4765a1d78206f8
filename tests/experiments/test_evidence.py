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


def test_the_label_comes_from_the_interval_over_splits_alone():
    # every split below zero and one clear on its own test images, but the
    # interval over splits covers zero: within noise, whatever the bootstrap
    means = [-0.003, -0.1, -0.002]
    clear = np.full(300, -0.1) + np.linspace(-0.01, 0.01, 300)
    noisy = np.linspace(-1.0, 1.0, 300) - 0.003
    rec = _rec(means, per_example=[noisy, clear, noisy])
    assert evidence.interval(rec).covers_zero
    assert evidence.verdict(rec).label == "within noise"
    inside = evidence.split_intervals(rec)
    assert [s.covers_zero for s in inside] == [True, False, True]


def test_no_effect_is_called_an_effect_at_about_the_nominal_rate():
    """With no true effect, split-to-split spread twice the seed spread."""
    rng = np.random.default_rng(7)
    n, hits, caveats = 2000, 0, 0
    for _ in range(n):
        split = rng.normal(0.0, 0.02, (3, 1))
        e = split + rng.normal(0.0, 0.01, (3, 5))
        digits = evidence.comparison("c", "m", "lower", e)
        split2 = rng.normal(0.0, 0.02, (3, 1))
        mnist = evidence.comparison("c", "m", "lower",
                                    split2 + rng.normal(0.0, 0.01, (3, 5)),
                                    dataset="mnist")
        hits += evidence.verdict(digits).label == "holds"
        caveats += evidence.verdict(digits, mnist).label != "within noise"
    assert hits / n < 0.045          # one-sided 2.5% nominal
    assert caveats / n < 0.08        # about 2 x 2.5% for two data sets


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
    assert "disagree" in evidence.verdict(holds, against).reason
    assert evidence.verdict(holds, holds).label == "holds"
    assert evidence.verdict(noise, noise).label == "within noise"
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

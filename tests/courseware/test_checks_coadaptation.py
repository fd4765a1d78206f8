"""The checks of book/03_co_adaptation.ipynb accept the reference solutions and explain
typical mistakes."""
from __future__ import annotations

import numpy as np
import pytest

from courseware.checks import CheckResult, report
from courseware.checks.coadaptation import check_knockout_accuracy, check_unit_damage
from dropout_lib.analysis import coadaptation as co
from dropout_lib.experiments import coadaptation as study

# --------------------------------------------------------------------------- knockout_accuracy


def reference_knockout(net, X, y, layer, fraction, rng):
    H = net.layer_sizes[layer]
    k = int(round(fraction * H))
    units = rng.permutation(H)[:k]
    return float(np.mean(net.predict(X, ablate={layer: units}) == y))


def choice_knockout(net, X, y, layer, fraction, rng):        # another correct way, bool mask
    H = net.layer_sizes[layer]
    off = np.zeros(H, dtype=bool)
    off[rng.choice(H, int(round(fraction * H)), replace=False)] = True
    scores, _ = net.forward(X, train=False, ablate={layer: off})
    return np.mean(scores.argmax(axis=1) == y)


def stub_knockout(net, X, y, layer, fraction, rng):
    raise NotImplementedError("remove the units here")


def keep_fraction(net, X, y, layer, fraction, rng):           # removes the kept fraction
    H = net.layer_sizes[layer]
    units = rng.permutation(H)[:int(round((1 - fraction) * H))]
    return float(np.mean(net.predict(X, ablate={layer: units}) == y))


def error_rate(net, X, y, layer, fraction, rng):
    return 1 - reference_knockout(net, X, y, layer, fraction, rng)


def train_mode(net, X, y, layer, fraction, rng):
    H = net.layer_sizes[layer]
    units = rng.permutation(H)[:int(round(fraction * H))]
    scores, _ = net.forward(X, train=True, rng=rng, ablate={layer: units})
    return float(np.mean(scores.argmax(axis=1) == y))


def wrong_layer(net, X, y, layer, fraction, rng):
    H = net.layer_sizes[1]
    units = rng.permutation(H)[:int(round(fraction * H))]
    return float(np.mean(net.predict(X, ablate={1: units}) == y))


def with_replacement(net, X, y, layer, fraction, rng):
    H = net.layer_sizes[layer]
    units = rng.integers(0, H, int(round(fraction * H)))
    return float(np.mean(net.predict(X, ablate={layer: units}) == y))


def first_units(net, X, y, layer, fraction, rng):
    units = np.arange(int(round(fraction * net.layer_sizes[layer])))
    return float(np.mean(net.predict(X, ablate={layer: units}) == y))


def no_ablation_used(net, X, y, layer, fraction, rng):
    rng.permutation(net.layer_sizes[layer])
    return float(np.mean(net.predict(X) == y))


def ablates_but_scores_intact(net, X, y, layer, fraction, rng):
    H = net.layer_sizes[layer]
    net.predict(X, ablate={layer: rng.permutation(H)[:int(round(fraction * H))]})
    return float(np.mean(net.predict(X) == y))


def returns_none(net, X, y, layer, fraction, rng):
    reference_knockout(net, X, y, layer, fraction, rng)


@pytest.mark.parametrize("fn", [reference_knockout, choice_knockout])
def test_knockout_reference_passes(fn):
    result = check_knockout_accuracy(fn)
    assert isinstance(result, CheckResult)
    assert result.passed, result.messages
    assert len(result.messages) == 5


@pytest.mark.parametrize("fn, expected", [
    (stub_knockout, "not implemented"),
    (keep_fraction, "fraction REMOVED"),
    (error_rate, "error rate"),
    (train_mode, "train=True"),
    (wrong_layer, "layer(s) [1]"),
    (with_replacement, "drawn twice"),
    (first_units, "two different rng seeds removed the same units"),
    (no_ablation_used, "switched off no unit"),
    (ablates_but_scores_intact, "that is the intact accuracy"),
    (returns_none, "return"),
    (42, "expected a function"),
])
def test_knockout_mistakes_fail_with_their_message(fn, expected):
    result = check_knockout_accuracy(fn)
    assert not result.passed
    assert expected in result.messages[0], result.messages[0]


# --------------------------------------------------------------------------- unit_damage


def reference_damage(net, X, y, layer):
    _, base = co.accuracy_and_loss(net, X, y)
    return np.array([co.accuracy_and_loss(net, X, y, ablate={layer: [i]})[1] - base
                     for i in range(net.layer_sizes[layer])])


def stub_damage(net, X, y, layer):
    raise NotImplementedError


def flipped_sign(net, X, y, layer):
    return -reference_damage(net, X, y, layer)


def no_baseline(net, X, y, layer):
    _, base = co.accuracy_and_loss(net, X, y)
    return reference_damage(net, X, y, layer) + base


def accuracy_damage(net, X, y, layer):
    return co.unit_damage(net, X, y, layer=layer, metric="acc")


def cumulative(net, X, y, layer):
    _, base = co.accuracy_and_loss(net, X, y)
    return np.array([co.accuracy_and_loss(net, X, y, ablate={layer: np.arange(i + 1)})[1] - base
                     for i in range(net.layer_sizes[layer])])


def layer_one(net, X, y, layer):
    return reference_damage(net, X, y, 1)


def damage_in_train_mode(net, X, y, layer):
    net.forward(X, train=True, rng=np.random.default_rng(0))
    return reference_damage(net, X, y, layer)


def test_unit_damage_reference_passes():
    result = check_unit_damage(reference_damage)
    assert result.passed, result.messages
    lib = check_unit_damage(lambda net, X, y, layer: co.unit_damage(net, X, y, layer=layer))
    assert lib.passed, lib.messages


@pytest.mark.parametrize("fn, expected", [
    (stub_damage, "not implemented"),
    (flipped_sign, "sign is flipped"),
    (no_baseline, "subtract the intact"),
    (accuracy_damage, "changes of the accuracy"),
    (cumulative, "removed units 0..i together"),
    (layer_one, "size of layer 1"),
    (damage_in_train_mode, "train=True"),
    (lambda net, X, y, layer: None, "return"),
])
def test_unit_damage_mistakes_fail_with_their_message(fn, expected):
    result = check_unit_damage(fn)
    assert not result.passed
    assert expected in result.messages[0], result.messages[0]


def test_checks_are_deterministic_and_print_one_line(capsys):
    a = check_knockout_accuracy(keep_fraction)
    b = check_knockout_accuracy(keep_fraction)
    assert a == b
    report(check_knockout_accuracy(reference_knockout))
    assert capsys.readouterr().out == "✓ knockout_accuracy: 5 of 5 checks passed\n"

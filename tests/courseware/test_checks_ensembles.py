"""The exercise checks of book/04_ensembles.ipynb: the reference passes, the stub fails with
"not implemented", and each typical mistake fails with its own message."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from courseware.checks import CheckResult
from courseware.checks.ensembles import check_enumerate_subnetworks, check_mc_error_bars

# --------------------------------------------------------------------------- enumerate


def reference_enumerate(n_units, p_drop):
    masks = np.array(list(itertools.product([False, True], repeat=n_units)), dtype=bool)
    masks = masks.reshape(2 ** n_units, n_units)
    kept = masks.sum(axis=1)
    probs = (1 - p_drop) ** kept * p_drop ** (n_units - kept)
    return masks, probs


def stub_enumerate(n_units, p_drop):
    raise NotImplementedError


def keep_prob_swapped(n_units, p_drop):
    masks, _ = reference_enumerate(n_units, p_drop)
    kept = masks.sum(axis=1)
    return masks, p_drop ** kept * (1 - p_drop) ** (n_units - kept)


def uniform_probs(n_units, p_drop):
    masks, _ = reference_enumerate(n_units, p_drop)
    return masks, np.full(len(masks), 1 / len(masks))


def only_single_drops(n_units, p_drop):
    masks = ~np.eye(n_units, dtype=bool)
    return masks, np.full(n_units, 1 / n_units)


def duplicates(n_units, p_drop):
    masks, probs = reference_enumerate(n_units, p_drop)
    masks = masks.copy()
    if len(masks) > 1:
        masks[0] = masks[1]
    return masks, probs


def transposed(n_units, p_drop):
    masks, probs = reference_enumerate(n_units, p_drop)
    return masks.T, probs


def shuffled_probs(n_units, p_drop):
    masks, probs = reference_enumerate(n_units, p_drop)
    return masks, np.roll(probs, 1)


def forgot_return(n_units, p_drop):
    reference_enumerate(n_units, p_drop)


def unnormalised(n_units, p_drop):
    masks, _ = reference_enumerate(n_units, p_drop)
    return masks, (1 - p_drop) ** masks.sum(axis=1)


def test_reference_enumerate_passes():
    result = check_enumerate_subnetworks(reference_enumerate)
    assert isinstance(result, CheckResult)
    assert result.passed, result.messages
    assert "8 masks" in str(result) or "checks passed" in str(result)


def test_int_masks_in_any_order_pass():
    def ints_reversed(n, p):
        m, pr = reference_enumerate(n, p)
        return m[::-1].astype(int), pr[::-1]
    assert check_enumerate_subnetworks(ints_reversed).passed


@pytest.mark.parametrize("fn, message", [
    (stub_enumerate, "not implemented"),
    (keep_prob_swapped, "KEEP probability"),
    (uniform_probs, "only right for p_drop = 0.5"),
    (only_single_drops, "2**3 = 8 subnetworks"),
    (duplicates, "appear twice"),
    (transposed, "transposed"),
    (shuffled_probs, "belongs to masks[i]"),
    (forgot_return, "returned None"),
    (unnormalised, "sum to"),
    (42, "expected a function"),
])
def test_enumerate_mistakes_get_their_message(fn, message):
    result = check_enumerate_subnetworks(fn)
    assert not result.passed
    assert message in result.messages[0], result.messages[0]


# --------------------------------------------------------------------------- MC error bars


def reference_bars(net, X, n_samples, rng):
    samples = net.mc_predict(X, n_samples=n_samples, rng=rng, proba=False)[:, :, 0]
    return samples.mean(axis=0), samples.std(axis=0)


def stub_bars(net, X, n_samples, rng):
    raise NotImplementedError


def dropout_off(net, X, n_samples, rng):
    samples = np.stack([net.forward(X, train=False)[0][:, 0] for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)


def variance(net, X, n_samples, rng):
    m, s = reference_bars(net, X, n_samples, rng)
    return m, s ** 2


def weight_scaled_mean(net, X, n_samples, rng):
    _, s = reference_bars(net, X, n_samples, rng)
    return net.scores(X)[:, 0], s


def wrong_axis(net, X, n_samples, rng):
    samples = net.mc_predict(X, n_samples=n_samples, rng=rng, proba=False)[:, :, 0]
    return samples.mean(axis=1), samples.std(axis=1)


def column_shape(net, X, n_samples, rng):
    samples = net.mc_predict(X, n_samples=n_samples, rng=rng, proba=False)
    return samples.mean(axis=0), samples.std(axis=0)


def own_generator(net, X, n_samples, rng):
    return reference_bars(net, X, n_samples, np.random.default_rng(0))


def global_state(net, X, n_samples, rng):
    seed = int(np.random.randint(0, 2 ** 31))
    return reference_bars(net, X, n_samples, np.random.default_rng(seed))


def few_passes(net, X, n_samples, rng):
    return reference_bars(net, X, 3, rng)


def ddof_one(net, X, n_samples, rng):
    samples = net.mc_predict(X, n_samples=n_samples, rng=rng, proba=False)[:, :, 0]
    return samples.mean(axis=0), samples.std(axis=0, ddof=1)


def test_reference_bars_pass_and_ddof_does_not_matter():
    result = check_mc_error_bars(reference_bars)
    assert result.passed, result.messages
    assert check_mc_error_bars(ddof_one).passed


def test_check_does_not_change_global_random_state():
    before = np.random.get_state()[1].copy()
    check_mc_error_bars(reference_bars)
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("fn, message", [
    (stub_bars, "not implemented"),
    (dropout_off, "dropout ON"),
    (variance, "variance"),
    (weight_scaled_mean, "weight-scaled"),
    (wrong_axis, "one value per pass"),
    (column_shape, "1-D arrays"),
    (own_generator, "different rng seeds"),
    (global_state, "same rng seed gave different"),
    (few_passes, "your"),
])
def test_mc_mistakes_get_their_message(fn, message):
    state = np.random.get_state()
    try:
        result = check_mc_error_bars(fn)
    finally:
        np.random.set_state(state)
    assert not result.passed
    assert message in result.messages[0], result.messages[0]


def test_checks_never_raise_on_errors_in_learner_code():
    def boom(*args):
        raise ZeroDivisionError("oops")
    for check in (check_enumerate_subnetworks, check_mc_error_bars):
        result = check(boom)
        assert not result.passed and "ZeroDivisionError: oops" in result.messages[0]

"""The checks of book/01_masks.ipynb accept the reference solutions and explain typical mistakes."""
from __future__ import annotations

import numpy as np
import pytest

from courseware.checks import CheckResult, report
from courseware.checks.masks import check_channel_mask, check_draw_mask
from dropout_lib.masks import bernoulli_mask

# --------------------------------------------------------------------------- draw_mask


def reference_draw_mask(shape, p_drop, rng):
    return rng.random(shape) < 1 - p_drop


def library_draw_mask(shape, p_drop, rng):
    return bernoulli_mask(shape, p_drop, rng)


def stub_draw_mask(shape, p_drop, rng):
    raise NotImplementedError("draw the mask here")


def backwards_rule(shape, p_drop, rng):          # keeps where u < p_drop
    return rng.random(shape) < p_drop


def keep_meaning(shape, p_drop, rng):            # treats p as the keep probability
    return rng.random(shape) >= 1 - p_drop


def global_rng(shape, p_drop, rng):
    return np.random.rand(*shape) < 1 - p_drop


def fixed_seed_inside(shape, p_drop, rng):
    return np.random.default_rng(0).random(shape) < 1 - p_drop


def float_mask(shape, p_drop, rng):
    return (rng.random(shape) < 1 - p_drop).astype(np.float64)


def scaled_mask(shape, p_drop, rng):
    return (rng.random(shape) < 1 - p_drop) / (1 - p_drop)


def wrong_shape(shape, p_drop, rng):             # one value per unit only
    return rng.random(shape[-1:]) < 1 - p_drop


def shared_across_batch(shape, p_drop, rng):     # same row for every example
    row = rng.random((1, *shape[1:])) < 1 - p_drop
    return np.broadcast_to(row, shape).copy()


def per_example_only(shape, p_drop, rng):        # whole example kept or dropped
    col = rng.random((shape[0], *([1] * (len(shape) - 1)))) < 1 - p_drop
    return np.broadcast_to(col, shape).copy()


def half_always(shape, p_drop, rng):
    return rng.random(shape) < 0.5


def less_equal(shape, p_drop, rng):              # u <= q keeps units at p_drop = 1 when u = 0
    u = rng.random(shape)
    u.flat[0] = 0.0
    return u <= 1 - p_drop


def returns_list(shape, p_drop, rng):
    return (rng.random(shape) < 1 - p_drop).tolist()


def returns_none(shape, p_drop, rng):
    rng.random(shape) < 1 - p_drop  # noqa: B015


def crashes(shape, p_drop, rng):
    return rng.random(shape) < 1 - p_drop[0]


def only_2d(shape, p_drop, rng):
    n, d = shape
    return rng.random((n, d)) < 1 - p_drop


def _assert_fails(result: CheckResult, *fragments: str) -> None:
    assert not result.passed
    assert len(result.messages) == 1
    for fragment in fragments:
        assert fragment in result.messages[0], result.messages[0]


@pytest.mark.parametrize("fn", [reference_draw_mask, library_draw_mask])
def test_reference_solutions_pass(fn):
    result = check_draw_mask(fn)
    assert result.passed, result.messages
    assert result.exercise == "draw_mask"
    assert len(result.messages) == 5


def test_stub_is_not_implemented():
    _assert_fails(check_draw_mask(stub_draw_mask),
                  "not implemented yet: draw_mask raises NotImplementedError")


@pytest.mark.parametrize("fn, fragments", [
    (backwards_rule, ("keeps 20% of units", "expected about 80%",
                      "u < p_drop instead of u < 1 - p_drop")),
    (keep_meaning, ("keeps 20% of units", "probability of DROPPING")),
    (half_always, ("keeps 50%", "is p_drop used at all")),
    (global_rng, ("global random state", "rng argument")),
    (fixed_seed_inside, ("two different rng seeds gave the same mask",)),
    (float_mask, ("dtype float64", "boolean (True = keep)")),
    (scaled_mask, ("values other than 0 and 1", "not the rescaled activations")),
    (wrong_shape, ("your mask has shape (500,) but the activations have shape (200, 500)",
                   "shared along its size-1 axes")),
    (shared_across_batch, ("every example (row) got the same mask",)),
    (per_example_only, ("keeps or drops all of its units together",)),
    (less_equal, ("with p_drop = 1 every unit must be dropped",)),
    (returns_list, ("returned a list",)),
    (returns_none, ("returned None",)),
    (crashes, ("raised TypeError",)),
    (only_2d, ("raised ValueError",)),
])
def test_typical_mistakes_get_their_message(fn, fragments):
    _assert_fails(check_draw_mask(fn), *fragments)


def test_same_seed_different_masks_is_caught():
    state = {"calls": 0}

    def stateful(shape, p_drop, rng):
        state["calls"] += 1
        extra = np.random.default_rng(state["calls"])
        return extra.random(shape) < 1 - p_drop

    _assert_fails(check_draw_mask(stateful), "the same rng seed gave different masks")


def test_check_leaves_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    check_draw_mask(global_rng)
    assert np.random.random() == expected


def test_non_callable_is_reported():
    _assert_fails(check_draw_mask(42), "expected a function")


def test_check_is_deterministic():
    assert check_draw_mask(backwards_rule) == check_draw_mask(backwards_rule)


# --------------------------------------------------------------------------- channel_mask


def reference_channel_mask(shape, p_drop, rng):
    n, c = shape[:2]
    return rng.random((n, c, 1, 1)) < 1 - p_drop


def library_channel_mask(shape, p_drop, rng):
    return bernoulli_mask(shape, p_drop, rng, shared_axes=(2, 3))


def elementwise_channel(shape, p_drop, rng):
    return rng.random(shape) < 1 - p_drop


def full_size_constant(shape, p_drop, rng):
    return np.broadcast_to(reference_channel_mask(shape, p_drop, rng), shape).copy()


def batch_shared_channel(shape, p_drop, rng):
    return rng.random((1, shape[1], 1, 1)) < 1 - p_drop


def two_d_channel(shape, p_drop, rng):
    return rng.random(shape[:2]) < 1 - p_drop


def backwards_channel(shape, p_drop, rng):
    return rng.random((*shape[:2], 1, 1)) < p_drop


def stub_channel_mask(shape, p_drop, rng):
    raise NotImplementedError("draw the channel mask here")


@pytest.mark.parametrize("fn", [reference_channel_mask, library_channel_mask])
def test_channel_reference_solutions_pass(fn):
    result = check_channel_mask(fn)
    assert result.passed, result.messages
    assert len(result.messages) == 5


@pytest.mark.parametrize("fn, fragments", [
    (stub_channel_mask, ("not implemented yet: channel_mask raises NotImplementedError",)),
    (elementwise_channel, ("varies within a feature map", "element-wise")),
    (full_size_constant, ("constant over each H x W map",)),
    (batch_shared_channel, ("shared by every example",)),
    (two_d_channel, ("keep the two size-1 axes",)),
    (backwards_channel, ("keeps 30% of channels", "expected about 70%")),
])
def test_channel_mistakes_get_their_message(fn, fragments):
    _assert_fails(check_channel_mask(fn), *fragments)


# --------------------------------------------------------------------------- report


def test_report_prints_one_line_verdicts(capsys):
    report(check_draw_mask(reference_draw_mask))
    report(check_draw_mask(backwards_rule))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ draw_mask: 5 of 5 checks passed"
    assert out[1].startswith("✗ draw_mask: with p_drop = 0.2 your mask keeps 20% of units")


def test_report_mentions_further_problems(capsys):
    report(CheckResult("f", False, ("first", "second")))
    assert capsys.readouterr().out.splitlines() == [
        "✗ f: first", "  (1 more problem(s); fix this one first)"]


def test_report_refuses_other_objects():
    with pytest.raises(TypeError, match="CheckResult"):
        report("✓")

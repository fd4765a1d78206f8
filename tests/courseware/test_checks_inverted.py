"""The checks of book/02_inverted_dropout.ipynb accept the reference solutions and explain typical mistakes."""
from __future__ import annotations

import numpy as np
import pytest

import dropout_lib as dl
from courseware.checks import CheckResult, report
from courseware.checks.inverted import check_dropout_backward, check_dropout_forward

# --------------------------------------------------------------------------- references


def reference_forward(x, p_drop, *, train, rng=None):
    if not train or p_drop == 0:
        return x.copy(), (None, 1.0)
    keep = 1.0 - p_drop
    mask = rng.random(x.shape) < keep
    return x * mask / keep, (mask, 1.0 / keep)


def reference_backward(dout, cache):
    mask, scale = cache
    if mask is None:
        return dout * scale
    return dout * mask * scale


def library_forward(x, p_drop, *, train, rng=None):
    return dl.dropout_forward(x, p_drop, train=train, rng=rng)


def library_backward(dout, cache):
    return dl.dropout_backward(dout, cache)


def stub_forward(x, p_drop, *, train, rng=None):
    raise NotImplementedError("write the forward pass here")


def stub_backward(dout, cache):
    raise NotImplementedError("write the backward pass here")


# --------------------------------------------------------------------------- forward mistakes


def no_rescale(x, p_drop, *, train, rng=None):
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) < 1 - p_drop
    return x * mask, mask


def keep_meaning(x, p_drop, *, train, rng=None):       # p treated as the keep probability
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) < p_drop
    return x * mask / p_drop, mask


def eval_still_on(x, p_drop, *, train, rng=None):      # ignores `train`
    keep = 1 - p_drop
    mask = rng.random(x.shape) < keep
    return x * mask / keep, mask


def original_eval(x, p_drop, *, train, rng=None):      # scales by q at test time as well
    keep = 1 - p_drop
    if not train:
        return x * keep, None
    mask = rng.random(x.shape) < keep
    return x * mask / keep, mask


def times_keep(x, p_drop, *, train, rng=None):
    keep = 1 - p_drop
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) < keep
    return x * mask * keep, mask


def divide_by_p(x, p_drop, *, train, rng=None):
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) < 1 - p_drop
    return x * mask / p_drop, mask


def fixed_factor(x, p_drop, *, train, rng=None):
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) < 1 - p_drop
    return x * mask * 2.0, mask


def global_rng(x, p_drop, *, train, rng=None):
    keep = 1 - p_drop
    if not train:
        return x.copy(), None
    mask = np.random.rand(*x.shape) < keep
    return x * mask / keep, mask


def own_generator(x, p_drop, *, train, rng=None):
    keep = 1 - p_drop
    if not train:
        return x.copy(), None
    mask = np.random.default_rng(0).random(x.shape) < keep
    return x * mask / keep, mask


def returns_only_out(x, p_drop, *, train, rng=None):
    return reference_forward(x, p_drop, train=train, rng=rng)[0]


def in_place(x, p_drop, *, train, rng=None):
    keep = 1 - p_drop
    if not train:
        return x, None
    mask = rng.random(x.shape) < keep
    x *= mask / keep
    return x, mask


def less_equal_zero(x, p_drop, *, train, rng=None):    # drops units at p_drop = 0 when u == 1?
    keep = 1 - p_drop
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) < keep
    if p_drop == 0:
        mask.flat[0] = False
    return x * mask / keep, mask


def positional_only(x, p_drop, train, rng):            # works: keywords match the names
    return reference_forward(x, p_drop, train=train, rng=rng)


# --------------------------------------------------------------------------- backward mistakes


def ignores_mask(dout, cache):                         # numpy-ml's bug (issue #94)
    mask, scale = cache
    return dout * scale


def forgets_scale(dout, cache):
    mask, scale = cache
    return dout * mask


def new_mask(dout, cache):
    mask, scale = cache
    fresh = np.random.default_rng(99).random(dout.shape) < 1 / scale
    return dout * fresh * scale


def passes_through(dout, cache):
    return dout.copy()


def in_place_backward(dout, cache):
    mask, scale = cache
    dout *= mask * scale
    return dout


def returns_none(dout, cache):
    mask, scale = cache
    dout * mask * scale  # noqa: B018


def crashes(dout, cache):
    return dout * cache["mask"]


def _assert_fails(result: CheckResult, *fragments: str) -> None:
    assert not result.passed
    assert len(result.messages) == 1
    for fragment in fragments:
        assert fragment in result.messages[0], result.messages[0]


@pytest.mark.parametrize("fn", [reference_forward, library_forward, positional_only])
def test_forward_reference_solutions_pass(fn):
    result = check_dropout_forward(fn)
    assert result.passed, result.messages
    assert result.exercise == "dropout_forward"
    assert len(result.messages) == 6


def test_forward_stub_is_not_implemented():
    _assert_fails(check_dropout_forward(stub_forward),
                  "not implemented yet: dropout_forward raises NotImplementedError")


@pytest.mark.parametrize("fn, fragments", [
    (no_rescale, ("your kept units equal 1 x", "forgot to rescale")),
    (keep_meaning, ("keeps 20% of the units", "expected about 80%", "probability of DROPPING")),
    (eval_still_on, ("in evaluation (train=False) 20% of your outputs are zero",
                     "dropout is still on")),
    (original_eval, ("original form's test-time rule",)),
    (times_keep, ("equal 0.8 x", "multiplied by the keep probability")),
    (divide_by_p, ("equal 5 x", "divided by p_drop instead of by 1 - p_drop")),
    (fixed_factor, ("equal 2 x", "computed from p_drop")),
    (global_rng, ("global random state",)),
    (own_generator, ("two different rng seeds gave the same output",)),
    (returns_only_out, ("returned only an array", "return a pair (out, cache)")),
    (in_place, ("modified its input x in place",)),
    (less_equal_zero, ("with p_drop = 0 the output must equal x", "1 units dropped")),
])
def test_forward_mistakes_get_their_message(fn, fragments):
    _assert_fails(check_dropout_forward(fn), *fragments)


@pytest.mark.parametrize("fwd, bwd", [(reference_forward, reference_backward),
                                      (library_forward, library_backward)])
def test_backward_reference_solutions_pass(fwd, bwd):
    result = check_dropout_backward(fwd, bwd)
    assert result.passed, result.messages
    assert result.exercise == "dropout_backward"
    assert len(result.messages) == 2
    assert "relative error" in result.messages[1]


def test_backward_stub_is_not_implemented():
    _assert_fails(check_dropout_backward(reference_forward, stub_backward),
                  "not implemented yet: dropout_backward raises NotImplementedError")


def test_backward_needs_a_working_forward():
    _assert_fails(check_dropout_backward(stub_forward, reference_backward),
                  "fix dropout_forward first", "not implemented yet: dropout_forward")
    _assert_fails(check_dropout_backward(no_rescale, reference_backward),
                  "fix dropout_forward first", "forgot to rescale")


@pytest.mark.parametrize("bwd, fragments", [
    (ignores_mask, ("your backward pass ignores the mask", "relative error 1.00")),
    (forgets_scale, ("forgets the factor 1 / (1 - p_drop)", "0.6 times the right size")),
    (new_mask, ("zeroes different units than the forward pass", "reuse the mask")),
    (passes_through, ("returns dout unchanged",)),
    (in_place_backward, ("modified dout in place",)),
    (returns_none, ("returned None",)),
    (crashes, ("dropout_backward(dout, cache) raised TypeError",)),
])
def test_backward_mistakes_get_their_message(bwd, fragments):
    _assert_fails(check_dropout_backward(reference_forward, bwd), *fragments)


def test_backward_must_use_the_cache():
    """A backward pass that recomputes a mask from a fixed seed passes one seed, not two."""
    def recomputed(dout, cache):
        _, scale = cache
        mask = np.random.default_rng(2014).random(dout.shape) < 1 / scale
        return dout * mask * scale

    _assert_fails(check_dropout_backward(reference_forward, recomputed),
                  "zeroes different units than the forward pass")


def test_checks_leave_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    check_dropout_forward(global_rng)
    check_dropout_backward(reference_forward, new_mask)
    assert np.random.random() == expected


def test_non_callables_are_reported():
    _assert_fails(check_dropout_forward(42), "expected a function")
    _assert_fails(check_dropout_backward(reference_forward, "dx"), "expected a function")


def test_checks_are_deterministic():
    assert check_dropout_forward(keep_meaning) == check_dropout_forward(keep_meaning)
    assert (check_dropout_backward(reference_forward, ignores_mask)
            == check_dropout_backward(reference_forward, ignores_mask))


def test_report_prints_one_line_verdicts(capsys):
    report(check_dropout_forward(reference_forward))
    report(check_dropout_backward(reference_forward, ignores_mask))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ dropout_forward: 6 of 6 checks passed"
    assert out[1].startswith("✗ dropout_backward: your backward pass ignores the mask")


# --------------------------------------------------------------------------- issue 16's blind spots


def shared_by_batch(x, p_drop, *, train, rng=None):     # one mask row for the whole batch
    keep = 1 - p_drop
    if not train:
        return x.copy(), (None, 1.0)
    mask = np.repeat(rng.random((1, x.shape[1])) < keep, x.shape[0], axis=0)
    return x * mask / keep, (mask, 1.0 / keep)


def test_a_mask_shared_by_the_batch_gets_the_shared_message():
    result = check_dropout_forward(shared_by_batch)
    assert not result.passed
    assert result.messages[0].startswith("every example (row) got the same mask")


def backward_scales_in_eval(dout, cache):               # applies the factor in evaluation too
    mask, scale = cache
    if mask is None:
        return dout / 0.6
    return dout * mask * scale


def test_backward_is_checked_in_evaluation_mode():
    result = check_dropout_backward(reference_forward, backward_scales_in_eval)
    assert not result.passed
    assert "in evaluation (train=False) dropout_backward does not return dout unchanged" \
        in result.messages[0]

"""The checks of book/02_inverted_dropout.ipynb accept the reference solutions and explain typical mistakes."""
from __future__ import annotations

import numpy as np
import pytest

import dropout_lib as dl
from courseware.checks import CheckResult, report
from courseware.checks.inverted import (check_dropout_backward, check_dropout_forward,
                                        check_lr_factor)

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


# --------------------------------------------------------------------------- the learning-rate factor


def reference_lr_factor(p_drop):
    return (1 - p_drop) ** 2


def lr_stub(p_drop):
    raise NotImplementedError("your formula here")


def lr_same(p_drop):                                    # the same learning rate
    return 1.0


def lr_keep(p_drop):                                    # only the initialisation's factor
    return 1 - p_drop


def lr_inverse(p_drop):                                 # the gradient's factor, upside down
    return 1 / (1 - p_drop)


def lr_drop_squared(p_drop):                            # p_drop where q belongs
    return p_drop ** 2


def lr_text(p_drop):
    return "q squared"


def lr_constant(p_drop):
    return 0.5


def lr_wrong_at_zero(p_drop):
    return (1 - p_drop) ** 2 if p_drop else 0.0


def lr_visible_only(p_drop):                            # the visible check's answers, stored
    return {0.2: 0.64, 0.6: 0.16, 0.9: 0.01}.get(p_drop, 1.0)


def test_lr_factor_reference_passes():
    result = check_lr_factor(reference_lr_factor)
    assert result.passed, result.messages
    assert result.exercise == "lr_factor"
    assert len(result.messages) == 2


@pytest.mark.parametrize("fn, fragments", [
    (lr_stub, ("not implemented yet: lr_factor raises NotImplementedError",)),
    (lr_same, ("lr_factor(0.2) = 1 is not the factor", "same learning rate")),
    (lr_keep, ("lr_factor(0.2) = 0.8 is not the factor", "account for the gradient too")),
    (lr_inverse, ("above 1", "Compare the twin's step")),
    (lr_drop_squared, ("keep probability q = 1 - p_drop",)),
    (lr_text, ("returned a str", "return a number")),
    (lr_constant, ("lr_factor(0.2) = 0.5 is not the factor", "must again equal q times W")),
    (lr_wrong_at_zero, ("lr_factor(0.0) = 0", "without dropout")),
])
def test_lr_factor_mistakes_get_their_message(fn, fragments):
    _assert_fails(check_lr_factor(fn), *fragments)


def test_lr_factor_messages_do_not_give_the_answer_away():
    for fn in (lr_same, lr_keep, lr_inverse, lr_drop_squared, lr_constant):
        message = check_lr_factor(fn).messages[0]
        assert "0.64" not in message and "q^2" not in message and "q * q" not in message
        # nor the derivation: the gradient's factor is the exercise's first step
        assert "1/q" not in message and "times larger" not in message, message
        assert "Compare the twin's step" in message or "p_drop belongs" in message


@pytest.mark.parametrize("fwd, bwd", [
    (in_place, reference_backward), (reference_forward, ignores_mask),
    (reference_forward, forgets_scale), (reference_forward, new_mask),
    (reference_forward, passes_through), (reference_forward, in_place_backward),
    (reference_forward, lambda dout, cache: dout * 0.5 + 1.0),
])
def test_messages_name_the_mistake_without_quoting_the_solution(fwd, bwd):
    result = check_dropout_backward(fwd, bwd)
    assert not result.passed
    message = result.messages[0]
    for code in ("dout * mask", "x * mask", "mask / (1 - p_drop)", "mask * scale"):
        assert code not in message, message


def test_stored_visible_answers_fail_the_hidden_drop_probabilities():
    from courseware.judge import hidden_inputs

    assert check_lr_factor(lr_visible_only).passed
    for _ in range(5):
        hidden = hidden_inputs("02_inverted_dropout", "ex-inv-lr-scale")
        assert 0.5 not in hidden["p_drops"]
        assert check_lr_factor(reference_lr_factor, **hidden).passed
        assert not check_lr_factor(lr_visible_only, **hidden).passed


def _sgd_twins(factor, steps=30, lr=0.1):
    """Plain SGD on an original-form network and on its inverted twin (weights after a
    dropout layer start at q W and get the learning rate lr * factor(p_drop)), with the
    same batches and masks; the largest gap between their test-time scores."""
    gen = np.random.default_rng(0)
    X, y = gen.standard_normal((40, 8)), gen.integers(0, 3, 40)
    p_in, p_hid = 0.3, 0.6
    orig = dl.MLP([8, 6, 6, 3], p_drop_input=p_in, p_drop_hidden=p_hid,
                  dropout_mode="original", seed=1)
    twin = dl.MLP([8, 6, 6, 3], p_drop_input=p_in, p_drop_hidden=p_hid,
                  dropout_mode="inverted", seed=1)
    after = {"W1": p_in, "W2": p_hid, "W3": p_hid}
    twin.set_params({k: v * (1 - after[k]) if k in after else v
                     for k, v in orig.get_params().items()})
    rates = {k: lr * factor(after[k]) if k in after else lr for k in orig.params}
    for net, rate in ((orig, dict.fromkeys(orig.params, lr)), (twin, rates)):
        batches, masks = np.random.default_rng(2), np.random.default_rng(3)
        for _ in range(steps):
            idx = batches.choice(40, 10, replace=False)
            _, grads = net.loss_and_grads(X[idx], y[idx], train=True, rng=masks)
            for k, g in grads.items():
                net.params[k] -= rate[k] * g
    return float(np.max(np.abs(orig.scores(X) - twin.scores(X))))


def test_the_checked_factor_makes_the_two_sgd_runs_identical():
    """What the check accepts is what the chapter claims: identical trajectories."""
    assert _sgd_twins(reference_lr_factor) < 1e-12
    for wrong in (lr_same, lr_keep):
        assert _sgd_twins(wrong) > 1e-3

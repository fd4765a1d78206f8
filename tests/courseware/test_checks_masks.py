"""The checks of book/01_masks.ipynb accept the reference solutions and explain typical mistakes."""
from __future__ import annotations

import numpy as np
import pytest

from courseware.checks import CheckResult, report
from courseware.checks.masks import check_draw_mask, check_dropconnect
from dropout_lib.masks import bernoulli_mask

# --------------------------------------------------------------------------- draw_mask


def _shared_shape(shape, shared_axes):
    return tuple(1 if i in shared_axes else s for i, s in enumerate(shape))


def reference_draw_mask(shape, p_drop, rng, shared_axes=()):
    return rng.random(_shared_shape(shape, shared_axes)) < 1 - p_drop


def library_draw_mask(shape, p_drop, rng, shared_axes=()):
    return bernoulli_mask(shape, p_drop, rng, shared_axes=shared_axes)


def stub_draw_mask(shape, p_drop, rng, shared_axes=()):
    raise NotImplementedError("draw the mask here")


def backwards_rule(shape, p_drop, rng, shared_axes=()):   # keeps where u < p_drop
    return rng.random(_shared_shape(shape, shared_axes)) < p_drop


def keep_meaning(shape, p_drop, rng, shared_axes=()):     # p taken as the keep probability
    return rng.random(_shared_shape(shape, shared_axes)) >= 1 - p_drop


def global_rng(shape, p_drop, rng, shared_axes=()):
    return np.random.rand(*_shared_shape(shape, shared_axes)) < 1 - p_drop


def fixed_seed_inside(shape, p_drop, rng, shared_axes=()):
    return reference_draw_mask(shape, p_drop, np.random.default_rng(0), shared_axes)


def float_mask(shape, p_drop, rng, shared_axes=()):
    return reference_draw_mask(shape, p_drop, rng, shared_axes).astype(np.float64)


def scaled_mask(shape, p_drop, rng, shared_axes=()):
    return reference_draw_mask(shape, p_drop, rng, shared_axes) / (1 - p_drop)


def not_shared(shape, p_drop, rng, shared_axes=()):       # ignores shared_axes
    return rng.random(shape) < 1 - p_drop


def shared_full_size(shape, p_drop, rng, shared_axes=()):  # shared, but not size 1
    return np.broadcast_to(reference_draw_mask(shape, p_drop, rng, shared_axes), shape)


def shared_elsewhere(shape, p_drop, rng, shared_axes=()):  # the other axes are shared
    others = [i for i in range(len(shape)) if i not in shared_axes] if shared_axes else []
    return reference_draw_mask(shape, p_drop, rng, others)


def axis_off_by_one(shape, p_drop, rng, shared_axes=()):   # counts axes from 1
    return reference_draw_mask(shape, p_drop, rng,
                               [(a + 1) % len(shape) for a in shared_axes])


def shared_dropped_axis(shape, p_drop, rng, shared_axes=()):  # removes the shared axes
    full = [s for i, s in enumerate(shape) if i not in shared_axes]
    return rng.random(full) < 1 - p_drop


def edits_shape(shape, p_drop, rng, shared_axes=()):       # writes into the shape it got
    for a in shared_axes:
        shape[a] = 1
    return rng.random(shape) < 1 - p_drop


def no_shared_argument(shape, p_drop, rng):                # the old signature
    return rng.random(shape) < 1 - p_drop


def wrong_shape(shape, p_drop, rng, shared_axes=()):       # one value per unit only
    return rng.random(shape[-1:]) < 1 - p_drop


def shared_across_batch(shape, p_drop, rng, shared_axes=()):  # same row for every example
    axes = tuple(shared_axes) or (0,)
    return np.broadcast_to(reference_draw_mask(shape, p_drop, rng, axes),
                           _shared_shape(shape, shared_axes)).copy()


def per_example_only(shape, p_drop, rng, shared_axes=()):  # whole example kept or dropped
    col = rng.random((shape[0], *([1] * (len(shape) - 1)))) < 1 - p_drop
    return np.broadcast_to(col, _shared_shape(shape, shared_axes)).copy()


def half_always(shape, p_drop, rng, shared_axes=()):
    return rng.random(_shared_shape(shape, shared_axes)) < 0.5


def less_equal(shape, p_drop, rng, shared_axes=()):  # u <= q keeps units at p_drop = 1 if u = 0
    u = rng.random(_shared_shape(shape, shared_axes))
    u.flat[0] = 0.0
    return u <= 1 - p_drop


def returns_list(shape, p_drop, rng, shared_axes=()):
    return reference_draw_mask(shape, p_drop, rng, shared_axes).tolist()


def returns_none(shape, p_drop, rng, shared_axes=()):
    reference_draw_mask(shape, p_drop, rng, shared_axes)


def crashes(shape, p_drop, rng, shared_axes=()):
    return rng.random(shape) < 1 - p_drop[0]


def only_2d(shape, p_drop, rng, shared_axes=()):
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
    (backwards_rule, ("keeps 20% of units instead of about 80%", "your rule is backwards")),
    (keep_meaning, ("keeps 20% of units", "probability of DROPPING")),
    (half_always, ("keeps 50%", "is p_drop used at all")),
    (global_rng, ("global random state", "rng argument")),
    (fixed_seed_inside, ("two different rng seeds gave the same mask",)),
    (float_mask, ("dtype float64", "boolean (True = keep)")),
    (scaled_mask, ("values other than 0 and 1", "not the rescaled activations")),
    (not_shared, ("shape (40, 30, 50), expected (40, 1, 50)",
                  "your mask is not shared along axis 1")),
    (shared_full_size, ("is shared along axis 1 but keeps its full size there",)),
    (shared_elsewhere, ("shared along axes 0 and 2 instead of axis 1",)),
    (axis_off_by_one, ("shared along axis 2 instead of axis 1",)),
    (shared_dropped_axis, ("keep one axis per axis of the activations",)),
    (edits_shape, ("raised TypeError", "must stay as it is")),
    (no_shared_argument, ("raised TypeError", "must accept the argument shared_axes")),
    (wrong_shape, ("your mask has shape (500,) but the activations have shape (200, 500)",
                   "one independent decision per example and unit")),
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


@pytest.mark.parametrize("fn", [backwards_rule, not_shared, shared_full_size,
                                shared_elsewhere, axis_off_by_one, float_mask, global_rng])
def test_messages_name_the_mistake_without_the_code(fn):
    message = check_draw_mask(fn).messages[0]
    assert "rng.random" not in message and "u <" not in message, message


def test_shared_check_takes_other_inputs():
    kwargs = {"seeds": (11, 12), "p_drops": (0.35, 0.62),
              "cases": (((33, 25, 47), (2,)), ((55, 9, 4, 6), (1, 3)))}
    assert check_draw_mask(reference_draw_mask, **kwargs).passed
    _assert_fails(check_draw_mask(not_shared, **kwargs), "not shared along axis 2")
    _assert_fails(check_draw_mask(axis_off_by_one, **kwargs),
                  "shared along axis 0 instead of axis 2")
    _assert_fails(check_draw_mask(backwards_rule, **kwargs),
                  "keeps 35% of units instead of about 65%")


def test_same_seed_different_masks_is_caught():
    state = {"calls": 0}

    def stateful(shape, p_drop, rng, shared_axes=()):
        state["calls"] += 1
        return reference_draw_mask(shape, p_drop, np.random.default_rng(state["calls"]),
                                   shared_axes)

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


# --------------------------------------------------------------------------- dropconnect


def reference_dropconnect(x, W, p_drop, rng):
    keep = 1 - p_drop
    masks = rng.random((x.shape[0], *W.shape)) < keep       # one mask of W per example
    return np.einsum("ni,nij->nj", x, W * masks) / keep


def library_dropconnect(x, W, p_drop, rng):
    masks = bernoulli_mask((x.shape[0], *W.shape), p_drop, rng)
    return (x[:, :, None] * W * masks).sum(axis=1) / (1 - p_drop)


def stub_dropconnect(x, W, p_drop, rng):
    raise NotImplementedError("write the layer here")


def dc_batch_mask(x, W, p_drop, rng):            # one weight mask for the whole batch
    return x @ (W * (rng.random(W.shape) < 1 - p_drop)) / (1 - p_drop)


def dc_input_dropout(x, W, p_drop, rng):         # dropout on x: whole rows of W
    return (x * (rng.random(x.shape) < 1 - p_drop)) @ W / (1 - p_drop)


def dc_output_dropout(x, W, p_drop, rng):        # dropout on x @ W
    out = x @ W
    return out * (rng.random(out.shape) < 1 - p_drop) / (1 - p_drop)


def dc_not_scaled(x, W, p_drop, rng):
    masks = rng.random((x.shape[0], *W.shape)) < 1 - p_drop
    return np.einsum("ni,nij->nj", x, W * masks)


def dc_times_keep(x, W, p_drop, rng):
    masks = rng.random((x.shape[0], *W.shape)) < 1 - p_drop
    return np.einsum("ni,nij->nj", x, W * masks) * (1 - p_drop)


def dc_divide_by_p(x, W, p_drop, rng):
    masks = rng.random((x.shape[0], *W.shape)) < 1 - p_drop
    return np.einsum("ni,nij->nj", x, W * masks) / p_drop


def dc_backwards(x, W, p_drop, rng):             # keeps where u < p_drop
    masks = rng.random((x.shape[0], *W.shape)) < p_drop
    return np.einsum("ni,nij->nj", x, W * masks) / (1 - p_drop)


def dc_global_rng(x, W, p_drop, rng):
    masks = np.random.rand(x.shape[0], *W.shape) < 1 - p_drop
    return np.einsum("ni,nij->nj", x, W * masks) / (1 - p_drop)


def dc_own_generator(x, W, p_drop, rng):
    return reference_dropconnect(x, W, p_drop, np.random.default_rng(0))


def dc_in_place_weights(x, W, p_drop, rng):      # W *= mask: the mask stays in W
    W *= rng.random(W.shape) < 1 - p_drop
    return x @ W / (1 - p_drop)


def dc_in_place_input(x, W, p_drop, rng):
    x /= 1 - p_drop
    masks = rng.random((x.shape[0], *W.shape)) < 1 - p_drop
    return np.einsum("ni,nij->nj", x, W * masks)


def dc_returns_masked_weights(x, W, p_drop, rng):
    return W * (rng.random((x.shape[0], *W.shape)) < 1 - p_drop) / (1 - p_drop)


def dc_matmul_stack(x, W, p_drop, rng):          # (N, D_in) @ (N, D_in, D_out)
    masks = rng.random((x.shape[0], *W.shape)) < 1 - p_drop
    return x @ (W * masks) / (1 - p_drop)


@pytest.mark.parametrize("fn", [reference_dropconnect, library_dropconnect])
def test_dropconnect_reference_solutions_pass(fn):
    result = check_dropconnect(fn)
    assert result.passed, result.messages
    assert result.exercise == "dropconnect"
    assert len(result.messages) == 6


@pytest.mark.parametrize("fn, fragments", [
    (stub_dropconnect, ("not implemented yet: dropconnect raises NotImplementedError",)),
    (dc_batch_mask, ("every example got the same weight mask",)),
    (dc_input_dropout, ("dropout on the layer's input x",)),
    (dc_output_dropout, ("dropout on the layer's output",)),
    (dc_not_scaled, ("must be scaled by 1 / (1 - p_drop)",)),
    (dc_times_keep, ("multiplied by 1 - p_drop",)),
    (dc_divide_by_p, ("divided by p_drop",)),
    (dc_backwards, ("keeps 30% of connections instead of about 70%",
                    "your rule is backwards")),
    (dc_global_rng, ("global random state",)),
    (dc_own_generator, ("two different rng seeds gave the same output",)),
    (dc_in_place_weights, ("changed the weights W in place",)),
    (dc_in_place_input, ("changed its input x in place",)),
    (dc_returns_masked_weights, ("not the masked weights",)),
    (dc_matmul_stack, ("every example's mask",)),
])
def test_dropconnect_mistakes_get_their_message(fn, fragments):
    _assert_fails(check_dropconnect(fn), *fragments)


@pytest.mark.parametrize("p_drop, dims, repeats", [(0.17, (5, 9), 80), (0.41, (7, 6), 120)])
def test_dropconnect_check_takes_other_inputs(p_drop, dims, repeats):
    kwargs = {"seeds": (11, 12), "p_drop": p_drop, "dims": dims, "repeats": repeats}
    assert check_dropconnect(reference_dropconnect, **kwargs).passed
    assert not check_dropconnect(dc_batch_mask, **kwargs).passed
    assert not check_dropconnect(dc_output_dropout, **kwargs).passed


def test_dropconnect_check_leaves_global_random_state_alone():
    np.random.seed(7)
    expected = np.random.random()
    np.random.seed(7)
    check_dropconnect(dc_global_rng)
    assert np.random.random() == expected


# --------------------------------------------------------------------------- report


def test_report_prints_one_line_verdicts(capsys):
    report(check_draw_mask(reference_draw_mask))
    report(check_draw_mask(backwards_rule))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ draw_mask: 5 of 5 checks passed"
    assert out[1].startswith("✗ draw_mask: with p_drop = 0.2 your mask keeps 20% of units "
                             "instead of about 80%")


def test_report_mentions_further_problems(capsys):
    report(CheckResult("f", False, ("first", "second")))
    assert capsys.readouterr().out.splitlines() == [
        "✗ f: first", "  (1 more problem(s); fix this one first)"]


def test_report_refuses_other_objects():
    with pytest.raises(TypeError, match="CheckResult"):
        report("✓")

"""Tests for the tanh RNN layer, its dropout masks and the sequence classifier."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import binomial_tolerance, global_state_equal, param_gradient_errors

from dropout_lib.data import digits_splits
from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.masks import keep_probability
from dropout_lib.optim import Adam
from dropout_lib.rnn import (
    MASK_KINDS,
    SCHEMES,
    RNNCache,
    RNNClassifier,
    rnn_backward,
    rnn_forward,
    rnn_masks,
)
from dropout_lib.training import evaluate, fit

N, T, D, H = 3, 4, 5, 6


def layer_args(seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(N, T, D)), "W_x": 0.5 * rng.normal(size=(D, H)),
            "W_h": 0.5 * rng.normal(size=(H, H)), "b": 0.1 * rng.normal(size=H),
            "h0": rng.normal(size=(N, H))}


def a_mask(kind, how, p_drop=0.4, seed=3):
    w = D if kind == "input" else H
    shape = (N, w) if how == "locked" else (N, T, w)
    keep = np.random.default_rng(seed).random(shape) >= p_drop
    return keep / (1.0 - p_drop)


def reference(x, W_x, W_h, b, h0, masks):
    """The recurrence written out step by step, masks broadcast by hand."""
    def at(kind, t):
        m = masks.get(kind)
        if m is None:
            return 1.0
        return m if m.ndim == 2 else m[:, t]
    h, out = h0, []
    for t in range(x.shape[1]):
        h = np.tanh((x[:, t] * at("input", t)) @ W_x + (h * at("state", t)) @ W_h + b)
        out.append(h * at("output", t))
    return np.stack(out, axis=1)


# --------------------------------------------------------------------------- the layer


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("how", ["locked", "fresh"])
def test_forward_matches_the_step_by_step_recurrence(kind, how):
    args = layer_args()
    masks = {kind: a_mask(kind, how)}
    out, cache = rnn_forward(**args, masks=masks)
    np.testing.assert_allclose(out, reference(**args, masks=masks), rtol=1e-12, atol=1e-12)
    assert isinstance(cache, RNNCache) and out.shape == (N, T, H)


def test_without_masks_and_h0_the_state_starts_at_zero():
    args = layer_args()
    out, _ = rnn_forward(args["x"], args["W_x"], args["W_h"], args["b"])
    ref = reference(**{**args, "h0": np.zeros((N, H))}, masks={})
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("masks", [
    {}, *({k: ("locked", k)} for k in MASK_KINDS), *({k: ("fresh", k)} for k in MASK_KINDS),
    {"input": ("fresh", "input"), "state": ("locked", "state"),
     "output": ("fresh", "output")}], ids=lambda m: "-".join(
         f"{k}:{v[0]}" for k, v in m.items()) or "none")
def test_gradient_check_of_every_mask_kind(masks):
    args = layer_args(1)
    masks = {k: a_mask(k, how, seed=i) for i, (k, (how, _)) in enumerate(masks.items())}
    dout = np.random.default_rng(2).normal(size=(N, T, H))
    _, cache = rnn_forward(**args, masks=masks)
    grads = dict(zip(["x", "W_x", "W_h", "b", "h0"], rnn_backward(dout, cache)))
    for name, value in args.items():
        def f(v, name=name):
            return rnn_forward(**{**args, name: v}, masks=masks)[0]
        num = numerical_gradient(f, value, dout)
        assert rel_error(grads[name], num) < 1e-7, name


def test_dropped_state_units_carry_no_gradient_to_h0():
    args = layer_args(2)
    m = np.ones((N, H))
    m[:, :2] = 0.0       # the first two state units dropped at every step (locked)
    _, cache = rnn_forward(**args, masks={"state": m})
    dh0 = rnn_backward(np.ones((N, T, H)), cache)[4]
    assert np.all(dh0[:, :2] == 0.0) and np.all(dh0[:, 2:] != 0.0)


def test_a_locked_mask_is_the_fresh_mask_repeated_over_time():
    args = layer_args(3)
    for kind in MASK_KINDS:
        m = a_mask(kind, "locked")
        locked = rnn_forward(**args, masks={kind: m})[0]
        fresh = rnn_forward(**args, masks={kind: np.repeat(m[:, None], T, axis=1)})[0]
        np.testing.assert_array_equal(locked, fresh)


def test_no_input_is_mutated_and_outputs_are_new_arrays():
    args = layer_args(4)
    masks = {k: a_mask(k, "fresh") for k in MASK_KINDS}
    before = {k: v.copy() for k, v in {**args, **masks}.items()}
    out, cache = rnn_forward(**args, masks=masks)
    dout = np.ones_like(out)
    grads = rnn_backward(dout, cache)
    for k, v in {**args, **masks}.items():
        np.testing.assert_array_equal(v, before[k])
    assert np.all(dout == 1.0)
    for g in (out, *grads):
        assert not any(np.shares_memory(g, v) for v in (*args.values(), *masks.values(), dout))
    out2, cache2 = rnn_forward(args["x"], args["W_x"], args["W_h"], args["b"])
    assert not np.shares_memory(out2, cache2.hs)


@pytest.mark.parametrize("change, error, match", [
    ({"x": np.ones((N, T * D))}, ValueError, "x must have shape"),
    ({"x": np.ones((N, T, D), dtype=int)}, TypeError, "x must"),
    ({"x": [[[1.0]]]}, TypeError, "x must"),
    ({"W_x": np.ones((D + 1, H))}, ValueError, "W_x"),
    ({"W_h": np.ones((H, H + 1))}, ValueError, "W_h"),
    ({"b": np.ones(H + 1)}, ValueError, "b must"),
    ({"h0": np.ones((N + 1, H))}, ValueError, "h0"),
])
def test_layer_argument_errors_name_the_argument(change, error, match):
    with pytest.raises(error, match=match):
        rnn_forward(**{**layer_args(), **change})


@pytest.mark.parametrize("masks, error, match", [
    ({"hidden": np.ones((N, H))}, ValueError, "unknown key 'hidden'"),
    ({"state": np.ones((N, T + 1, H))}, ValueError, r"masks\['state'\] must have shape"),
    ({"input": np.ones((N, H))}, ValueError, r"masks\['input'\]"),
    ({"output": np.ones((N, H), dtype=bool)}, TypeError, r"masks\['output'\]"),
    ([np.ones((N, H))], TypeError, "masks must be None or a dict"),
])
def test_mask_errors_name_the_mask(masks, error, match):
    with pytest.raises(error, match=match):
        rnn_forward(**layer_args(), masks=masks)


def test_backward_refuses_a_wrong_cache_or_dout():
    out, cache = rnn_forward(**layer_args())
    with pytest.raises(TypeError, match="cache"):
        rnn_backward(out, {"hs": cache.hs})
    with pytest.raises(ValueError, match="dout"):
        rnn_backward(out[:, 1:], cache)


# --------------------------------------------------------------------------- the masks


def test_each_scheme_draws_the_masks_it_names():
    shapes = {"locked": {"input": (N, D), "state": (N, H), "output": (N, H)},
              "fresh": {"input": (N, T, D), "state": (N, T, H), "output": (N, T, H)}}
    for scheme, kinds in SCHEMES.items():
        masks = rnn_masks(scheme, N, T, D, H, 0.3, np.random.default_rng(0))
        assert set(masks) == set(kinds), scheme
        for kind, how in kinds.items():
            assert masks[kind].shape == shapes[how][kind]
    assert "state" not in rnn_masks("zaremba", N, T, D, H, 0.3, np.random.default_rng(0))
    assert rnn_masks("locked", N, T, D, H, 0.0, None) == {}
    assert rnn_masks("none", N, T, D, H, 0.5, None) == {}


@pytest.mark.parametrize("scheme", ["naive", "locked", "zaremba"])
def test_mask_values_and_expected_value(scheme):
    p_drop, n = 0.3, 4000
    masks = rnn_masks(scheme, n, 5, 7, 9, p_drop, np.random.default_rng(5))
    q = keep_probability(p_drop)
    for m in masks.values():
        assert set(np.unique(m)) == {0.0, 1.0 / (1.0 - p_drop)}
        kept = int(np.count_nonzero(m))
        assert abs(kept - m.size * q) <= binomial_tolerance(m.size, q)
        assert abs(m.mean() - 1.0) < 5 * np.sqrt(p_drop / (1 - p_drop) / m.size) + 1e-3


def test_fresh_masks_differ_over_time_and_locked_ones_cannot():
    fresh = rnn_masks("naive", 50, 6, 8, 8, 0.5, np.random.default_rng(6))
    for m in fresh.values():
        assert all(not np.array_equal(m[:, 0], m[:, t]) for t in range(1, 6))
    locked = rnn_masks("locked", 50, 6, 8, 8, 0.5, np.random.default_rng(6))
    assert all(m.ndim == 2 for m in locked.values())   # one mask per sequence
    # and a locked state mask drops the same units at every step: the
    # dropped units' rows of W_h get no gradient at any step
    args = {k: v[:1] if k in ("x", "h0") else v for k, v in layer_args(7).items()}
    m = rnn_masks("locked", 1, T, D, H, 0.5, np.random.default_rng(8))["state"]
    _, cache = rnn_forward(**args, masks={"state": m})
    dW_h = rnn_backward(np.ones((1, T, H)), cache)[2]
    dropped = m[0] == 0
    assert dropped.any() and not dropped.all()
    assert np.all(dW_h[dropped] == 0.0) and np.all(dW_h[~dropped] != 0.0)


def test_same_seed_same_masks_and_the_global_rng_is_untouched():
    state = np.random.get_state()
    a = rnn_masks("naive", N, T, D, H, 0.4, np.random.default_rng(9))
    b = rnn_masks("naive", N, T, D, H, 0.4, np.random.default_rng(9))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert global_state_equal(state, np.random.get_state())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"scheme": "gal"}, ValueError, "scheme"),
    ({"p_drop": 1.0}, ValueError, "p_drop"),
    ({"p_drop": "0.5"}, TypeError, "p_drop"),
    ({"rng": None}, TypeError, "rng"),
    ({"rng": np.random.RandomState(0)}, TypeError, "rng"),
    ({"batch": 0}, ValueError, "batch"),
    ({"steps": 2.0}, TypeError, "steps"),
    ({"dtype": np.int64}, TypeError, "dtype"),
])
def test_mask_argument_errors_name_the_argument(kwargs, error, match):
    base = {"scheme": "locked", "batch": N, "steps": T, "n_inputs": D, "n_hidden": H,
            "p_drop": 0.5, "rng": np.random.default_rng(0)}
    with pytest.raises(error, match=match):
        rnn_masks(**{**base, **kwargs})


# --------------------------------------------------------------------------- the classifier


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_classifier_gradient_check(scheme):
    rng = np.random.default_rng(10)
    net = RNNClassifier(D, H, 4, T, scheme=scheme, p_drop=0.3, seed=0)
    X, y = rng.normal(size=(5, T * D)), np.array([0, 1, 2, 3, 1])

    def loss():
        return net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(11), l2=0.01)

    assert set(loss()[1]) == set(net.params)
    for key, error in param_gradient_errors(net.params, loss).items():
        assert error < 1e-7, key


def test_classifier_uses_the_layer_and_masks_only_in_training():
    rng = np.random.default_rng(12)
    net = RNNClassifier(D, H, 3, T, scheme="locked", p_drop=0.5, seed=1)
    X = rng.normal(size=(4, T * D))
    p = net.params
    hs = rnn_forward(X.reshape(4, T, D), p["W_x"], p["W_h"], p["b"])[0]
    np.testing.assert_allclose(net.scores(X), hs[:, -1] @ p["W_out"] + p["b_out"],
                               rtol=1e-12)
    y = np.zeros(4, dtype=int)
    eval_loss = net.loss_and_grads(X, y, train=False)[0]
    train_loss = net.loss_and_grads(X, y, train=True, rng=np.random.default_rng(0))[0]
    assert eval_loss != train_loss
    plain = RNNClassifier(D, H, 3, T, scheme="locked", p_drop=0.0, seed=1)
    assert plain.loss_and_grads(X, y, train=True, rng=None)[0] == pytest.approx(eval_loss)


def test_classifier_is_trained_by_fit_and_scored_by_evaluate():
    data = digits_splits(seed=0)
    before = [a.copy() for a in (data.X_train, data.y_train)]
    scores = {}
    for scheme in ("none", "locked"):
        net = RNNClassifier(8, 24, 10, 8, scheme=scheme, p_drop=0.2, seed=0)
        hist = fit(net, data, epochs=4, batch_size=64, optimizer=Adam(1e-2), seed=1)
        loss, acc = evaluate(net, data.X_test, data.y_test)
        assert acc > 0.5 and loss < hist.val_loss[0]        # it learned
        assert loss == pytest.approx(hist.final["test_loss"])
        scores[scheme] = net.scores(data.X_test)
    assert not np.allclose(scores["none"], scores["locked"])
    for a, b in zip(before, (data.X_train, data.y_train)):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_training_and_params_round_trip():
    data = digits_splits(seed=1, n_train=200)
    runs = []
    for _ in range(2):
        net = RNNClassifier(8, 8, 10, 8, scheme="naive", p_drop=0.3, seed=2)
        fit(net, data, epochs=2, batch_size=50, optimizer=Adam(1e-2), seed=3)
        runs.append(net.get_params())
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])
    net.set_params(runs[0])
    saved = net.get_params()
    saved["W_h"][:] = 0.0     # a copy: the network is unchanged
    assert not np.all(net.params["W_h"] == 0.0)
    with pytest.raises(ValueError, match="W_h"):
        net.set_params({**runs[0], "W_h": np.ones((3, 3))})


def test_initial_recurrent_weights_are_orthogonal():
    W_h = RNNClassifier(8, 16, 10, 8, seed=0).params["W_h"]
    np.testing.assert_allclose(W_h @ W_h.T, np.eye(16), atol=1e-12)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"scheme": "variational"}, ValueError, "scheme"),
    ({"p_drop": 1.0}, ValueError, "p_drop"),
    ({"n_hidden": 0}, ValueError, "n_hidden"),
    ({"n_outputs": 1}, ValueError, "n_outputs"),
    ({"steps": "8"}, TypeError, "steps"),
    ({"seed": None}, TypeError, "seed"),
])
def test_classifier_argument_errors_name_the_argument(kwargs, error, match):
    base = {"n_inputs": 8, "n_hidden": 4, "n_outputs": 10, "steps": 8, "seed": 0}
    with pytest.raises(error, match=match):
        RNNClassifier(**{**base, **kwargs})


def test_classifier_refuses_wrong_inputs():
    net = RNNClassifier(8, 4, 10, 8, scheme="locked", p_drop=0.5, seed=0)
    with pytest.raises(ValueError, match="X must have shape"):
        net.scores(np.ones((2, 63)))
    with pytest.raises(TypeError, match="X must be a floating"):
        net.scores(np.ones((2, 64), dtype=int))
    with pytest.raises(TypeError, match="rng"):
        net.loss_and_grads(np.ones((2, 64)), np.zeros(2, dtype=int), train=True)

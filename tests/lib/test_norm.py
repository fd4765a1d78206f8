"""Tests for dropout_lib.norm: batch normalisation with an immutable running state."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import global_state_equal

from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.layers import relu_forward
from dropout_lib.norm import (
    BatchNormCache,
    BatchNormState,
    _batchnorm_backward,
    _batchnorm_forward,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_state,
)

EPS = 1e-5


def make(shape, seed, low=-3.0, high=3.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def params(d, seed=10):
    return make(d, seed, 0.5, 2.0), make(d, seed + 1)


def some_state(d, seed=20):
    return BatchNormState(make(d, seed), make(d, seed + 1, 0.5, 3.0))


# ---------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------


def test_training_normalises_each_feature_with_the_minibatch():
    x = make((16, 5), 0, -2.0, 6.0) * np.arange(1, 6)
    gamma, beta = params(5)
    out, cache, _ = batchnorm_forward(x, gamma, beta, batchnorm_state(5), train=True)
    x_hat = (out - beta) / gamma
    assert np.allclose(x_hat.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(x_hat.var(axis=0), x.var(axis=0) / (x.var(axis=0) + EPS), rtol=1e-12)
    expected = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + EPS) + beta
    assert np.allclose(out, expected, rtol=1e-13, atol=1e-13)
    assert cache.train and np.allclose(cache.x_hat, x_hat, atol=1e-12)


def test_training_returns_a_new_state_by_the_momentum_update():
    x = make((10, 3), 1)
    gamma, beta = params(3)
    state = some_state(3)
    mean_before, var_before = state.mean.copy(), state.var.copy()
    _, _, new = batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.8)
    n = x.shape[0]
    assert np.allclose(new.mean, 0.8 * mean_before + 0.2 * x.mean(0), rtol=1e-14)
    unbiased = x.var(0) * n / (n - 1)
    assert np.allclose(new.var, 0.8 * var_before + 0.2 * unbiased, rtol=1e-14)
    # the state passed in is untouched, and the new one is a separate read-only object
    assert new is not state
    assert np.array_equal(state.mean, mean_before) and np.array_equal(state.var, var_before)
    assert not np.shares_memory(new.mean, state.mean) and not new.mean.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        new.var[0] = 1.0


def test_evaluation_uses_the_running_statistics_and_keeps_the_state():
    x = make((7, 4), 2)
    gamma, beta = params(4)
    state = some_state(4)
    out, _, new = batchnorm_forward(x, gamma, beta, state, train=False)
    assert new is state
    expected = gamma * (x - state.mean) / np.sqrt(state.var + EPS) + beta
    assert np.allclose(out, expected, rtol=1e-13, atol=1e-13)
    # each example is normalised on its own: no dependence on the rest of the batch
    alone, _, _ = batchnorm_forward(x[:1], gamma, beta, state, train=False)
    assert np.allclose(alone, out[:1], rtol=1e-15, atol=1e-15)
    with_batch, _, _ = batchnorm_forward(x[:2], gamma, beta, state, train=True)
    assert not np.allclose(with_batch[:1], out[:1])


def test_running_statistics_converge_to_the_population():
    rng = np.random.default_rng(3)
    mu, sd = np.array([2.0, -1.0, 0.0]), np.array([0.5, 3.0, 1.0])
    gamma, beta = np.ones(3), np.zeros(3)
    state = batchnorm_state(3)
    for _ in range(400):
        batch = mu + sd * rng.standard_normal((32, 3))
        _, _, state = batchnorm_forward(batch, gamma, beta, state, train=True, momentum=0.95)
    # The exponential average weighs about (1 + 0.95) / (1 - 0.95) = 39 batches of 32
    # (the start, 0.95**400 ~ 1e-9, is forgotten): within 5 standard errors.
    n_eff = 39 * 32
    assert np.all(np.abs(state.mean - mu) < 5 * sd / np.sqrt(n_eff))
    assert np.all(np.abs(state.var - sd**2) < 5 * sd**2 * np.sqrt(2 / n_eff))


def test_initial_state():
    state = batchnorm_state(4, np.float32)
    assert state.mean.dtype == np.float32 and np.all(state.mean == 0) and np.all(state.var == 1)
    assert not state.mean.flags.writeable


def test_no_input_is_modified_and_outputs_are_new_arrays():
    x, dout = make((6, 3), 4), make((6, 3), 5)
    gamma, beta = params(3)
    state = some_state(3)
    copies = [a.copy() for a in (x, dout, gamma, beta, state.mean, state.var)]
    for train in (True, False):
        out, cache, _ = batchnorm_forward(x, gamma, beta, state, train=train)
        grads = batchnorm_backward(dout, cache)
        for a in (out, *grads):
            for b in (x, dout, gamma, beta):
                assert not np.shares_memory(a, b)
    for a, before in zip((x, dout, gamma, beta, state.mean, state.var), copies):
        assert np.array_equal(a, before)


def test_global_rng_is_never_used():
    np.random.seed(0)
    before = np.random.get_state()
    x = make((5, 2), 0)
    out, cache, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), batchnorm_state(2), train=True)
    batchnorm_backward(out, cache)
    assert global_state_equal(before, np.random.get_state())


# ---------------------------------------------------------------------------
# backward: gradient checks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("n, d", [(2, 1), (5, 3), (12, 4)])
def test_gradient_check(train, n, d):
    x, dout = make((n, d), n + d), make((n, d), 100 + n)
    gamma, beta = params(d)
    state = some_state(d)

    def fwd(x_, gamma_, beta_):
        return batchnorm_forward(x_, gamma_, beta_, state, train=train)[0]

    _, cache, _ = batchnorm_forward(x, gamma, beta, state, train=train)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(lambda v: fwd(v, gamma, beta), x, dout)) < 1e-7
    assert rel_error(dgamma, numerical_gradient(lambda g: fwd(x, g, beta), gamma, dout)) < 1e-8
    assert rel_error(dbeta, numerical_gradient(lambda b: fwd(x, gamma, b), beta, dout)) < 1e-8


def test_training_gradient_through_the_batch_statistics_matters():
    # Treating the batch mean and variance as constants (the evaluation formula)
    # in training must fail the same check.
    x, dout = make((8, 3), 1), make((8, 3), 2)
    gamma, beta = params(3)
    state = batchnorm_state(3)
    _, cache, _ = batchnorm_forward(x, gamma, beta, state, train=True)
    wrong = dout * gamma * cache.inv_std
    numeric = numerical_gradient(
        lambda v: batchnorm_forward(v, gamma, beta, state, train=True)[0], x, dout
    )
    assert rel_error(wrong, numeric) > 0.1


def test_gradient_after_relu_in_a_small_chain():
    x, dout = make((6, 4), 7), make((6, 4), 8)
    gamma, beta = params(4)
    state = batchnorm_state(4)

    def f(v):
        return relu_forward(batchnorm_forward(v, gamma, beta, state, train=True)[0])[0]

    h, cache, _ = batchnorm_forward(x, gamma, beta, state, train=True)
    dx, _, _ = batchnorm_backward(dout * (h > 0), cache)
    assert rel_error(dx, numerical_gradient(f, x, dout)) < 1e-6


@pytest.mark.parametrize("train", [True, False])
def test_core_is_bit_identical_to_public(train):
    x, dout = make((9, 3), 0), make((9, 3), 1)
    gamma, beta = params(3)
    state = some_state(3)
    out, cache, new = batchnorm_forward(x, gamma, beta, state, train=train)
    out_c, cache_c, new_c = _batchnorm_forward(x, gamma, beta, state, train, 0.9, 1e-5)
    assert out_c.tobytes() == out.tobytes() and new_c.var.tobytes() == new.var.tobytes()
    for g, g_c in zip(batchnorm_backward(dout, cache), _batchnorm_backward(dout, cache_c)):
        assert g_c.tobytes() == g.tobytes()


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

X = np.ones((4, 3)) * np.arange(4)[:, None]
G, B, S = np.ones(3), np.zeros(3), batchnorm_state(3)


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((X[0], G, B, S), {}, ValueError, r"x must have shape \(N, D\)"),
        ((X.astype(int), G, B, S), {}, TypeError, r"x must be a NumPy array of floating"),
        ((X, np.ones(2), B, S), {}, ValueError,
         r"gamma must have the same shape as the features of x \(D,\), \(3,\)"),
        ((X, G, [0.0, 0.0, 0.0], S), {}, TypeError, r"beta must be a NumPy array"),
        ((X, G, B, {"mean": 0}), {}, TypeError, r"state must be a BatchNormState"),
        ((X, G, B, batchnorm_state(2)), {}, ValueError, r"state.mean must have the same shape"),
        ((X, G, B, S), {"momentum": 1.5}, ValueError, r"momentum must be a finite number in"),
        ((X, G, B, S), {"eps": 0.0}, ValueError, r"eps must be a finite number > 0.0"),
        ((X, G, B, S), {"train": "yes"}, TypeError, r"train must be a bool"),
        ((X[:1], G, B, S), {}, ValueError, r"x must hold N >= 2 examples in training"),
    ],
)
def test_bad_arguments_are_named(args, kwargs, exc, match):
    kwargs = {"train": True, **kwargs}
    with pytest.raises(exc, match=match):
        batchnorm_forward(*args, **kwargs)


def test_bad_state_size_dtype_dout_and_cache():
    with pytest.raises(ValueError, match="num_features must be an int >= 1"):
        batchnorm_state(0)
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        batchnorm_state(3, np.int64)
    _, cache, _ = batchnorm_forward(X, G, B, S, train=True)
    with pytest.raises(ValueError, match="dout must have the same shape as the output of"):
        batchnorm_backward(np.ones((4, 2)), cache)
    with pytest.raises(TypeError, match="cache must be the BatchNormCache returned by "
                                        "batchnorm_forward, got tuple"):
        batchnorm_backward(np.ones((4, 3)), (cache,))
    assert isinstance(cache, BatchNormCache)
    # N = 1 is fine at evaluation
    out, _, _ = batchnorm_forward(X[:1], G, B, S, train=False)
    assert out.shape == (1, 3)

"""Tests for dropout_lib.alpha: SELU and alpha dropout (Klambauer et al. 2017)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import global_state_equal

from dropout_lib.alpha import (
    SELU_ALPHA,
    SELU_LAMBDA,
    AlphaDropoutCache,
    alpha_dropout_affine,
    alpha_dropout_backward,
    alpha_dropout_forward,
    alpha_prime,
    selu_backward,
    selu_forward,
)
from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.masks import bernoulli_mask

FLOATS = [np.float16, np.float32, np.float64]
N_DRAWS = 400_000
SIGMAS = 5.0  # tolerance: 5 standard errors of each sample moment


def make_x(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------
# SELU
# ---------------------------------------------------------------------------


def test_selu_values_and_its_fixed_point():
    x = np.array([-30.0, -1.0, 0.0, 2.0])
    out, _ = selu_forward(x)
    expected = SELU_LAMBDA * np.array(
        [SELU_ALPHA * math.expm1(-30.0), SELU_ALPHA * math.expm1(-1.0), 0.0, 2.0])
    assert np.allclose(out, expected, rtol=1e-15, atol=0)
    assert out[0] == pytest.approx(alpha_prime(), rel=1e-12)
    # The constants make N(0, 1) -> mean 0, variance 1 (quadrature, not sampling).
    z = np.linspace(-12.0, 12.0, 480_001)
    w = np.exp(-z**2 / 2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    s, _ = selu_forward(z)
    assert abs(np.sum(w * s)) < 1e-6
    assert abs(np.sum(w * s**2) - 1.0) < 1e-6


@pytest.mark.parametrize("dtype", FLOATS)
def test_selu_keeps_dtype_and_does_not_modify_input(dtype):
    x = make_x((4, 5), dtype)
    before = x.copy()
    out, cache = selu_forward(x)
    dx = selu_backward(np.ones_like(x), cache)
    assert out.dtype == dtype and dx.dtype == dtype
    assert np.array_equal(x, before) and not np.shares_memory(out, x)


def test_selu_gradient_check():
    x = make_x((5, 6), seed=1)
    x = np.where(np.abs(x) < 0.05, 0.5, x)  # away from the kink at 0
    dout = make_x((5, 6), seed=2)
    _, cache = selu_forward(x)
    num = numerical_gradient(lambda v: selu_forward(v)[0], x, dout)
    assert rel_error(selu_backward(dout, cache), num) < 1e-8


# ---------------------------------------------------------------------------
# the affine correction
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("p_drop", [0.0, 0.05, 0.1, 0.5, 0.9])
def test_affine_solves_the_two_moment_equations(p_drop):
    a, b = alpha_dropout_affine(p_drop)
    q, ap = 1.0 - p_drop, alpha_prime()
    mean_y, var_y = (1 - q) * ap, q + ap**2 * q * (1 - q)  # x: mean 0, var 1
    assert a * mean_y + b == pytest.approx(0.0, abs=1e-14)
    assert a**2 * var_y == pytest.approx(1.0, rel=1e-14)


def test_affine_at_zero_is_the_identity():
    assert alpha_dropout_affine(0.0) == (1.0, 0.0)


def _moment_tolerances(p_drop: float, n: int) -> tuple[float, float]:
    """5 standard errors of the sample mean and variance of alpha dropout on N(0, 1).

    The output has mean 0 and variance 1; its fourth moment mixes the kept
    part a x + b (x ~ N(0, 1)) and the constant a alpha' + b of dropped units.
    """
    a, b = alpha_dropout_affine(p_drop)
    q, c = 1.0 - p_drop, a * alpha_prime() + b
    mu4 = q * (3 * a**4 + 6 * a**2 * b**2 + b**4) + (1 - q) * c**4
    return SIGMAS / math.sqrt(n), SIGMAS * math.sqrt((mu4 - 1.0) / n)


@pytest.mark.parametrize("p_drop", [0.05, 0.1, 0.3, 0.5])
def test_standard_normal_input_keeps_mean_zero_and_variance_one(p_drop):
    x = make_x(N_DRAWS, seed=3)
    out, _ = alpha_dropout_forward(x, p_drop, train=True,
                                   rng=np.random.default_rng(4))
    mean_tol, var_tol = _moment_tolerances(p_drop, N_DRAWS)
    # output entries are i.i.d. (x and the mask both drawn per entry), so
    # these standard errors include the input's sampling noise
    assert abs(out.mean()) <= mean_tol
    assert abs(out.var(ddof=1) - 1.0) <= var_tol


def test_the_tolerance_catches_dropout_without_the_correction():
    # Plain inverted dropout (dropped units 0, kept / q) raises the variance
    # to 1 / q; alpha' without (a, b) shifts the mean. Both must fail.
    p_drop = 0.1
    x = make_x(N_DRAWS, seed=3)
    keep = bernoulli_mask(N_DRAWS, p_drop, np.random.default_rng(4))
    mean_tol, var_tol = _moment_tolerances(p_drop, N_DRAWS)
    plain = np.where(keep, x / (1 - p_drop), 0.0)
    assert abs(plain.var() - 1.0) > 2 * var_tol
    uncorrected = np.where(keep, x, alpha_prime())
    assert abs(uncorrected.mean()) > 2 * mean_tol


# ---------------------------------------------------------------------------
# forward / backward
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_forward_uses_the_library_mask_and_the_affine_map(dtype):
    x = make_x((6, 7), dtype, seed=5)
    before = x.copy()
    out, cache = alpha_dropout_forward(x, 0.3, train=True,
                                       rng=np.random.default_rng(9))
    keep = bernoulli_mask((6, 7), 0.3, np.random.default_rng(9))
    a, b = alpha_dropout_affine(0.3)
    expected = (a * np.where(keep, x.astype(np.float64), alpha_prime()) + b)
    assert np.array_equal(cache.mask, keep)
    assert out.dtype == dtype and out.shape == x.shape
    tol = {np.float16: 2e-3, np.float32: 1e-6, np.float64: 1e-14}[dtype]
    assert np.allclose(out, expected, rtol=tol, atol=tol)
    assert np.array_equal(x, before) and not np.shares_memory(out, x)


def test_shared_axes_drop_whole_feature_maps():
    x = make_x((3, 4, 5, 5), seed=6)
    out, cache = alpha_dropout_forward(x, 0.5, train=True, shared_axes=(2, 3),
                                       rng=np.random.default_rng(1))
    assert cache.mask.shape == (3, 4, 1, 1)
    a, b = alpha_dropout_affine(0.5)
    dropped = ~cache.mask[:, :, 0, 0]
    assert dropped.any() and (~dropped).any()
    assert np.allclose(out[dropped], a * alpha_prime() + b)


def test_eval_is_an_identity_copy_without_rng():
    x = make_x((4, 3))
    out, cache = alpha_dropout_forward(x, 0.5, train=False)
    assert np.array_equal(out, x) and not np.shares_memory(out, x)
    dout = make_x((4, 3), seed=1)
    assert np.array_equal(alpha_dropout_backward(dout, cache), dout)


def test_p_drop_zero_is_the_identity_in_training_without_rng():
    x = make_x((3, 4))
    out, _ = alpha_dropout_forward(x, 0.0, train=True)
    assert np.array_equal(out, x)


def test_gradient_check_with_a_fixed_mask():
    x = make_x((4, 6), seed=7)
    dout = make_x((4, 6), seed=8)
    dout_before = dout.copy()
    _, cache = alpha_dropout_forward(x, 0.4, train=True,
                                     rng=np.random.default_rng(3))
    assert (~cache.mask).any() and cache.mask.any()

    def f(v):
        return alpha_dropout_forward(v, 0.4, train=True, mask=cache.mask)[0]

    dx = alpha_dropout_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(f, x, dout)) < 1e-9
    assert np.all(dx[~cache.mask] == 0.0)
    assert np.array_equal(dout, dout_before)


def test_selu_then_alpha_dropout_gradient_check():
    x = make_x((3, 5), seed=10)
    x = np.where(np.abs(x) < 0.05, 0.5, x)
    dout = make_x((3, 5), seed=11)
    keep = bernoulli_mask((3, 5), 0.2, np.random.default_rng(12))

    def f(v):
        s, _ = selu_forward(v)
        return alpha_dropout_forward(s, 0.2, train=True, mask=keep)[0]

    s, c1 = selu_forward(x)
    _, c2 = alpha_dropout_forward(s, 0.2, train=True, mask=keep)
    dx = selu_backward(alpha_dropout_backward(dout, c2), c1)
    assert rel_error(dx, numerical_gradient(f, x, dout)) < 1e-8


def test_same_seed_same_output_and_no_global_rng():
    x = make_x((20, 10))
    before = np.random.get_state()
    a, _ = alpha_dropout_forward(x, 0.2, train=True, rng=np.random.default_rng(7))
    b, _ = alpha_dropout_forward(x, 0.2, train=True, rng=np.random.default_rng(7))
    c, _ = alpha_dropout_forward(x, 0.2, train=True, rng=np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert global_state_equal(before, np.random.get_state())


# ---------------------------------------------------------------------------
# argument errors
# ---------------------------------------------------------------------------


def test_argument_errors_name_the_argument():
    x = make_x((2, 3))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="p_drop must be < 1"):
        alpha_dropout_forward(x, 1.0, train=True, rng=rng)
    with pytest.raises(ValueError, match="p_drop"):
        alpha_dropout_affine(-0.1)
    with pytest.raises(TypeError, match="p_drop"):
        alpha_dropout_forward(x, "0.5", train=True, rng=rng)
    with pytest.raises(TypeError, match="rng"):
        alpha_dropout_forward(x, 0.5, train=True)
    with pytest.raises(TypeError, match="rng"):
        alpha_dropout_forward(x, 0.5, train=True, rng=np.random.RandomState(0))
    with pytest.raises(TypeError, match="train"):
        alpha_dropout_forward(x, 0.5, train=1, rng=rng)
    with pytest.raises(TypeError, match="x"):
        alpha_dropout_forward([[1.0]], 0.5, train=True, rng=rng)
    with pytest.raises(TypeError, match="mask"):
        alpha_dropout_forward(x, 0.5, train=True, mask=np.ones((2, 3)))
    with pytest.raises(ValueError, match="mask"):
        alpha_dropout_forward(x, 0.5, train=True, mask=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="mask"):
        alpha_dropout_forward(x, 0.5, train=False, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="shared_axes"):
        alpha_dropout_forward(x, 0.5, train=True, rng=rng, shared_axes=2)
    _, cache = alpha_dropout_forward(x, 0.5, train=True, rng=rng)
    with pytest.raises(ValueError, match="dout"):
        alpha_dropout_backward(np.ones((3, 2)), cache)
    with pytest.raises(TypeError, match="cache"):
        alpha_dropout_backward(np.ones((2, 3)), selu_forward(x)[1])
    with pytest.raises(TypeError, match="cache"):
        selu_backward(np.ones((2, 3)), cache)
    with pytest.raises(TypeError, match="x"):
        selu_forward(np.arange(3))
    assert isinstance(cache, AlphaDropoutCache)

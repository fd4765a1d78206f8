"""Tests for dropout_lib.gradcheck: centred-difference gradients and rel_error."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib.gradcheck import numerical_gradient, rel_error

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)

seeds = st.integers(0, 2**32 - 1)
shapes = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)


def make_x(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=shape).astype(dtype)


# ---------------------------------------------------------------------------
# numerical_gradient
# ---------------------------------------------------------------------------


@given(shape=shapes, seed=seeds)
@PROPERTY
def test_gradient_of_scalar_function(shape, seed):
    x = make_x(shape, seed)
    x_before = x.copy()
    c = make_x(shape, seed + 1)
    g = numerical_gradient(lambda v: float(np.sum(c * v**3)), x)
    assert g.shape == x.shape and g.dtype == np.float64
    # centred differences of a cubic are exact up to the c * h^2 term and rounding
    # of order eps * |f| / h (f is a sum over all entries, so absolute tolerance)
    h = 1e-5
    f_size = float(np.sum(np.abs(c * x**3))) + 1.0
    assert np.allclose(g, 3 * c * x**2 + c * h * h, rtol=1e-9, atol=1e-15 * f_size / h)
    assert np.array_equal(x, x_before)


@given(shape=shapes, seed=seeds)
@PROPERTY
def test_gradient_of_array_function_with_dout(shape, seed):
    x = make_x(shape, seed)
    dout = make_x(shape, seed + 1)
    x_before, dout_before = x.copy(), dout.copy()
    g = numerical_gradient(np.sin, x, dout)
    assert rel_error(g, np.cos(x) * dout) < 1e-8
    assert np.array_equal(x, x_before) and np.array_equal(dout, dout_before)


def test_gradient_with_output_of_different_shape():
    # f: (3,) -> (2, 3), the outer product with a fixed vector
    a = np.array([1.0, -2.0])
    x = np.array([0.5, 1.5, -1.0])
    dout = np.arange(6.0).reshape(2, 3)
    g = numerical_gradient(lambda v: np.outer(a, v), x, dout)
    assert rel_error(g, a @ dout) < 1e-9


def test_float32_input_is_differentiated_in_float64_and_left_alone():
    x = np.array([0.25, -1.0, 3.0], dtype=np.float32)
    x_before = x.copy()
    seen = []

    def f(v):
        seen.append(v.dtype)
        return float(np.sum(v**2))

    g = numerical_gradient(f, x)
    assert g.dtype == np.float64 and x.dtype == np.float32
    assert set(seen) == {np.dtype(np.float64)}
    assert rel_error(g, 2 * x.astype(np.float64)) < 1e-8
    assert np.array_equal(x, x_before)


def test_input_never_passed_and_never_modified_even_if_f_mutates_its_argument():
    x = np.array([1.0, 2.0, 3.0])
    x_before = x.copy()

    def nasty(v):
        assert v is not x and not np.shares_memory(v, x)
        value = float(np.sum(v**2))
        v[...] = 1e6  # a buggy f that scribbles on its argument
        return value

    g = numerical_gradient(nasty, x)
    assert np.array_equal(x, x_before)
    assert rel_error(g, 2 * x) < 1e-8  # later evaluations were not corrupted either


def test_calls_f_twice_per_entry():
    calls = []
    x = np.zeros((2, 3))
    numerical_gradient(lambda v: calls.append(1) or 0.0, x)
    assert len(calls) == 2 * x.size


@pytest.mark.parametrize("h", [1e-1, 1e-2, 1e-3])
def test_step_size_is_used(h):
    # For f = x**3 the centred difference is exactly 3x^2 + h^2, up to rounding
    # of order eps * |f| / h; large steps make the h^2 term visible.
    x = np.array([2.0])
    g = numerical_gradient(lambda v: float(v[0] ** 3), x, h=h)
    assert abs(g[0] - (12.0 + h * h)) <= 1e-14 / h + 1e-12


def test_zero_size_input():
    g = numerical_gradient(lambda v: 0.0, np.zeros((0, 3)))
    assert g.shape == (0, 3)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(f=np.sin, dout=None), ValueError, r"f returned an array of shape \(3,\); pass dout"),
        (
            dict(f=np.sum, dout=np.ones(3)),
            ValueError,
            r"dout must have the shape of f\(x\), got dout of shape \(3,\) but f returned a scalar",
        ),
        (
            dict(f=np.sin, dout=np.ones(4)),
            ValueError,
            r"dout must have the shape of f\(x\), got dout of shape \(4,\) "
            r"but f returned an array of shape \(3,\)",
        ),
        (
            dict(f=np.sin, dout=[1.0, 1.0, 1.0]),
            TypeError,
            r"dout must be a NumPy array of floating dtype.*got list",
        ),
        (dict(f=np.sum, h=0.0), ValueError, r"h must be a positive finite real number, got 0\.0"),
        (
            dict(f=np.sum, h=-1e-5),
            ValueError,
            r"h must be a positive finite real number, got -1e-05",
        ),
        (
            dict(f=np.sum, h=float("nan")),
            ValueError,
            r"h must be a positive finite real number, got nan",
        ),
        (dict(f=np.sum, h=True), TypeError, r"h must be a positive finite real number, got bool"),
        (dict(f=np.sum, h="1e-5"), TypeError, r"h must be a positive finite real number, got str"),
        (dict(f="sin"), TypeError, r"f must be callable, got str"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    x = np.array([0.1, 0.2, 0.3])
    f = kwargs.pop("f")
    with pytest.raises(exc, match=match):
        numerical_gradient(f, x, **kwargs)


@pytest.mark.parametrize(
    "x, match",
    [
        (
            [1.0, 2.0],
            r"x must be a NumPy array of floating dtype \(float16/32/64\), got list; "
            r"pass np\.asarray\(x, dtype=float\)",
        ),
        (np.arange(3), r"x must be a NumPy array of floating dtype \(float16/32/64\), got int64"),
    ],
)
def test_bad_x(x, match):
    with pytest.raises(TypeError, match=match):
        numerical_gradient(np.sum, x)


# ---------------------------------------------------------------------------
# rel_error
# ---------------------------------------------------------------------------


def test_rel_error_definition():
    assert rel_error(1.0, 1.1) == pytest.approx(0.1 / 2.1, rel=1e-12)
    assert rel_error(np.array([1.0, 10.0]), np.array([1.0, 11.0])) == pytest.approx(
        1 / 21, rel=1e-12
    )
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    # the 1e-8 floor on the denominator: tiny absolute differences near 0 are not "100 %"
    assert rel_error(0.0, 1e-12) == pytest.approx(1e-4, rel=1e-9)
    assert rel_error(0.0, 1.0) == 1.0
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    assert isinstance(rel_error(np.ones(2), np.ones(2)), float)


@given(shape=shapes, seed=seeds)
@PROPERTY
def test_rel_error_properties(shape, seed):
    a = make_x(shape, seed)
    b = make_x(shape, seed + 1)
    r = rel_error(a, b)
    assert r == rel_error(b, a)  # symmetric
    assert 0.0 <= r <= 1.0  # |a - b| <= |a| + |b|
    assert rel_error(a, a.copy()) == 0.0
    if a.size:
        assert math.isclose(rel_error(a, -a), 1.0) or np.all(np.abs(a) < 5e-9)


def test_rel_error_mixed_precision_and_inputs_untouched():
    a = np.array([1.0, 2.0], dtype=np.float32)
    b = np.array([1.0, 2.0 + 2**-20])
    a0, b0 = a.copy(), b.copy()
    assert rel_error(a, b) == pytest.approx(2**-20 / (4 + 2**-20))
    assert np.array_equal(a, a0) and np.array_equal(b, b0)


def test_rel_error_errors():
    with pytest.raises(
        ValueError, match=r"a and b must have the same shape, got \(3,\) and \(1, 3\)"
    ):
        rel_error(np.ones(3), np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"a and b must have the same shape, got \(2,\) and \(\)"):
        rel_error(np.ones(2), 1.0)
    with pytest.raises(
        TypeError, match=r"a must be a real-valued array or number, got dtype complex128"
    ):
        rel_error(np.ones(2, dtype=complex), np.ones(2))
    with pytest.raises(TypeError, match=r"b must be a real-valued array or number, got dtype <U3"):
        rel_error(np.ones(1), "abc")

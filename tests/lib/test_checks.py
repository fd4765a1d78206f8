"""Tests for dropout_lib._checks, the argument checks shared by every module,
and for the package-wide rules (no global RNG in library code, messages name
the argument)."""

from __future__ import annotations

import math
import re
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib import _checks as v
from dropout_lib.gradcheck import numerical_gradient
from dropout_lib.layers import dropout_forward
from dropout_lib.masks import bernoulli_mask, keep_probability

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)

# ---------------------------------------------------------------------------
# check_p_drop
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, 0.0),
        (1, 1.0),
        (0.5, 0.5),
        (np.float32(0.25), 0.25),
        (np.float16(0.5), 0.5),
        (np.int64(1), 1.0),
        (Fraction(1, 4), 0.25),
        (-0.0, 0.0),
    ],
)
def test_check_p_drop_accepts_real_numbers(value, expected):
    out = v.check_p_drop(value)
    assert type(out) is float and out == expected


@given(p=st.floats(0.0, 1.0))
@PROPERTY
def test_check_p_drop_round_trips_valid_floats(p):
    assert v.check_p_drop(p) == p


@given(
    p=st.one_of(
        st.floats(max_value=-1e-300), st.floats(min_value=1.0 + 1e-15), st.just(float("nan"))
    )
)
@PROPERTY
def test_check_p_drop_rejects_out_of_range_values(p):
    with pytest.raises(ValueError, match=r"^p_drop must be a real number in \[0, 1\], got "):
        v.check_p_drop(p)


@pytest.mark.parametrize(
    "value, got",
    [
        (True, r"bool \(True\)"),
        (np.bool_(False), r"bool"),
        ("0.5", r"str \('0\.5'\)"),
        (None, "None"),
        (1j, "complex"),
        ([0.5], "list"),
        (np.array([0.5]), "ndarray of dtype float64 and shape \\(1,\\)"),
    ],
)
def test_check_p_drop_rejects_non_numbers(value, got):
    with pytest.raises(TypeError, match=r"^p_drop must be a real number in \[0, 1\], got " + got):
        v.check_p_drop(value)


def test_check_p_drop_uses_the_given_name():
    with pytest.raises(
        ValueError, match=r"^p_drop_hidden\[1\] must be a real number in \[0, 1\], got 2\.0"
    ):
        v.check_p_drop(2.0, "p_drop_hidden[1]")


# ---------------------------------------------------------------------------
# check_float_array
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_check_float_array_accepts_and_returns_same_object(dtype):
    x = np.zeros((2, 3), dtype=dtype)
    assert v.check_float_array(x) is x


@pytest.mark.parametrize(
    "x, got",
    [
        (np.zeros(2, dtype=np.int64), "int64"),
        (np.zeros(2, dtype=bool), "bool"),
        (np.zeros(2, dtype=object), "object"),
        (np.zeros(2, dtype=np.complex64), "complex64"),
        (np.zeros(2, dtype=np.uint8), "uint8"),
        (np.zeros(2, dtype=np.longdouble), str(np.dtype(np.longdouble))),
    ],
)
def test_check_float_array_rejects_other_dtypes(x, got):
    if x.dtype == np.float64:  # platforms where longdouble is float64
        pytest.skip("longdouble is float64 here")
    with pytest.raises(
        TypeError, match=r"^x must be a NumPy array of floating dtype \(float16/32/64\), got " + got
    ):
        v.check_float_array(x)


@pytest.mark.parametrize(
    "x, got",
    [
        ([1.0], "list"),
        (1.0, "float"),
        ((1.0,), "tuple"),
        (None, "NoneType"),
        (np.float64(1.0), "float64"),
    ],
)
def test_check_float_array_rejects_non_arrays_with_hint(x, got):
    with pytest.raises(
        TypeError,
        match=rf"^dout must be a NumPy array .*got {got}; pass np\.asarray\(dout, dtype=float\)",
    ):
        v.check_float_array(x, "dout")


def test_check_float_array_rejects_np_matrix():
    # np.matrix redefines * as the matrix product, which would silently break dropout.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        m = np.matrix([[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"^x must be a NumPy array .*got matrix"):
        v.check_float_array(m)


# ---------------------------------------------------------------------------
# check_rng, check_bool, check_choice, check_positive_real
# ---------------------------------------------------------------------------


def test_check_rng():
    rng = np.random.default_rng(0)
    assert v.check_rng(rng) is rng
    for bad, got in [
        (np.random.RandomState(0), "RandomState"),
        (None, "None"),
        (0, "int"),
        (np.random, "module"),
        (np.random.PCG64(), "PCG64"),
    ]:
        with pytest.raises(
            TypeError,
            match=r"^rng must be a numpy\.random\.Generator "
            r"\(e\.g\. np\.random\.default_rng\(0\)\), got " + got,
        ):
            v.check_rng(bad)


def test_check_bool():
    assert v.check_bool(True, "train") is True
    assert v.check_bool(np.bool_(False), "train") is False
    for bad in (1, 0, None, "yes", 1.0):
        with pytest.raises(TypeError, match=r"^train must be a bool \(True for training\), got "):
            v.check_bool(bad, "train", "True for training")
    with pytest.raises(TypeError, match=r"^flag must be a bool, got 1$"):
        v.check_bool(1, "flag")


def test_check_choice():
    assert v.check_choice("original", "mode", ("inverted", "original")) == "original"
    for bad in ("Original", "", None, 0):
        with pytest.raises(ValueError, match=r"^mode must be one of 'inverted', 'original', got "):
            v.check_choice(bad, "mode", ("inverted", "original"))


def test_check_positive_real():
    assert v.check_positive_real(1, "h") == 1.0
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"^h must be a positive finite real number, got "):
            v.check_positive_real(bad, "h")
    for bad in (True, "1", None):
        with pytest.raises(TypeError, match=r"^h must be a positive finite real number, got "):
            v.check_positive_real(bad, "h")


# ---------------------------------------------------------------------------
# check_int, check_scalar, as_generator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_check_int_accepts_python_and_numpy_ints(value):
    out = v.check_int(value, "n", 1, 5)
    assert type(out) is int and out == 3


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, np.float64(3.0), "3", None, [3]])
def test_check_int_rejects_non_ints_with_type_error(value):
    with pytest.raises(TypeError, match=r"^n_units must be an int; got "):
        v.check_int(value, "n_units", 0)


@pytest.mark.parametrize(
    "value, low, high, match",
    [
        (0, 1, None, r"^epochs must be an int >= 1; got 0$"),
        (6, None, 5, r"^epochs must be an int <= 5; got 6$"),
        (0, 1, 5, r"^epochs must be an int in 1\.\.5; got 0$"),
        (6, 1, 5, r"^epochs must be an int in 1\.\.5; got 6$"),
    ],
)
def test_check_int_range_errors_name_the_argument(value, low, high, match):
    with pytest.raises(ValueError, match=match):
        v.check_int(value, "epochs", low, high)


def test_check_int_bounds_are_closed():
    assert v.check_int(1, "n", 1, 5) == 1
    assert v.check_int(5, "n", 1, 5) == 5
    assert v.check_int(-7, "n") == -7


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), np.int64(1), Fraction(1, 2)])
def test_check_scalar_accepts_real_numbers(value):
    out = v.check_scalar(value, "l2", low=0.0, high=1.0)
    assert type(out) is float and out == float(value)


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, 1j, np.array([0.5])])
def test_check_scalar_rejects_non_numbers_with_type_error(value):
    with pytest.raises(TypeError, match=r"^l2 must be a real number; got "):
        v.check_scalar(value, "l2", low=0.0)


@pytest.mark.parametrize(
    "value, kwargs, match",
    [
        (-1.0, {"low": 0.0}, r"^l2 must be a finite number >= 0\.0; got -1\.0$"),
        (0.0, {"low": 0.0, "low_open": True}, r"^l2 must be a finite number > 0\.0; got 0\.0$"),
        (2.0, {"high": 1.0}, r"^l2 must be a finite number <= 1\.0; got 2\.0$"),
        (1.0, {"high": 1.0, "high_open": True}, r"^l2 must be a finite number < 1\.0; got 1\.0$"),
        (1.0, {"low": 0.0, "high": 1.0, "high_open": True},
         r"^l2 must be a finite number in \[0\.0, 1\.0\); got 1\.0$"),
        (0.0, {"low": 0.0, "high": 1.0, "low_open": True},
         r"^l2 must be a finite number in \(0\.0, 1\.0\]; got 0\.0$"),
        (0.0, {"low": 0.0, "high": math.inf, "low_open": True, "high_open": True},
         r"^l2 must be a finite number in \(0\.0, inf\); got 0\.0$"),
        (float("nan"), {}, r"^l2 must be a finite number; got nan$"),
        (float("inf"), {"low": 0.0}, r"^l2 must be a finite number >= 0\.0; got inf$"),
    ],
)
def test_check_scalar_value_errors_name_the_argument_and_the_range(value, kwargs, match):
    with pytest.raises(ValueError, match=match):
        v.check_scalar(value, "l2", **kwargs)


def test_check_scalar_closed_bounds_include_the_bound():
    assert v.check_scalar(0.0, "x", low=0.0, high=1.0) == 0.0
    assert v.check_scalar(1.0, "x", low=0.0, high=1.0) == 1.0
    assert v.check_scalar(-1e300, "x") == -1e300


@pytest.mark.parametrize("seed", [0, 7, np.int64(7), np.uint32(7), np.random.SeedSequence(7)])
def test_as_generator_from_a_seed(seed):
    gen = v.as_generator(seed)
    assert isinstance(gen, np.random.Generator)
    assert gen.integers(1 << 30) == np.random.default_rng(seed).integers(1 << 30)


def test_as_generator_returns_the_given_rng_itself():
    rng = np.random.default_rng(0)
    assert v.as_generator(rng=rng) is rng


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, (r"^a seed \(int\) or rng \(numpy\.random\.Generator\) is required; "
              r"the global NumPy random state is never used$")),
        ({"seed": 0, "rng": np.random.default_rng(0)}, r"^give either seed or rng, not both$"),
        ({"seed": True}, r"^seed must be an int or numpy\.random\.SeedSequence; got bool$"),
        ({"seed": 1.5}, r"^seed must be an int or numpy\.random\.SeedSequence; got float$"),
        ({"seed": "0"}, r"^seed must be an int or numpy\.random\.SeedSequence; got str$"),
        ({"rng": np.random.RandomState(0)}, r"^rng must be a numpy\.random\.Generator"),
        ({"rng": 0}, r"^rng must be a numpy\.random\.Generator"),
        ({"seed": 1.5, "name": "init_seed"}, r"^init_seed must be an int"),
        ({"name": "init_seed"}, r"^a init_seed \(int\) or rng"),
    ],
)
def test_as_generator_type_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        v.as_generator(**kwargs)


# ---------------------------------------------------------------------------
# check_shape, check_axes, check_same_shape
# ---------------------------------------------------------------------------


def test_check_shape():
    assert v.check_shape(3) == (3,)
    assert v.check_shape(()) == ()
    assert v.check_shape((np.int64(2), 0, 5)) == (2, 0, 5)
    assert all(type(s) is int for s in v.check_shape((np.int32(2), np.uint8(3))))
    with pytest.raises(ValueError, match=r"^shape must contain non-negative ints, got \(1, -2\)"):
        v.check_shape((1, -2))
    for bad in ([1, 2], 2.0, (2, 2.0), (True,), "3", None):
        with pytest.raises(
            TypeError, match=r"^shape must be an int or a tuple of non-negative ints"
        ):
            v.check_shape(bad)


@given(ndim=st.integers(1, 5), data=st.data())
@PROPERTY
def test_check_axes_normalises(ndim, data):
    axes = data.draw(st.lists(st.integers(0, ndim - 1), unique=True))
    signed = [a - ndim if data.draw(st.booleans()) else a for a in axes]
    assert v.check_axes(tuple(signed), ndim) == tuple(sorted(axes))
    assert v.check_axes(list(signed), ndim) == tuple(sorted(axes))


def test_check_axes_errors():
    assert v.check_axes(-1, 3) == (2,)
    with pytest.raises(
        ValueError,
        match=r"^shared_axes contains axis 3, which is out of range for an array with "
        r"ndim = 3 \(valid axes are -3\.\.2\)",
    ):
        v.check_axes((3,), 3)
    with pytest.raises(
        ValueError, match=r"^shared_axes contains axis 2 more than once \(2 twice\) for ndim = 3"
    ):
        v.check_axes((2, 2), 3)
    with pytest.raises(
        ValueError, match=r"^axes contains axis 0 more than once \(as 0 and -3\) for ndim = 3"
    ):
        v.check_axes((0, -3), 3, "axes")
    with pytest.raises(TypeError, match=r"^shared_axes must be an int or a tuple of ints"):
        v.check_axes((0.0,), 3)


def test_check_same_shape():
    v.check_same_shape(np.zeros((2, 3)), (2, 3), "dout", "x")
    with pytest.raises(
        ValueError, match=r"^dout must have the same shape as the input x, \(2, 3\), got \(3, 2\)"
    ):
        v.check_same_shape(np.zeros((3, 2)), (2, 3), "dout", "the input x")


# ---------------------------------------------------------------------------
# package-wide rules
# ---------------------------------------------------------------------------

PACKAGE = Path(v.__file__).parent
LIBRARY_MODULES = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py"))
GLOBAL_RNG = re.compile(
    r"np\.random\.(rand|randn|randint|random|random_sample|sample|seed|uniform|normal|binomial|"
    r"choice|shuffle|permutation|get_state|set_state|RandomState)\s*\("
    r"|default_rng\(\s*\)"
)


@pytest.mark.parametrize("module", LIBRARY_MODULES)
def test_library_source_never_calls_the_global_rng(module):
    # Allowed in docstrings (examples with an explicit seed) but never a bare
    # default_rng() or a legacy global call anywhere.
    path = PACKAGE / module
    hits = [line for line in path.read_text().splitlines() if GLOBAL_RNG.search(line)]
    assert hits == []


def test_global_rng_state_untouched_by_core_functions():
    np.random.seed(1234)
    before = np.random.get_state()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    for p in (0.0, 0.3, 1.0):
        bernoulli_mask((5, 4), p, rng)
        keep_probability(p)
        dropout_forward(x, p, train=True, rng=rng)
    numerical_gradient(
        lambda z: dropout_forward(z, 0.5, train=True, rng=np.random.default_rng(1))[0],
        x,
        np.ones_like(x),
    )
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


@pytest.mark.parametrize(
    "call",
    [
        lambda p: bernoulli_mask((2,), p, np.random.default_rng(0)),
        lambda p: keep_probability(p),
        lambda p: dropout_forward(np.ones(2), p, train=True, rng=np.random.default_rng(0)),
        lambda p: dropout_forward(np.ones(2), p, train=False),
    ],
    ids=["bernoulli_mask", "keep_probability", "dropout_forward-train", "dropout_forward-eval"],
)
@pytest.mark.parametrize(
    "p_drop, exc",
    [(1.5, ValueError), (float("nan"), ValueError), (False, TypeError), (None, TypeError)],
)
def test_every_public_function_rejects_bad_p_drop_the_same_way(call, p_drop, exc):
    with pytest.raises(exc, match=r"^p_drop must be a real number in \[0, 1\], got "):
        call(p_drop)

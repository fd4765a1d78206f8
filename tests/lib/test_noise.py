"""Tests for dropout_lib.noise: Gaussian dropout (Srivastava et al. 2014, section 10)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import global_state_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.layers import dropout_forward
from dropout_lib.masks import bernoulli_mask, keep_probability, mask_shape
from dropout_lib.noise import (
    GaussianDropoutCache,
    _gaussian_dropout_backward,
    _gaussian_dropout_forward,
    gaussian_dropout_backward,
    gaussian_dropout_forward,
    gaussian_noise_std,
)

FEW = settings(max_examples=25, deadline=None, derandomize=True)
FLOATS = [np.float16, np.float32, np.float64]
seeds = st.integers(0, 2**32 - 1)


@st.composite
def shapes_and_axes(draw, max_side=5):
    shape = draw(st.lists(st.integers(1, max_side), min_size=1, max_size=4).map(tuple))
    axes = draw(st.lists(st.sampled_from(range(len(shape))), unique=True).map(tuple))
    return shape, axes


def make_x(shape, dtype=np.float64, seed=0, low=-3.0, high=3.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


# ---------------------------------------------------------------------------
# forward: the documented draw, shapes, dtypes, purity
# ---------------------------------------------------------------------------


@given(sa=shapes_and_axes(), dtype=st.sampled_from(FLOATS), p_drop=st.floats(0.01, 0.9),
       seed=seeds)
@FEW
def test_forward_multiplies_by_the_documented_noise(sa, dtype, p_drop, seed):
    shape, axes = sa
    x = make_x(shape, dtype, seed)
    x_before = x.copy()
    out, cache = gaussian_dropout_forward(
        x, p_drop, train=True, rng=np.random.default_rng(seed), shared_axes=axes
    )
    noise_shape = mask_shape(shape, axes)
    z = np.random.default_rng(seed).standard_normal(noise_shape)
    expected_noise = (1.0 + math.sqrt(p_drop / (1.0 - p_drop)) * z).astype(dtype)
    assert np.array_equal(cache.noise, expected_noise)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert np.array_equal(out, x * expected_noise)
    assert np.array_equal(x, x_before) and not np.shares_memory(out, x)
    assert cache.train and cache.p_drop == p_drop and cache.shared_axes == tuple(sorted(axes))


def test_shared_axes_give_one_noise_value_per_feature_map():
    x = make_x((4, 3, 5, 5), seed=1, low=1.0, high=2.0)
    out, cache = gaussian_dropout_forward(
        x, 0.5, train=True, rng=np.random.default_rng(2), shared_axes=(2, 3)
    )
    assert cache.noise.shape == (4, 3, 1, 1)
    ratio = out / x
    assert np.allclose(ratio, ratio[:, :, :1, :1], rtol=1e-12, atol=0)
    assert np.unique(ratio[:, :, 0, 0]).size == 12  # different maps, different noise


@pytest.mark.parametrize("dtype", FLOATS)
def test_eval_is_an_identity_copy_and_needs_no_rng(dtype):
    x = make_x((5, 6), dtype)
    out, cache = gaussian_dropout_forward(x, 0.5, train=False)
    assert np.array_equal(out, x) and out.dtype == x.dtype and not np.shares_memory(out, x)
    assert cache.noise is None
    dout = make_x((5, 6), dtype, seed=3)
    dx = gaussian_dropout_backward(dout, cache)
    assert np.array_equal(dx, dout) and not np.shares_memory(dx, dout)


def test_p_drop_zero_is_the_identity_in_training_without_rng():
    x = make_x((3, 4))
    out, cache = gaussian_dropout_forward(x, 0.0, train=True)
    assert np.array_equal(out, x) and np.all(cache.noise == 1.0)


def test_same_seed_same_output_and_different_seeds_differ():
    x = make_x((20, 10))
    a, _ = gaussian_dropout_forward(x, 0.3, train=True, rng=np.random.default_rng(7))
    b, _ = gaussian_dropout_forward(x, 0.3, train=True, rng=np.random.default_rng(7))
    c, _ = gaussian_dropout_forward(x, 0.3, train=True, rng=np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_given_noise_replays_a_draw():
    x = make_x((4, 5))
    out, cache = gaussian_dropout_forward(x, 0.4, train=True, rng=np.random.default_rng(0))
    again, cache2 = gaussian_dropout_forward(x, 0.4, train=True, noise=cache.noise)
    assert np.array_equal(out, again) and cache2.noise is cache.noise
    as32, c32 = gaussian_dropout_forward(x.astype(np.float32), 0.4, train=True, noise=cache.noise)
    assert as32.dtype == np.float32 and c32.noise.dtype == np.float32


# ---------------------------------------------------------------------------
# moments: the same mean and variance as inverted Bernoulli dropout
# ---------------------------------------------------------------------------

N_DRAWS = 200_000
SIGMAS = 5.0  # tolerance: 5 standard errors of each sample moment


def _gaussian_tolerances(var: float, n: int) -> tuple[float, float]:
    """Allowed |sample mean - 1| and |sample variance - var| for n draws of N(1, var).

    5 standard errors: sqrt(var / n) for the mean, var sqrt(2 / (n - 1)) for s^2.
    """
    return SIGMAS * math.sqrt(var / n), SIGMAS * var * math.sqrt(2.0 / (n - 1))


def _bernoulli_tolerances(q: float, n: int) -> tuple[float, float]:
    """The same for n draws of m / q, m ~ Bernoulli(q), of variance (1 - q) / q.

    5 standard errors, from the exact Var(s^2) = (mu4 - (n - 3) / (n - 1) var^2) / n
    for the variance, plus 25 var / n for its one-sided (mean - 1)^2 term, which is
    all that varies at q = 1/2 (every squared deviation is then 1); 25 / n exceeds
    the 1e-6 tail of chi^2_1 / n.
    """
    var = (1.0 - q) / q
    mu4 = (1.0 - q) ** 4 / q**3 + (1.0 - q)  # E[(m/q - 1)^4]
    se_var = math.sqrt((mu4 - (n - 3) / (n - 1) * var**2) / n)
    return SIGMAS * math.sqrt(var / n), SIGMAS * se_var + 25.0 * var / n


@pytest.mark.parametrize("p_drop", [0.1, 0.5, 0.8])
def test_gaussian_noise_has_the_moments_of_the_inverted_bernoulli_mask(p_drop):
    var = p_drop / (1.0 - p_drop)  # both: E[m] = 1, Var[m] = p_drop / (1 - p_drop)
    ones = np.ones(N_DRAWS)
    gauss, _ = gaussian_dropout_forward(ones, p_drop, train=True, rng=np.random.default_rng(0))
    bern, _ = dropout_forward(ones, p_drop, train=True, rng=np.random.default_rng(1))
    g_mean_tol, g_var_tol = _gaussian_tolerances(var, N_DRAWS)
    # Bernoulli with its realised keep probability, within 2**-33 of 1 - p_drop
    b_mean_tol, b_var_tol = _bernoulli_tolerances(keep_probability(p_drop), N_DRAWS)
    assert abs(gauss.mean() - 1.0) <= g_mean_tol
    assert abs(gauss.var(ddof=1) - var) <= g_var_tol
    assert abs(bern.mean() - 1.0) <= b_mean_tol
    assert abs(bern.var(ddof=1) - var) <= b_var_tol
    # and the two against each other (independent draws: tolerances add in quadrature)
    assert abs(gauss.mean() - bern.mean()) <= math.hypot(g_mean_tol, b_mean_tol)
    assert abs(gauss.var(ddof=1) - bern.var(ddof=1)) <= math.hypot(g_var_tol, b_var_tol)


def test_output_moments_scale_with_the_input():
    # E[y] = x and Var[y] = x^2 p / (1 - p), for every unit.
    p_drop, draws = 0.5, 20_000
    x = np.array([-2.0, 0.5, 3.0])
    out, _ = gaussian_dropout_forward(
        np.broadcast_to(x, (draws, 3)).copy(), p_drop, train=True, rng=np.random.default_rng(4)
    )
    var = x**2 * p_drop / (1 - p_drop)
    for j in range(3):
        mean_tol, var_tol = _gaussian_tolerances(var[j], draws)
        assert abs(out[:, j].mean() - x[j]) <= mean_tol
        assert abs(out[:, j].var(ddof=1) - var[j]) <= var_tol


def test_moment_tolerance_detects_the_wrong_variance():
    # The check above must fail for noise N(1, p) (a plausible slip for p / (1 - p)).
    p_drop = 0.5
    wrong = 1.0 + math.sqrt(p_drop) * np.random.default_rng(0).standard_normal(N_DRAWS)
    var = p_drop / (1.0 - p_drop)
    assert abs(wrong.var(ddof=1) - var) > _gaussian_tolerances(var, N_DRAWS)[1]


def test_noise_std_helper():
    assert gaussian_noise_std(0.5) == 1.0
    assert gaussian_noise_std(0.2) == pytest.approx(0.5, rel=1e-15)
    assert gaussian_noise_std(0.0) == 0.0


# ---------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------


@given(sa=shapes_and_axes(max_side=4), p_drop=st.floats(0.05, 0.9), seed=seeds)
@FEW
def test_gradient_check_with_fixed_noise(sa, p_drop, seed):
    shape, axes = sa
    x = make_x(shape, seed=seed)
    dout = make_x(shape, seed=seed + 1)
    dout_before = dout.copy()
    _, cache = gaussian_dropout_forward(
        x, p_drop, train=True, rng=np.random.default_rng(seed), shared_axes=axes
    )

    def f(v):
        return gaussian_dropout_forward(v, p_drop, train=True, shared_axes=axes,
                                        noise=cache.noise)[0]

    dx = gaussian_dropout_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(f, x, dout)) < 1e-8
    assert np.array_equal(dx, dout * cache.noise)
    assert np.array_equal(dout, dout_before)


def test_gradient_check_detects_a_backward_without_the_noise():
    x, dout = make_x((3, 4)), make_x((3, 4), seed=1)
    _, cache = gaussian_dropout_forward(x, 0.5, train=True, rng=np.random.default_rng(2))

    def f(v):
        return gaussian_dropout_forward(v, 0.5, train=True, noise=cache.noise)[0]

    assert rel_error(dout, numerical_gradient(f, x, dout)) > 0.1


# ---------------------------------------------------------------------------
# purity, cores and bad input
# ---------------------------------------------------------------------------


def test_global_rng_is_never_used():
    np.random.seed(0)
    before = np.random.get_state()
    x = make_x((4, 3, 2, 2))
    for train in (True, False):
        out, cache = gaussian_dropout_forward(
            x, 0.3, train=train, rng=np.random.default_rng(1), shared_axes=(2, 3)
        )
        gaussian_dropout_backward(out, cache)
    assert global_state_equal(before, np.random.get_state())


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("dtype", FLOATS)
def test_core_is_bit_identical_to_public(train, dtype):
    x = make_x((5, 4, 3), dtype)
    out, cache = gaussian_dropout_forward(
        x, 0.4, train=train, rng=np.random.default_rng(3), shared_axes=(1,)
    )
    out_c, cache_c = _gaussian_dropout_forward(x, 0.4, train, np.random.default_rng(3), (1,), None)
    assert out_c.tobytes() == out.tobytes()
    dout = make_x((5, 4, 3), dtype, seed=5)
    assert (_gaussian_dropout_backward(dout, cache_c).tobytes()
            == gaussian_dropout_backward(dout, cache).tobytes())


X = np.ones((3, 4))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"p_drop": 1.0, "train": True}, ValueError, r"p_drop must be < 1 for Gaussian dropout"),
        ({"p_drop": -0.1, "train": True}, ValueError, r"p_drop must be a real number in \[0, 1\]"),
        ({"p_drop": "0.5", "train": True}, TypeError, r"p_drop must be a real number"),
        ({"p_drop": 0.5, "train": True}, TypeError, r"rng must be a numpy.random.Generator"),
        ({"p_drop": 0.5, "train": True, "rng": np.random.RandomState(0)}, TypeError, r"rng must be"),
        ({"p_drop": 0.5, "train": 1}, TypeError, r"train must be a bool"),
        ({"p_drop": 0.5, "train": True, "rng": np.random.default_rng(0), "shared_axes": 2},
         ValueError, r"shared_axes contains axis 2"),
        ({"p_drop": 0.5, "train": False, "noise": np.ones((3, 4))}, ValueError,
         r"noise is training-mode noise; it needs train=True"),
        ({"p_drop": 0.5, "train": True, "noise": np.ones((3, 4), dtype=int)}, TypeError,
         r"noise must be a NumPy float array"),
        ({"p_drop": 0.5, "train": True, "noise": np.ones((3, 1))}, ValueError,
         r"noise must have the same shape as the noise of x, \(3, 4\)"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, match):
    p_drop = kwargs.pop("p_drop")
    with pytest.raises(exc, match=match):
        gaussian_dropout_forward(X, p_drop, **kwargs)


def test_bad_x_dout_and_cache():
    with pytest.raises(TypeError, match="x must be a NumPy array of floating dtype"):
        gaussian_dropout_forward([1.0, 2.0], 0.5, train=False)
    _, cache = gaussian_dropout_forward(X, 0.5, train=True, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"dout must have the same shape as the forward input x"):
        gaussian_dropout_backward(np.ones((4, 3)), cache)
    with pytest.raises(TypeError, match="dout must be a NumPy array"):
        gaussian_dropout_backward(np.ones((3, 4), dtype=int), cache)
    _, other = dropout_forward(X, 0.5, train=False)
    with pytest.raises(TypeError, match=r"cache must be the GaussianDropoutCache returned by "
                                        r"gaussian_dropout_forward, got DropoutCache"):
        gaussian_dropout_backward(X, other)
    assert isinstance(cache, GaussianDropoutCache)


def test_bernoulli_and_gaussian_share_the_mask_shape_convention():
    shape, axes = (6, 4, 3), (0, 2)
    _, g = gaussian_dropout_forward(np.ones(shape), 0.5, train=True,
                                    rng=np.random.default_rng(0), shared_axes=axes)
    b = bernoulli_mask(shape, 0.5, np.random.default_rng(0), shared_axes=axes)
    assert g.noise.shape == b.shape == (1, 4, 1)

"""Tests for dropout_lib.layers: dropout, affine and activation forward/backward pairs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib import layers
from dropout_lib.layers import (
    AffineCache,
    DropoutCache,
    _affine_backward,
    _affine_forward,
    _dropout_backward,
    _dropout_forward,
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from dropout_lib.masks import bernoulli_mask, keep_probability, mask_shape
from helpers import binomial_tolerance, global_state_equal

PROPERTY = settings(max_examples=50, deadline=None, derandomize=True)
FEW = settings(max_examples=25, deadline=None, derandomize=True)

FLOATS = [np.float16, np.float32, np.float64]
EXTREME_P = [0.0, 1e-6, 0.3, 0.5, 0.999999, 1.0]
p_drops = st.one_of(st.sampled_from(EXTREME_P), st.floats(0.0, 1.0))
seeds = st.integers(0, 2**32 - 1)
modes = st.sampled_from(["inverted", "original"])


@st.composite
def shapes_and_axes(draw, max_side=7):
    shape = draw(st.lists(st.integers(0, max_side), min_size=0, max_size=4).map(tuple))
    axes = (
        draw(st.lists(st.sampled_from(range(len(shape))), unique=True).map(tuple)) if shape else ()
    )
    return shape, axes


def make_x(shape, dtype, seed, low=-3.0, high=3.0):
    """Random data (not via the global RNG), in the requested dtype."""
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def full_mask(cache: DropoutCache) -> np.ndarray:
    return np.broadcast_to(cache.mask, cache.x_shape)




def inverted_scale(p_drop, dtype):
    return np.dtype(dtype).type(1.0 / (1.0 - p_drop))


# ---------------------------------------------------------------------------
# dropout forward: exact values
# ---------------------------------------------------------------------------


@given(
    sa=shapes_and_axes(),
    dtype=st.sampled_from(FLOATS),
    p_drop=p_drops,
    seed=seeds,
    mode=modes,
)
@PROPERTY
def test_train_output_is_exact(sa, dtype, p_drop, seed, mode):
    shape, axes = sa
    if dtype is np.float16 and mode == "inverted" and 0 < 1 - p_drop < 1 / 65504:
        p_drop = 0.5  # scale not representable in float16: tested separately
    x = make_x(shape, dtype, seed)
    x_before = x.copy()
    out, cache = dropout_forward(
        x, p_drop, train=True, rng=np.random.default_rng(seed), mode=mode, shared_axes=axes
    )
    assert np.array_equal(x, x_before)  # input untouched
    assert out.dtype == x.dtype and out.shape == x.shape
    assert not np.shares_memory(out, x)
    assert cache.mask.dtype == np.bool_
    assert cache.mask.shape == mask_shape(shape, axes)
    m = full_mask(cache)
    if p_drop == 1.0:
        assert not m.any()
        kept_expected = x  # irrelevant: nothing kept
    elif mode == "inverted":
        kept_expected = x * inverted_scale(p_drop, dtype)  # the documented exact expression
    else:
        kept_expected = x
    assert np.array_equal(out[m], kept_expected[m])
    assert np.all(out[~m] == 0)


@given(sa=shapes_and_axes(), dtype=st.sampled_from(FLOATS), p_drop=p_drops, seed=seeds, mode=modes)
@PROPERTY
def test_cache_mask_is_bernoulli_mask_with_same_seed(sa, dtype, p_drop, seed, mode):
    shape, axes = sa
    if dtype is np.float16 and mode == "inverted" and 0 < 1 - p_drop < 1 / 65504:
        p_drop = 0.5
    x = make_x(shape, dtype, seed)
    _, cache = dropout_forward(
        x, p_drop, train=True, rng=np.random.default_rng(seed), mode=mode, shared_axes=axes
    )
    expected = bernoulli_mask(shape, p_drop, np.random.default_rng(seed), shared_axes=axes)
    assert np.array_equal(cache.mask, expected)
    assert cache.train is True and cache.p_drop == p_drop and cache.mode == mode
    assert cache.x_shape == x.shape and cache.dtype == x.dtype


@given(sa=shapes_and_axes(), dtype=st.sampled_from(FLOATS), p_drop=p_drops, seed=seeds)
@PROPERTY
def test_eval_inverted_is_identity_copy(sa, dtype, p_drop, seed):
    shape, axes = sa
    x = make_x(shape, dtype, seed)
    x_before = x.copy()
    rng = np.random.default_rng(seed)
    state = rng.bit_generator.state
    out, cache = dropout_forward(x, p_drop, train=False, rng=rng, shared_axes=axes)
    assert out is not x
    assert not np.shares_memory(out, x)
    assert out.dtype == x.dtype
    assert np.array_equal(out, x)
    assert np.array_equal(x, x_before)
    assert cache.mask is None and cache.train is False
    assert rng.bit_generator.state == state  # eval mode draws nothing
    out2, _ = dropout_forward(x, p_drop, train=False, rng=None, shared_axes=axes)
    assert np.array_equal(out2, x)


@given(sa=shapes_and_axes(), dtype=st.sampled_from(FLOATS), p_drop=p_drops, seed=seeds)
@PROPERTY
def test_eval_original_scales_by_keep_probability(sa, dtype, p_drop, seed):
    shape, _ = sa
    x = make_x(shape, dtype, seed)
    out, cache = dropout_forward(x, p_drop, train=False, mode="original")
    assert out.dtype == x.dtype
    assert np.array_equal(out, x * np.dtype(dtype).type(1.0 - p_drop))
    assert not np.shares_memory(out, x)


@given(
    shape=st.lists(st.integers(0, 6), max_size=4).map(tuple),
    dtype=st.sampled_from(FLOATS),
    seed=seeds,
    mode=modes,
)
@PROPERTY
def test_p_drop_zero_in_training_is_identity_copy(shape, dtype, seed, mode):
    x = make_x(shape, dtype, seed)
    out, cache = dropout_forward(x, 0.0, train=True, rng=None, mode=mode)
    assert out is not x and not np.shares_memory(out, x)
    assert np.array_equal(out, x)
    assert cache.mask.all()
    dx = dropout_backward(x, cache)
    assert np.array_equal(dx, x) and not np.shares_memory(dx, x)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", ["inverted", "original"])
def test_p_drop_one_gives_zeros_without_warnings(dtype, mode):
    x = make_x((50, 20), dtype, 0)
    dout = make_x((50, 20), dtype, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = dropout_forward(x, 1.0, train=True, rng=np.random.default_rng(0), mode=mode)
        dx = dropout_backward(dout, cache)
        out_eval, _ = dropout_forward(x, 1.0, train=False, mode=mode)
    assert out.dtype == dtype and dx.dtype == dtype
    assert np.array_equal(out, np.zeros_like(x)) and np.all(np.signbit(out) == 0)
    assert np.array_equal(dx, np.zeros_like(dout))
    if mode == "inverted":
        assert np.array_equal(out_eval, x)
    else:
        assert np.all(out_eval == 0)


def test_no_warnings_for_extreme_p_drop():
    x = make_x((100, 100), np.float64, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p in [1e-300, 1e-6, 0.999999, 1 - 2**-52, 1.0]:
            for mode in ("inverted", "original"):
                out, cache = dropout_forward(
                    x, p, train=True, rng=np.random.default_rng(1), mode=mode
                )
                dropout_backward(x, cache)
                assert np.all(np.isfinite(out))


def test_float16_scale_overflow_is_a_clear_error():
    x = np.ones(8, dtype=np.float16)
    with pytest.raises(ValueError, match=r"p_drop = 0\.99999.*overflows float16"):
        dropout_forward(x, 0.99999, train=True, rng=np.random.default_rng(0))
    # the same p_drop is fine in float32, and in float16 in original mode
    dropout_forward(x.astype(np.float32), 0.99999, train=True, rng=np.random.default_rng(0))
    dropout_forward(x, 0.99999, train=True, rng=np.random.default_rng(0), mode="original")


# ---------------------------------------------------------------------------
# dropout forward: statistics
# ---------------------------------------------------------------------------


def test_keep_direction_p_drop_0_2_keeps_about_80_percent():
    x = np.ones((200, 500))
    out, _ = dropout_forward(x, 0.2, train=True, rng=np.random.default_rng(0))
    kept = np.mean(out != 0)
    assert kept > 0.5, "dropout keeps ~p_drop of the units: the keep rule is backwards"
    assert abs(kept - 0.8) * x.size <= binomial_tolerance(x.size, 0.8)


@given(
    d1=st.integers(100, 150),
    d2=st.integers(100, 150),
    p_drop=p_drops,
    seed=seeds,
    dtype=st.sampled_from([np.float32, np.float64]),
)
@FEW
def test_dropped_fraction_within_5_sigma(d1, d2, p_drop, seed, dtype):
    x = make_x((d1, d2), dtype, seed, low=1.0, high=2.0)  # never 0, so zeros = dropped
    out, _ = dropout_forward(x, p_drop, train=True, rng=np.random.default_rng(seed))
    n = x.size
    n_dropped = int(np.count_nonzero(out == 0))
    # 5-sigma binomial interval, widened by the documented 2**-33 quantisation of p_drop
    assert abs(n_dropped - n * p_drop) <= binomial_tolerance(n, p_drop) + n * 2.0**-33


N_DRAWS = 2000


def _mean_of_draws(x, p_drop, seed, mode):
    """The mean output over N_DRAWS independent masks (one call on N_DRAWS stacked
    copies of x), and the binomial tolerance of the kept fraction K / N_DRAWS."""
    stacked = np.broadcast_to(x, (N_DRAWS,) + x.shape).copy()
    out, _ = dropout_forward(stacked, p_drop, train=True,
                             rng=np.random.default_rng(seed), mode=mode)
    tol_k = binomial_tolerance(N_DRAWS, keep_probability(p_drop)) / N_DRAWS
    return out.mean(axis=0, dtype=np.float64), tol_k


@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
    dtype=st.sampled_from([np.float32, np.float64]),
    p_drop=st.one_of(st.sampled_from([0.0, 0.3, 0.5, 0.9]), st.floats(0.0, 0.9)),
    seed=seeds,
)
@FEW
def test_inverted_dropout_is_unbiased(shape, dtype, p_drop, seed):
    x = make_x(shape, dtype, seed)
    mean, tol_k = _mean_of_draws(x, p_drop, seed, "inverted")
    x64 = x.astype(np.float64)
    q = 1.0 - p_drop
    # mean = x * s * K / n with K ~ Binomial(n, q_r), q_r = keep_probability(p_drop):
    # |mean - x| <= |x| s (tol(K) / n + |q_r - q|) + rounding of x * s in the dtype.
    # (5 sigma of K / n alone is the CLT bound |x| * 5 sqrt(p / (1 - p) / n).)
    eps = float(np.finfo(dtype).eps)
    bound = np.abs(x64) * ((tol_k + 2.0**-33) / q + 4 * eps / q)
    assert np.all(np.abs(mean - x64) <= bound)


@pytest.mark.parametrize("p_drop", [1e-6, 0.1, 0.3, 0.7, 0.99])
def test_mean_output_is_the_input_over_many_masks(p_drop):
    # E[out] = x exactly: over n = 1e8 units of x = 1, the mean output lies in
    # the 6-sigma binomial interval 1 +- 6 sqrt(p_drop / ((1 - p_drop) n)).
    # (With the old 16-bit masks p_drop = 1e-6 gave 1 + 1e-6: 10 sigma off.)
    n, chunk = 10**8, 10**7
    x = np.ones(chunk)
    rng = np.random.default_rng(7)
    total = sum(
        float(dropout_forward(x, p_drop, train=True, rng=rng)[0].sum())
        for _ in range(n // chunk)
    )
    half_width = 6.0 * (p_drop / ((1.0 - p_drop) * n)) ** 0.5
    assert abs(total / n - 1.0) <= half_width, (total / n - 1.0, half_width)


@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
    dtype=st.sampled_from([np.float32, np.float64]),
    p_drop=st.one_of(st.sampled_from([0.0, 0.3, 0.5, 0.9]), st.floats(0.0, 0.9)),
    seed=seeds,
)
@FEW
def test_original_dropout_train_mean_matches_eval(shape, dtype, p_drop, seed):
    x = make_x(shape, dtype, seed)
    mean, tol_k = _mean_of_draws(x, p_drop, seed, "original")
    evaluated, _ = dropout_forward(x, p_drop, train=False, mode="original")
    # mean = x * K / n, eval = x * (1 - p_drop): same binomial bound as above
    eps = float(np.finfo(dtype).eps)
    bound = np.abs(x.astype(np.float64)) * (tol_k + 2.0**-17 + 4 * eps)
    assert np.all(np.abs(mean - evaluated.astype(np.float64)) <= bound)


# ---------------------------------------------------------------------------
# dropout: reproducibility
# ---------------------------------------------------------------------------


@given(sa=shapes_and_axes(), p_drop=p_drops, seed=seeds, mode=modes)
@PROPERTY
def test_same_seed_same_output(sa, p_drop, seed, mode):
    shape, axes = sa
    x = make_x(shape, np.float64, seed)
    kw = dict(train=True, mode=mode, shared_axes=axes)
    a, ca = dropout_forward(x, p_drop, rng=np.random.default_rng(seed), **kw)
    b, cb = dropout_forward(x, p_drop, rng=np.random.default_rng(seed), **kw)
    assert np.array_equal(a, b) and np.array_equal(ca.mask, cb.mask)


@given(seed=seeds, p_drop=st.floats(0.1, 0.9))
@PROPERTY
def test_different_seeds_give_different_masks(seed, p_drop):
    x = make_x((16, 32), np.float64, 0, low=1.0, high=2.0)
    a, _ = dropout_forward(x, p_drop, train=True, rng=np.random.default_rng(seed))
    b, _ = dropout_forward(x, p_drop, train=True, rng=np.random.default_rng(seed + 1))
    assert not np.array_equal(a == 0, b == 0)


# ---------------------------------------------------------------------------
# shared masks: channel and locked dropout
# ---------------------------------------------------------------------------


@given(seed=seeds, p_drop=st.floats(0.2, 0.8), dtype=st.sampled_from([np.float32, np.float64]))
@FEW
def test_channel_dropout_zeroes_whole_feature_maps(seed, p_drop, dtype):
    n, c, h, w = 6, 8, 5, 4
    x = make_x((n, c, h, w), dtype, seed, low=1.0, high=2.0)  # nonzero everywhere
    out, cache = dropout_forward(
        x, p_drop, train=True, rng=np.random.default_rng(seed), shared_axes=(2, 3)
    )
    assert cache.mask.shape == (n, c, 1, 1)
    zero_maps = np.all(out == 0, axis=(2, 3))
    full_maps = np.all(out == x * inverted_scale(p_drop, dtype), axis=(2, 3))
    assert np.all(zero_maps ^ full_maps)  # every (sample, channel) map: all dropped xor all kept
    assert np.array_equal(full_maps, cache.mask[:, :, 0, 0])


@given(seed=seeds, p_drop=st.floats(0.2, 0.8))
@FEW
def test_locked_dropout_same_features_at_every_time_step(seed, p_drop):
    n, t, d = 4, 9, 16
    x = make_x((n, t, d), np.float64, seed, low=1.0, high=2.0)
    out, cache = dropout_forward(
        x, p_drop, train=True, rng=np.random.default_rng(seed), shared_axes=(-2,)
    )
    assert cache.mask.shape == (n, 1, d)
    dropped = out == 0
    assert np.all(dropped == dropped[:, :1, :])


# ---------------------------------------------------------------------------
# dropout backward
# ---------------------------------------------------------------------------


@given(
    sa=shapes_and_axes(),
    dtype=st.sampled_from([np.float32, np.float64]),
    p_drop=p_drops,
    seed=seeds,
    mode=modes,
)
@PROPERTY
def test_backward_is_dout_times_mask_times_scale(sa, dtype, p_drop, seed, mode):
    shape, axes = sa
    x = make_x(shape, dtype, seed)
    dout = make_x(shape, dtype, seed + 1)
    dout_before = dout.copy()
    _, cache = dropout_forward(
        x, p_drop, train=True, rng=np.random.default_rng(seed), mode=mode, shared_axes=axes
    )
    dx = dropout_backward(dout, cache)
    assert np.array_equal(dout, dout_before)
    assert dx.dtype == dout.dtype and dx.shape == dout.shape
    assert not np.shares_memory(dx, dout)
    m = full_mask(cache)
    if p_drop == 1.0:
        expected = np.zeros_like(dout)
    elif mode == "inverted":
        expected = np.where(m, dout * inverted_scale(p_drop, dtype), 0)
    else:
        expected = np.where(m, dout, 0)
    assert np.array_equal(dx, expected)
    # and against the plain float64 formula dout * mask / (1 - p_drop)
    if p_drop < 1.0 and mode == "inverted":
        ref = dout.astype(np.float64) * m / (1.0 - p_drop)
        tol = 4 * np.finfo(dtype).eps * np.abs(ref)
        assert np.all(np.abs(dx - ref) <= tol)


@given(sa=shapes_and_axes(), p_drop=p_drops, seed=seeds, mode=modes)
@PROPERTY
def test_backward_in_eval_mode(sa, p_drop, seed, mode):
    shape, _ = sa
    x = make_x(shape, np.float64, seed)
    dout = make_x(shape, np.float64, seed + 1)
    _, cache = dropout_forward(x, p_drop, train=False, mode=mode)
    dx = dropout_backward(dout, cache)
    scale = 1.0 if mode == "inverted" else 1.0 - p_drop
    assert np.array_equal(dx, dout * scale)
    assert not np.shares_memory(dx, dout)


@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple),
    p_drop=st.one_of(st.sampled_from([0.0, 0.5, 0.999, 1.0]), st.floats(0.0, 1.0)),
    seed=seeds,
    mode=modes,
    shared=st.booleans(),
)
@FEW
def test_dropout_gradient_check_with_fixed_mask(shape, p_drop, seed, mode, shared):
    axes = (0,) if shared else ()
    x = make_x(shape, np.float64, seed)
    dout = make_x(shape, np.float64, seed + 1)

    def f(v):  # re-create the generator inside f so the mask is held fixed
        return dropout_forward(
            v, p_drop, train=True, rng=np.random.default_rng(seed), mode=mode, shared_axes=axes
        )[0]

    _, cache = dropout_forward(
        x, p_drop, train=True, rng=np.random.default_rng(seed), mode=mode, shared_axes=axes
    )
    dx = dropout_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(f, x, dout)) < 1e-8


def test_gradient_check_detects_missing_scale():
    # A backward pass that forgets 1/(1 - p_drop) must fail the same check.
    x = make_x((4, 5), np.float64, 0)
    dout = make_x((4, 5), np.float64, 1)
    f = lambda v: dropout_forward(v, 0.5, train=True, rng=np.random.default_rng(3))[0]  # noqa: E731
    _, cache = dropout_forward(x, 0.5, train=True, rng=np.random.default_rng(3))
    wrong = dout * cache.mask
    assert rel_error(wrong, numerical_gradient(f, x, dout)) > 0.1


# ---------------------------------------------------------------------------
# affine and activations
# ---------------------------------------------------------------------------


@given(n=st.integers(1, 5), d=st.integers(1, 6), m=st.integers(1, 5), seed=seeds)
@FEW
def test_affine_forward_and_gradients(n, d, m, seed):
    x = make_x((n, d), np.float64, seed)
    W = make_x((d, m), np.float64, seed + 1)
    b = make_x((m,), np.float64, seed + 2)
    dout = make_x((n, m), np.float64, seed + 3)
    copies = [a.copy() for a in (x, W, b, dout)]
    out, cache = affine_forward(x, W, b)
    assert out.shape == (n, m)
    assert np.allclose(out, np.einsum("nd,dm->nm", x, W) + b, rtol=1e-12, atol=1e-12)
    dx, dW, db = affine_backward(dout, cache)
    assert (dx.shape, dW.shape, db.shape) == ((n, d), (d, m), (m,))
    # The layer is linear in each argument, so centred differences are exact for any
    # step h; a large step makes the rounding error (~ eps * |out| / h) negligible even
    # for gradient entries that are small by cancellation.
    h = 1.0
    num_dx = numerical_gradient(lambda v: affine_forward(v, W, b)[0], x, dout, h=h)
    num_dW = numerical_gradient(lambda v: affine_forward(x, v, b)[0], W, dout, h=h)
    num_db = numerical_gradient(lambda v: affine_forward(x, W, v)[0], b, dout, h=h)
    assert rel_error(dx, num_dx) < 1e-8
    assert rel_error(dW, num_dW) < 1e-8
    assert rel_error(db, num_db) < 1e-8
    for a, c in zip((x, W, b, dout), copies, strict=True):
        assert np.array_equal(a, c)


def test_affine_float32_stays_float32():
    x, W, b = (np.ones(s, dtype=np.float32) for s in [(2, 3), (3, 4), (4,)])
    out, cache = affine_forward(x, W, b)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in affine_backward(np.ones((2, 4), np.float32), cache))


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple), seed=seeds)
@FEW
def test_relu_forward_and_gradient(shape, seed):
    x = make_x(shape, np.float64, seed)
    x = np.where(np.abs(x) < 1e-2, 0.5, x)  # stay away from the kink at 0
    dout = make_x(shape, np.float64, seed + 1)
    x_before = x.copy()
    out, cache = relu_forward(x)
    assert np.array_equal(out, np.where(x > 0, x, 0.0))
    dx = relu_backward(dout, cache)
    assert np.array_equal(dx, np.where(x > 0, dout, 0.0))
    assert rel_error(dx, numerical_gradient(lambda v: relu_forward(v)[0], x, dout)) < 1e-8
    assert np.array_equal(x, x_before)


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple), seed=seeds)
@FEW
def test_sigmoid_forward_and_gradient(shape, seed):
    x = make_x(shape, np.float64, seed, low=-5.0, high=5.0)
    dout = make_x(shape, np.float64, seed + 1)
    x_before = x.copy()
    out, cache = sigmoid_forward(x)
    assert np.allclose(out, 1.0 / (1.0 + np.exp(-x)), rtol=1e-14, atol=0)
    dx = sigmoid_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(lambda v: sigmoid_forward(v)[0], x, dout)) < 1e-8
    assert np.array_equal(x, x_before)


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple), seed=seeds)
@FEW
def test_tanh_forward_and_gradient(shape, seed):
    x = make_x(shape, np.float64, seed, low=-3.0, high=3.0)
    dout = make_x(shape, np.float64, seed + 1)
    x_before = x.copy()
    out, cache = tanh_forward(x)
    assert np.array_equal(out, np.tanh(x))
    dx = tanh_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(lambda v: tanh_forward(v)[0], x, dout)) < 1e-8
    assert np.array_equal(x, x_before)


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_is_stable_for_large_inputs(dtype):
    info = np.finfo(dtype)
    x = np.array([-info.max, -1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4, info.max], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = sigmoid_forward(x)
        dx = sigmoid_backward(np.ones_like(x), cache)
    assert out.dtype == dtype
    assert np.all((out >= 0) & (out <= 1)) and np.all(np.isfinite(dx))
    assert out[0] == 0 and out[-1] == 1 and out[4] == 0.5
    assert np.all(np.diff(out) >= 0)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layer", [relu_forward, sigmoid_forward, tanh_forward])
def test_activations_keep_dtype_and_return_arrays(dtype, layer):
    x = np.array([-1.5, 0.0, 2.0], dtype=dtype)
    out, _ = layer(x)
    assert isinstance(out, np.ndarray) and out.dtype == dtype
    out0, _ = layer(np.array(0.5, dtype=dtype))  # 0-d input -> 0-d array, not a scalar
    assert isinstance(out0, np.ndarray) and out0.shape == ()


# ---------------------------------------------------------------------------
# purity: no global RNG
# ---------------------------------------------------------------------------


def test_global_rng_is_never_used():
    np.random.seed(0)
    before = np.random.get_state()
    x = make_x((6, 4, 3, 3), np.float32, 0)
    for p in EXTREME_P:
        for mode in ("inverted", "original"):
            for train in (True, False):
                out, cache = dropout_forward(
                    x, p, train=train, rng=np.random.default_rng(1), mode=mode, shared_axes=(2, 3)
                )
                dropout_backward(out, cache)
    x2 = make_x((3, 4), np.float64, 1)
    out, cache = affine_forward(x2, make_x((4, 2), np.float64, 2), np.zeros(2))
    affine_backward(out, cache)
    for fwd, bwd in [
        (relu_forward, relu_backward),
        (sigmoid_forward, sigmoid_backward),
        (tanh_forward, tanh_backward),
    ]:
        out, cache = fwd(x2)
        bwd(out, cache)
    assert global_state_equal(before, np.random.get_state())


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

X = np.ones((3, 4))
RNG = np.random.default_rng(0)
FLOAT_MSG = r"x must be a NumPy array of floating dtype \(float16/32/64\), got "


@pytest.mark.parametrize(
    "x, got",
    [
        (np.ones((3, 4), dtype=np.int64), "int64"),
        (np.ones((3, 4), dtype=bool), "bool"),
        (np.ones((3, 4), dtype=object), "object"),
        (np.ones((3, 4), dtype=np.complex128), "complex128"),
        (np.ones((3, 4), dtype=np.int32), "int32"),
    ],
)
@pytest.mark.parametrize("train", [True, False])
def test_non_floating_x_is_rejected(x, got, train):
    with pytest.raises(TypeError, match=FLOAT_MSG + got):
        dropout_forward(x, 0.5, train=train, rng=RNG)


@pytest.mark.parametrize("x", [[[1.0, 2.0]], 1.0, (1.0, 2.0)])
def test_non_array_x_is_rejected_with_hint(x):
    with pytest.raises(TypeError, match=FLOAT_MSG + r".*pass np\.asarray\(x, dtype=float\)"):
        dropout_forward(x, 0.5, train=True, rng=RNG)


@pytest.mark.parametrize(
    "p_drop, exc, match",
    [
        (-0.1, ValueError, r"p_drop must be a real number in \[0, 1\], got -0\.1"),
        (1.1, ValueError, r"p_drop must be a real number in \[0, 1\], got 1\.1"),
        (float("nan"), ValueError, r"p_drop must be a real number in \[0, 1\], got nan"),
        (True, TypeError, r"p_drop must be a real number in \[0, 1\], got bool"),
        ("0.5", TypeError, r"p_drop must be a real number in \[0, 1\], got str"),
        (None, TypeError, r"p_drop must be a real number in \[0, 1\], got None"),
    ],
)
@pytest.mark.parametrize("train", [True, False])
def test_bad_p_drop(p_drop, exc, match, train):
    with pytest.raises(exc, match=match):
        dropout_forward(X, p_drop, train=train, rng=RNG)


@pytest.mark.parametrize(
    "rng, got", [(np.random.RandomState(0), "RandomState"), (None, "None"), (42, "int")]
)
@pytest.mark.parametrize("p_drop", [0.5, 1.0])
def test_bad_rng_in_training(rng, got, p_drop):
    match = (
        r"rng must be a numpy\.random\.Generator \(e\.g\. np\.random\.default_rng\(0\)\), got "
        + got
    )
    with pytest.raises(TypeError, match=match):
        dropout_forward(X, p_drop, train=True, rng=rng)


def test_legacy_random_state_rejected_even_in_eval():
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator.*got RandomState"):
        dropout_forward(X, 0.5, train=False, rng=np.random.RandomState(0))


@pytest.mark.parametrize("train", [1, 0, None, "True", np.float64(1.0)])
def test_train_must_be_bool(train):
    with pytest.raises(
        TypeError, match=r"train must be a bool \(True for training, False for evaluation\)"
    ):
        dropout_forward(X, 0.5, train=train, rng=RNG)


def test_train_is_required_keyword():
    with pytest.raises(TypeError, match="train"):
        dropout_forward(X, 0.5)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        dropout_forward(X, 0.5, True)  # type: ignore[misc]


@pytest.mark.parametrize("mode", ["inverse", "Inverted", "", None, 1])
def test_bad_mode(mode):
    with pytest.raises(ValueError, match=r"mode must be one of 'inverted', 'original', got "):
        dropout_forward(X, 0.5, train=True, rng=RNG, mode=mode)


@pytest.mark.parametrize(
    "axes, match",
    [
        ((2,), r"shared_axes contains axis 2, which is out of range .*ndim = 2"),
        ((-3,), r"shared_axes contains axis -3, which is out of range .*ndim = 2"),
        ((0, 0), r"shared_axes contains axis 0 more than once .*ndim = 2"),
        ((1, -1), r"shared_axes contains axis 1 more than once \(as 1 and -1\)"),
    ],
)
def test_bad_shared_axes(axes, match):
    with pytest.raises(ValueError, match=match):
        dropout_forward(X, 0.5, train=True, rng=RNG, shared_axes=axes)


def test_bad_dout():
    _, cache = dropout_forward(X, 0.5, train=True, rng=RNG)
    with pytest.raises(
        ValueError,
        match=r"dout must have the same shape as the forward input x, \(3, 4\), got \(4, 3\)",
    ):
        dropout_backward(np.ones((4, 3)), cache)
    with pytest.raises(
        TypeError,
        match=r"dout must be a NumPy array of floating dtype \(float16/32/64\), got int64",
    ):
        dropout_backward(np.ones((3, 4), dtype=np.int64), cache)
    with pytest.raises(TypeError, match=r"dout must be a NumPy array of floating dtype.*got list"):
        dropout_backward([[1.0] * 4] * 3, cache)
    with pytest.raises(
        TypeError, match=r"cache must be the DropoutCache returned by dropout_forward, got tuple"
    ):
        dropout_backward(np.ones((3, 4)), (None, 2.0))


def test_affine_shape_errors():
    x = np.ones((5, 64))
    with pytest.raises(
        ValueError, match=r"W must have shape \(D, M\) with D = x\.shape\[1\] = 64, got \(32, 10\)"
    ):
        affine_forward(x, np.ones((32, 10)), np.ones(10))
    with pytest.raises(
        ValueError, match=r"b must have shape \(M,\) with M = W\.shape\[1\] = 10, got \(5,\)"
    ):
        affine_forward(x, np.ones((64, 10)), np.ones(5))
    with pytest.raises(
        ValueError, match=r"x must have shape \(N, D\) \(2 dimensions\), got shape \(64,\)"
    ):
        affine_forward(np.ones(64), np.ones((64, 10)), np.ones(10))
    with pytest.raises(TypeError, match=r"W must be a NumPy array of floating dtype.*got int64"):
        affine_forward(x, np.ones((64, 10), dtype=np.int64), np.ones(10))
    _, cache = affine_forward(x, np.ones((64, 10)), np.ones(10))
    with pytest.raises(
        ValueError,
        match=r"dout must have the same shape as the output of affine_forward \(N, M\), "
        r"\(5, 10\), got \(5, 9\)",
    ):
        affine_backward(np.ones((5, 9)), cache)
    with pytest.raises(
        TypeError, match=r"cache must be the AffineCache returned by affine_forward"
    ):
        affine_backward(np.ones((5, 10)), (x, x, x))
    assert isinstance(cache, AffineCache)


@pytest.mark.parametrize(
    "fwd, bwd, name",
    [
        (relu_forward, relu_backward, "relu_forward"),
        (sigmoid_forward, sigmoid_backward, "sigmoid_forward"),
        (tanh_forward, tanh_backward, "tanh_forward"),
    ],
)
def test_activation_errors(fwd, bwd, name):
    with pytest.raises(TypeError, match=FLOAT_MSG + "int64"):
        fwd(np.ones(3, dtype=np.int64))
    with pytest.raises(TypeError, match=FLOAT_MSG + "list"):
        fwd([1.0, 2.0])
    _, cache = fwd(np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=rf"dout must have the same shape as the output of {name}, \(2, 3\), got \(3, 2\)",
    ):
        bwd(np.ones((3, 2)), cache)
    _, other = dropout_forward(np.ones((2, 3)), 0.5, train=False)
    with pytest.raises(
        TypeError, match=rf"cache must be the \w+Cache returned by {name}, got DropoutCache"
    ):
        bwd(np.ones((2, 3)), other)


def test_a_given_mask_is_used_instead_of_drawing_one():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    mask = np.array([[True, False, True], [False, True, True]])
    out, cache = dropout_forward(x, 0.5, train=True, mask=mask)
    assert np.array_equal(out, x * mask * 2.0) and cache.mask is mask
    drawn, c = dropout_forward(x, 0.5, train=True, rng=np.random.default_rng(0))
    again, _ = dropout_forward(x, 0.5, train=True, mask=c.mask)
    assert np.array_equal(drawn, again)
    with pytest.raises(ValueError, match="needs train=True"):
        dropout_forward(x, 0.5, train=False, mask=mask)
    with pytest.raises(TypeError, match="mask must be a NumPy bool array"):
        dropout_forward(x, 0.5, train=True, mask=mask.astype(float))
    with pytest.raises(ValueError, match="mask must have the same shape"):
        dropout_forward(x, 0.5, train=True, mask=mask[:1])


# ---------------------------------------------------------------------------
# unchecked cores: the network validates once and then calls these
# ---------------------------------------------------------------------------


@FEW
@given(shapes_and_axes(), p_drops, modes, st.booleans(), seeds, st.sampled_from(FLOATS))
def test_dropout_core_is_bit_identical_to_public(sa, p_drop, mode, train, seed, dtype):
    shape, axes = sa
    x = make_x(shape, dtype, seed)
    core_args = (x, p_drop, train, np.random.default_rng(seed), mode, tuple(sorted(axes)), None)
    try:
        out, cache = dropout_forward(
            x, p_drop, train=train, rng=np.random.default_rng(seed), mode=mode, shared_axes=axes
        )
    except ValueError as err:  # a scale that overflows float16: the core refuses it too
        with pytest.raises(ValueError, match="overflows float16"):
            _dropout_forward(*core_args)
        assert "overflows float16" in str(err)
        return
    out_c, cache_c = _dropout_forward(*core_args)
    assert out_c.dtype == out.dtype and out_c.tobytes() == out.tobytes()
    assert cache_c.scale == cache.scale and cache_c.shared_axes == cache.shared_axes
    if train:
        np.testing.assert_array_equal(cache_c.mask, cache.mask)
    dout = make_x(shape, dtype, seed + 1)
    assert _dropout_backward(dout, cache_c).tobytes() == dropout_backward(dout, cache).tobytes()


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_activation_cores_are_bit_identical_to_public(name, dtype):
    x = make_x((5, 7), dtype, 0, low=-20.0, high=20.0)
    dout = make_x((5, 7), dtype, 1)
    out, cache = getattr(layers, f"{name}_forward")(x)
    out_c, cache_c = getattr(layers, f"_{name}_forward")(x)
    assert out_c.tobytes() == out.tobytes()
    dx = getattr(layers, f"{name}_backward")(dout, cache)
    assert getattr(layers, f"_{name}_backward")(dout, cache_c).tobytes() == dx.tobytes()


def test_affine_core_is_bit_identical_to_public():
    x, W, b = make_x((6, 4), np.float64, 0), make_x((4, 3), np.float64, 1), make_x(3, np.float64, 2)
    out, cache = affine_forward(x, W, b)
    out_c, cache_c = _affine_forward(x, W, b)
    assert out_c.tobytes() == out.tobytes()
    dout = make_x((6, 3), np.float64, 3)
    for g, g_c in zip(affine_backward(dout, cache), _affine_backward(dout, cache_c)):
        assert g_c.tobytes() == g.tobytes()

"""Tests for dropout_lib.masks: Bernoulli keep-masks drawn from random bits."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dropout_lib.masks import (
    MASK_BITS,
    bernoulli_mask,
    keep_probability,
    keep_threshold,
    mask_shape,
)
from helpers import binomial_tolerance, global_state_equal

# Deterministic, modest property tests (CI-stable and fast on 2 shared cores).
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)

QUANTUM = 2.0**-MASK_BITS  # resolution of the realised keep probability
MAX_QUANT_ERROR = 2.0**-33  # documented bound |keep_probability(p) - (1 - p)|

EXTREME_P = [0.0, 1e-12, 2.0**-33, 1e-6, 2.0**-17, 1e-5, 0.3, 0.5, 0.999999, 1 - 1e-12, 1.0]
p_drops = st.one_of(st.sampled_from(EXTREME_P), st.floats(0.0, 1.0))
seeds = st.integers(0, 2**32 - 1)
small_shapes = st.lists(st.integers(0, 7), min_size=0, max_size=4).map(tuple)


@st.composite
def shapes_and_axes(draw, min_dims=0):
    shape = draw(st.lists(st.integers(1, 7), min_size=min_dims, max_size=4).map(tuple))
    axes = (
        draw(st.lists(st.sampled_from(range(len(shape))), unique=True).map(tuple)) if shape else ()
    )
    # express some axes as negative numbers, as users may
    signs = draw(st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    axes = tuple(a - len(shape) if neg else a for a, neg in zip(axes, signs, strict=True))
    return shape, axes




# ---------------------------------------------------------------------------
# keep_probability / keep_threshold
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("p_drop", EXTREME_P + [0.1, 0.2, 0.7, 0.9, 0.99, 1 / 3, 2 / 3])
def test_keep_probability_close_to_nominal(p_drop):
    kp = keep_probability(p_drop)
    assert abs(kp - (1.0 - p_drop)) <= 1e-9
    assert abs(kp - (1.0 - p_drop)) <= MAX_QUANT_ERROR + 2.0**-52


@given(p_drop=p_drops)
@PROPERTY
def test_keep_probability_is_quantised_and_bounded(p_drop):
    t = keep_threshold(p_drop)
    assert isinstance(t, int) and 0 <= t <= 2**MASK_BITS
    kp = keep_probability(p_drop)
    assert kp == t * QUANTUM
    assert 0.0 <= kp <= 1.0
    # 2**-33 from rounding to the grid, plus the float rounding of 1 - p_drop
    assert abs(kp - (1.0 - p_drop)) <= MAX_QUANT_ERROR + 2.0**-53


@pytest.mark.parametrize(
    "p_drop, exact", [(0.0, 1.0), (1.0, 0.0), (0.5, 0.5), (0.25, 0.75), (0.75, 0.25)]
)
def test_keep_probability_exact_on_the_grid(p_drop, exact):
    assert keep_probability(p_drop) == exact


def test_keep_probability_is_monotone():
    ps = np.linspace(0.0, 1.0, 2001)
    kps = [keep_probability(float(p)) for p in ps]
    assert all(a >= b for a, b in zip(kps[:-1], kps[1:], strict=True))


# ---------------------------------------------------------------------------
# mask_shape
# ---------------------------------------------------------------------------


def test_mask_shape_documented_examples():
    assert mask_shape((32, 16, 8, 8), (2, 3)) == (32, 16, 1, 1)  # channel dropout
    assert mask_shape((32, 50, 128), (1,)) == (32, 1, 128)  # locked dropout
    assert mask_shape((4, 5), -1) == (4, 1)
    assert mask_shape((4, 5)) == (4, 5)
    assert mask_shape(7) == (7,)
    assert mask_shape((), ()) == ()


@given(sa=shapes_and_axes())
@PROPERTY
def test_mask_shape_broadcasts_back(sa):
    shape, axes = sa
    ms = mask_shape(shape, axes)
    assert len(ms) == len(shape)
    assert np.broadcast_shapes(ms, shape) == shape
    normalised = {a % len(shape) for a in axes}
    for axis, (m, s) in enumerate(zip(ms, shape, strict=True)):
        assert m == (1 if axis in normalised else s)


# ---------------------------------------------------------------------------
# bernoulli_mask: structure
# ---------------------------------------------------------------------------


@given(sa=shapes_and_axes(), p_drop=p_drops, seed=seeds)
@PROPERTY
def test_mask_is_bool_with_documented_shape(sa, p_drop, seed):
    shape, axes = sa
    mask = bernoulli_mask(shape, p_drop, np.random.default_rng(seed), shared_axes=axes)
    assert isinstance(mask, np.ndarray)
    assert mask.dtype == np.bool_
    assert mask.shape == mask_shape(shape, axes)
    # one value per shared slice: broadcast to the full shape, it is constant along shared axes
    full = np.broadcast_to(mask, shape)
    for axis in axes:
        first = np.take(full, [0], axis=axis)
        assert np.array_equal(full, np.broadcast_to(first, shape))


@given(shape=small_shapes, seed=seeds)
@PROPERTY
def test_p_drop_zero_and_one_are_exact_and_draw_nothing(shape, seed):
    rng = np.random.default_rng(seed)
    state = rng.bit_generator.state
    assert bernoulli_mask(shape, 0.0, rng).all()
    assert not bernoulli_mask(shape, 1.0, rng).any()
    assert rng.bit_generator.state == state


def test_int_shape_and_numpy_int_entries():
    rng = np.random.default_rng(0)
    assert bernoulli_mask(5, 0.5, rng).shape == (5,)
    assert bernoulli_mask((np.int64(2), np.int32(3)), 0.5, rng).shape == (2, 3)
    assert bernoulli_mask((0, 4), 0.5, rng).shape == (0, 4)


# ---------------------------------------------------------------------------
# bernoulli_mask: statistics
# ---------------------------------------------------------------------------


@given(
    d1=st.integers(100, 200),
    d2=st.integers(100, 200),
    p_drop=p_drops,
    seed=seeds,
)
@PROPERTY
def test_dropped_fraction_within_5_sigma(d1, d2, p_drop, seed):
    n = d1 * d2  # at least 10_000 units
    mask = bernoulli_mask((d1, d2), p_drop, np.random.default_rng(seed))
    n_dropped = n - int(np.count_nonzero(mask))
    # realised drop probability: 5-sigma binomial interval (exact when it is 0 or 1)
    q = keep_probability(p_drop)
    if q in (0.0, 1.0):
        assert n_dropped == n * (1.0 - q)
    else:
        assert abs(n_dropped - n * (1.0 - q)) <= binomial_tolerance(n, 1.0 - q)
    # nominal p_drop: the same interval widened by the documented quantisation bound
    assert abs(n_dropped - n * p_drop) <= binomial_tolerance(n, p_drop) + n * MAX_QUANT_ERROR


def test_keep_direction_p_drop_0_2_keeps_about_80_percent():
    # The seed text's comment had the rule backwards ("drop where u < 1 - p").
    mask = bernoulli_mask(100_000, 0.2, np.random.default_rng(2024))
    kept = mask.mean()
    assert kept > 0.5, "mask keeps ~p_drop instead of ~1 - p_drop: comparison is reversed"
    assert abs(kept * 100_000 - 0.8 * 100_000) <= binomial_tolerance(100_000, 0.8)


@given(seed=seeds, p_drop=st.floats(0.05, 0.95))
@settings(max_examples=20, deadline=None, derandomize=True)
def test_entries_are_independent_neighbours(seed, p_drop):
    # Adjacent entries come from the same 64-bit word; they must still be independent:
    # P(m[i] and m[i+1]) = q**2 within 5 sigma.
    n = 40_000
    m = bernoulli_mask(n, p_drop, np.random.default_rng(seed))
    q = keep_probability(p_drop)
    for lag in (1, 2, 3, 4):
        both = int(np.count_nonzero(m[:-lag] & m[lag:]))
        # pairs overlap, so counts are not quite binomial: allow twice the tolerance
        assert abs(both - (n - lag) * q * q) <= 2 * binomial_tolerance(n - lag, q * q)


def test_mt19937_generator_has_correct_statistics():
    # MT19937's raw output is 32 bits wide; the 64-bit fast path must not be used for it.
    rng = np.random.Generator(np.random.MT19937(7))
    n = 50_000
    for p_drop in (0.1, 0.5, 0.9):
        kept = int(np.count_nonzero(bernoulli_mask(n, p_drop, rng)))
        q = keep_probability(p_drop)
        assert abs(kept - n * q) <= binomial_tolerance(n, q)


# ---------------------------------------------------------------------------
# bernoulli_mask: reproducibility
# ---------------------------------------------------------------------------


@given(sa=shapes_and_axes(), p_drop=p_drops, seed=seeds)
@PROPERTY
def test_same_seed_same_mask(sa, p_drop, seed):
    shape, axes = sa
    a = bernoulli_mask(shape, p_drop, np.random.default_rng(seed), shared_axes=axes)
    b = bernoulli_mask(shape, p_drop, np.random.default_rng(seed), shared_axes=axes)
    assert np.array_equal(a, b)


@given(seed=seeds, p_drop=st.floats(0.1, 0.9))
@PROPERTY
def test_different_seeds_differ(seed, p_drop):
    a = bernoulli_mask(512, p_drop, np.random.default_rng(seed))
    b = bernoulli_mask(512, p_drop, np.random.default_rng(seed + 1))
    assert not np.array_equal(a, b)


def test_successive_draws_differ_and_advance_generator():
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    a = bernoulli_mask((64, 64), 0.5, rng)
    assert rng.bit_generator.state != state
    b = bernoulli_mask((64, 64), 0.5, rng)
    assert not np.array_equal(a, b)


def _uint16_stream(bitgen, seed, n):
    """The spec's 16-bit numbers: four per little-endian 64-bit word, low first."""
    words = bitgen(seed).random_raw(-(-n // 4))
    return [(int(w) >> (16 * k)) & 0xFFFF for w in words for k in range(4)][:n]


def _spec_mask(bitgen, seed, n, p_drop):
    """The documented mask, written out with Python integers.

    Unit i has the 32-bit number u_i = high_i * 2**16 + low_i and is kept iff
    u_i < t = round((1 - p_drop) * 2**32). The high halves are the first n
    numbers of the stream; a low half is drawn only where high_i ties with
    t's high half, in order, from the words after the first block.
    """
    t = round((1.0 - p_drop) * 2**32)
    t_high, t_low = divmod(t, 2**16)
    n_words = -(-n // 4)
    stream = _uint16_stream(bitgen, seed, 4 * n_words + 4 * n)
    high = stream[:n]
    ties = [i for i in range(n) if high[i] == t_high] if t_low else []
    low = dict(zip(ties, stream[4 * n_words:], strict=False))
    return np.array([
        h < t_high or (i in low and low[i] < t_low) for i, h in enumerate(high)
    ])


@pytest.mark.parametrize(
    "bitgen", [np.random.PCG64, np.random.PCG64DXSM, np.random.Philox, np.random.SFC64]
)
@pytest.mark.parametrize("n", [1, 3, 4, 5, 1001])
def test_mask_is_the_documented_function_of_the_bit_stream(bitgen, n):
    # Reproducibility across machines rests on this spec (see _spec_mask).
    mask = bernoulli_mask(n, 0.3, np.random.Generator(bitgen(11)))
    assert np.array_equal(mask, _spec_mask(bitgen, 11, n, 0.3))


def test_ties_on_the_high_half_are_resolved_by_the_low_half():
    # p_drop = 1e-6 puts t's high half at 65535: every unit whose high half is
    # 65535 (1 in 65536) is a tie, kept with probability t_low / 2**16 = 0.94.
    n, p_drop = 300_000, 1e-6
    high = np.array(_uint16_stream(np.random.PCG64, 2, n))
    assert np.count_nonzero(high == 65535) >= 2  # the test exercises ties
    mask = bernoulli_mask(n, p_drop, np.random.Generator(np.random.PCG64(2)))
    assert np.array_equal(mask, _spec_mask(np.random.PCG64, 2, n, p_drop))
    assert mask[high < 65535].all()


def test_other_bit_generators_use_integers():
    n = 777
    mask = bernoulli_mask(n, 0.4, np.random.Generator(np.random.MT19937(5)))
    gen = np.random.Generator(np.random.MT19937(5))
    high = gen.integers(0, 2**16, size=n, dtype=np.uint16).astype(np.int64)
    t_high, t_low = divmod(keep_threshold(0.4), 2**16)
    ties = np.flatnonzero(high == t_high)
    low = gen.integers(0, 2**16, size=ties.size, dtype=np.uint16)
    expected = high < t_high
    expected[ties] = low < t_low
    assert np.array_equal(mask, expected)


# ---------------------------------------------------------------------------
# exactly unbiased: the realised keep rate over many masks
# ---------------------------------------------------------------------------

UNBIASED_UNITS = 10**8  # 1e8 units: the old 16-bit masks fail at p_drop = 1e-6
Z = 6.0  # the interval: |kept - n q| <= 6 binomial standard deviations


@pytest.mark.parametrize("p_drop", [1e-6, 0.1, 0.3, 0.7, 0.99])
def test_kept_count_matches_one_minus_p_drop(p_drop):
    # A 6-sigma binomial interval around n (1 - p_drop). With 16-bit masks the
    # keep rate at p_drop = 1e-6 was exactly 1: 10 standard deviations off.
    rng = np.random.default_rng(20261201)
    chunk = 10**7
    kept = sum(
        int(np.count_nonzero(bernoulli_mask(chunk, p_drop, rng)))
        for _ in range(UNBIASED_UNITS // chunk)
    )
    q = 1.0 - p_drop
    sd = (UNBIASED_UNITS * q * p_drop) ** 0.5
    assert abs(kept - UNBIASED_UNITS * q) <= Z * sd, (kept, UNBIASED_UNITS * q, sd)


# ---------------------------------------------------------------------------
# purity: no global RNG, no mutation
# ---------------------------------------------------------------------------


def test_global_rng_is_never_used():
    np.random.seed(0)
    before = np.random.get_state()
    rng = np.random.default_rng(1)
    for p in EXTREME_P:
        bernoulli_mask((10, 10), p, rng)
        bernoulli_mask((4, 3, 5, 5), p, rng, shared_axes=(2, 3))
        bernoulli_mask(100, p, np.random.Generator(np.random.MT19937(1)))
        keep_probability(p)
    assert global_state_equal(before, np.random.get_state())


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "p_drop, exc, match",
    [
        (-0.1, ValueError, r"p_drop must be a real number in \[0, 1\], got -0\.1"),
        (1.1, ValueError, r"p_drop must be a real number in \[0, 1\], got 1\.1"),
        (1.5, ValueError, r"p_drop must be a real number in \[0, 1\], got 1\.5"),
        (float("nan"), ValueError, r"p_drop must be a real number in \[0, 1\], got nan"),
        (float("inf"), ValueError, r"p_drop must be a real number in \[0, 1\], got inf"),
        (True, TypeError, r"p_drop must be a real number in \[0, 1\], got bool"),
        ("0.5", TypeError, r"p_drop must be a real number in \[0, 1\], got str"),
        (None, TypeError, r"p_drop must be a real number in \[0, 1\], got None"),
        (0.5 + 0j, TypeError, r"p_drop must be a real number in \[0, 1\], got complex"),
        (np.array(0.5), TypeError, r"p_drop must be a real number in \[0, 1\], got ndarray"),
    ],
)
@pytest.mark.parametrize("func", ["bernoulli_mask", "keep_probability", "keep_threshold"])
def test_bad_p_drop(func, p_drop, exc, match):
    with pytest.raises(exc, match=match):
        if func == "bernoulli_mask":
            bernoulli_mask((3,), p_drop, RNG)
        elif func == "keep_probability":
            keep_probability(p_drop)
        else:
            keep_threshold(p_drop)


@pytest.mark.parametrize(
    "rng, got",
    [
        (np.random.RandomState(0), "RandomState"),
        (None, "None"),
        (0, "int"),
        (np.random.PCG64(0), "PCG64"),
    ],
)
def test_bad_rng(rng, got):
    match = (
        r"rng must be a numpy\.random\.Generator \(e\.g\. np\.random\.default_rng\(0\)\), got "
        + got
    )
    with pytest.raises(TypeError, match=match):
        bernoulli_mask((3,), 0.5, rng)


@pytest.mark.parametrize(
    "shape, axes, match",
    [
        ((2, 3, 4, 5), (4,), r"shared_axes contains axis 4, which is out of range .*ndim = 4"),
        ((2, 3, 4, 5), (-5,), r"shared_axes contains axis -5, which is out of range .*ndim = 4"),
        ((2, 3), (1, 1), r"shared_axes contains axis 1 more than once .*ndim = 2"),
        ((2, 3, 4, 5), (1, -3), r"shared_axes contains axis 1 more than once \(as 1 and -3\)"),
        ((), (0,), r"shared_axes contains axis 0, but the array has ndim = 0"),
    ],
)
def test_bad_shared_axes_value(shape, axes, match):
    with pytest.raises(ValueError, match=match):
        bernoulli_mask(shape, 0.5, RNG, shared_axes=axes)
    with pytest.raises(ValueError, match=match):
        mask_shape(shape, axes)


@pytest.mark.parametrize("axes", [(1.0,), "1", (True,), None])
def test_bad_shared_axes_type(axes):
    with pytest.raises(TypeError, match=r"shared_axes must be an int or a tuple of ints"):
        bernoulli_mask((2, 3), 0.5, RNG, shared_axes=axes)


@pytest.mark.parametrize(
    "shape, exc, match",
    [
        ((2, -1), ValueError, r"shape must contain non-negative ints, got \(2, -1\)"),
        (-3, ValueError, r"shape must contain non-negative ints"),
        ((2.0, 3), TypeError, r"shape must be an int or a tuple of non-negative ints"),
        ([2, 3], TypeError, r"shape must be an int or a tuple of non-negative ints, got list"),
        (None, TypeError, r"shape must be an int or a tuple of non-negative ints, got None"),
        ((True, 2), TypeError, r"shape must be an int or a tuple of non-negative ints"),
    ],
)
def test_bad_shape(shape, exc, match):
    with pytest.raises(exc, match=match):
        bernoulli_mask(shape, 0.5, RNG)

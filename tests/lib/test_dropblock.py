"""Tests for dropout_lib.dropblock: DropBlock masks (Ghiasi et al. 2018)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import binomial_tolerance, global_state_equal

from dropout_lib.dropblock import (
    dropblock_backward,
    dropblock_expected_drop,
    dropblock_forward,
    dropblock_gamma,
    dropblock_mask,
)
from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.masks import bernoulli_mask


def _covered_by_full_blocks(dropped: np.ndarray, b: int) -> bool:
    """Whether every dropped unit of each (H, W) map lies in a wholly dropped b x b square."""
    h, w = dropped.shape[-2:]
    full = np.ones(dropped.shape[:-2] + (h - b + 1, w - b + 1), dtype=bool)
    for di in range(b):
        for dj in range(b):
            full &= dropped[..., di:di + h - b + 1, dj:dj + w - b + 1]
    covered = np.zeros_like(dropped)
    for di in range(b):
        for dj in range(b):
            covered[..., di:di + h - b + 1, dj:dj + w - b + 1] |= full
    return bool(np.array_equal(covered, dropped))


def test_gamma_is_eq_1_of_the_paper():
    # square map: (1 - keep_prob) / b^2 * f^2 / (f - b + 1)^2
    assert dropblock_gamma(0.1, 3, 14, 14) == pytest.approx(
        0.1 / 9 * 14**2 / 12**2, rel=1e-15)
    assert dropblock_gamma(0.2, 1, 5, 7) == pytest.approx(0.2, rel=1e-15)
    assert dropblock_gamma(0.1, 2, 6, 4) == pytest.approx(
        0.1 / 4 * 24 / (5 * 3), rel=1e-15)
    # never above p_drop, so always a probability
    for b in range(1, 8):
        assert dropblock_gamma(0.9, b, 7, 9) <= 0.9


@pytest.mark.parametrize("b", [2, 3, 5])
def test_dropped_units_form_whole_blocks_inside_the_map(b):
    mask = dropblock_mask((4, 3, 12, 10), 0.2, b, np.random.default_rng(b))
    dropped = ~mask
    assert dropped.any() and mask.any()
    assert _covered_by_full_blocks(dropped, b)


def test_the_check_of_block_structure_rejects_bernoulli_masks():
    dropped = ~bernoulli_mask((4, 3, 12, 10), 0.2, np.random.default_rng(0))
    assert not _covered_by_full_blocks(dropped, 3)


@pytest.mark.parametrize("p_drop,b,hw", [(0.1, 3, (14, 14)), (0.3, 5, (16, 12)),
                                         (0.2, 2, (7, 7))])
def test_measured_drop_fraction_matches_the_exact_expectation(p_drop, b, hw):
    n_maps = 2_000
    mask = dropblock_mask((n_maps, 1) + hw, p_drop, b, np.random.default_rng(0))
    per_map = 1.0 - mask.reshape(n_maps, -1).mean(axis=1)
    expected = dropblock_expected_drop(p_drop, b, *hw)
    # maps are independent: 5 standard errors of the mean over maps
    se = per_map.std(ddof=1) / math.sqrt(n_maps)
    assert abs(per_map.mean() - expected) <= 5 * se
    # overlaps make the expectation a little below the target, never above
    assert 0.75 * p_drop < expected <= p_drop


def test_expected_drop_formula_against_brute_force():
    # 1 - (1 - gamma)^(number of corners covering the unit), averaged
    p_drop, b, h, w = 0.25, 3, 6, 5
    gamma = dropblock_gamma(p_drop, b, h, w)
    probs = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            k = sum(1 for r in range(h - b + 1) for c in range(w - b + 1)
                    if r <= i < r + b and c <= j < c + b)
            probs[i, j] = 1.0 - (1.0 - gamma) ** k
    assert dropblock_expected_drop(p_drop, b, h, w) == pytest.approx(
        probs.mean(), rel=1e-14)


@pytest.mark.parametrize("p_drop", [0.1, 0.5])
def test_block_size_one_is_bernoulli_dropout(p_drop):
    shape = (8, 4, 9, 9)
    mask = dropblock_mask(shape, p_drop, 1, np.random.default_rng(3))
    same = bernoulli_mask(shape, p_drop, np.random.default_rng(3))
    assert np.array_equal(mask, same)  # draw for draw
    n = mask.size
    assert abs(np.count_nonzero(~mask) - n * p_drop) <= binomial_tolerance(n, p_drop)
    assert dropblock_expected_drop(p_drop, 1, 9, 9) == pytest.approx(p_drop)


def test_shared_channels_gives_one_mask_per_example():
    mask = dropblock_mask((5, 7, 8, 8), 0.2, 3, np.random.default_rng(4),
                          shared_channels=True)
    assert mask.shape == (5, 1, 8, 8)


def test_same_seed_same_mask_and_no_global_rng():
    before = np.random.get_state()
    a = dropblock_mask((3, 2, 10, 10), 0.2, 3, np.random.default_rng(5))
    b = dropblock_mask((3, 2, 10, 10), 0.2, 3, np.random.default_rng(5))
    c = dropblock_mask((3, 2, 10, 10), 0.2, 3, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert global_state_equal(before, np.random.get_state())


def test_forward_rescales_by_count_over_count_ones():
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    before = x.copy()
    out, cache = dropblock_forward(x, 0.2, 3, train=True,
                                   rng=np.random.default_rng(1))
    mask = dropblock_mask((2, 3, 8, 8), 0.2, 3, np.random.default_rng(1))
    scale = mask.size / np.count_nonzero(mask)
    assert np.array_equal(cache.mask, mask) and cache.scale == scale
    assert np.allclose(out, np.where(mask, x * scale, 0.0), rtol=1e-15, atol=0)
    assert np.array_equal(x, before) and not np.shares_memory(out, x)
    ones, _ = dropblock_forward(np.ones((2, 3, 8, 8)), 0.2, 3, train=True,
                                mask=mask)
    assert ones.mean() == pytest.approx(1.0, rel=1e-14)  # the point of count/ones


def test_forward_eval_is_identity_and_backward_gradient_check():
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    out, cache = dropblock_forward(x, 0.3, 2, train=False)
    assert np.array_equal(out, x) and not np.shares_memory(out, x)
    _, cache = dropblock_forward(x, 0.3, 2, train=True,
                                 rng=np.random.default_rng(2), shared_channels=True)
    assert cache.mask.shape == (2, 1, 6, 6)
    dout = np.random.default_rng(3).standard_normal(x.shape)

    def f(v):
        return dropblock_forward(v, 0.3, 2, train=True, mask=cache.mask)[0]

    dx = dropblock_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(f, x, dout)) < 1e-9


def test_argument_errors_name_the_argument():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="block_size"):
        dropblock_mask((1, 1, 4, 4), 0.1, 5, rng)
    with pytest.raises(ValueError, match="block_size"):
        dropblock_mask((1, 1, 4, 4), 0.1, 0, rng)
    with pytest.raises(TypeError, match="block_size"):
        dropblock_mask((1, 1, 4, 4), 0.1, 2.0, rng)
    with pytest.raises(ValueError, match="p_drop"):
        dropblock_mask((1, 1, 4, 4), 1.0, 2, rng)
    with pytest.raises(ValueError, match="p_drop"):
        dropblock_mask((1, 1, 4, 4), -0.1, 2, rng)
    with pytest.raises(TypeError, match="p_drop"):
        dropblock_mask((1, 1, 4, 4), "0.1", 2, rng)
    with pytest.raises(ValueError, match="shape"):
        dropblock_mask((4, 4), 0.1, 2, rng)
    with pytest.raises(TypeError, match="rng"):
        dropblock_mask((1, 1, 4, 4), 0.1, 2, np.random.RandomState(0))
    with pytest.raises(TypeError, match="shared_channels"):
        dropblock_mask((1, 1, 4, 4), 0.1, 2, rng, shared_channels=1)
    x = np.ones((1, 2, 4, 4))
    with pytest.raises(ValueError, match="x"):
        dropblock_forward(np.ones((4, 4)), 0.1, 2, train=True, rng=rng)
    with pytest.raises(TypeError, match="rng"):
        dropblock_forward(x, 0.1, 2, train=True)
    with pytest.raises(TypeError, match="mask"):
        dropblock_forward(x, 0.1, 2, train=True, mask=np.ones(x.shape))
    with pytest.raises(ValueError, match="mask"):
        dropblock_forward(x, 0.1, 2, train=True, mask=np.ones((1, 2, 4, 3), bool))
    with pytest.raises(ValueError, match="mask"):
        dropblock_forward(x, 0.1, 2, train=False, mask=np.ones(x.shape, bool))
    _, cache = dropblock_forward(x, 0.1, 2, train=True, rng=rng)
    with pytest.raises(ValueError, match="dout"):
        dropblock_backward(np.ones((1, 2, 4, 3)), cache)
    with pytest.raises(TypeError, match="cache"):
        dropblock_backward(x, object())

"""Tests for DropPath (stochastic depth): dropout shared over every non-batch axis."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import binomial_tolerance

from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.layers import (
    DropoutCache,
    affine_backward,
    affine_forward,
    drop_path_backward,
    drop_path_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
)
from dropout_lib.masks import keep_probability


def make(shape, seed, low=-3.0, high=3.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


@pytest.mark.parametrize("shape", [(5,), (6, 4), (4, 3, 5), (3, 2, 4, 4)])
def test_is_dropout_with_every_non_batch_axis_shared(shape):
    x = make(shape, 0)
    out, cache = drop_path_forward(x, 0.3, train=True, rng=np.random.default_rng(1))
    ref, ref_cache = dropout_forward(
        x, 0.3, train=True, rng=np.random.default_rng(1), shared_axes=tuple(range(1, len(shape)))
    )
    assert out.tobytes() == ref.tobytes()
    assert isinstance(cache, DropoutCache)
    assert cache.mask.shape == (shape[0],) + (1,) * (len(shape) - 1)
    assert np.array_equal(cache.mask, ref_cache.mask)


def test_each_example_keeps_or_drops_its_whole_branch():
    x = make((50, 3, 4), 2, 1.0, 2.0)  # nonzero everywhere
    x_before = x.copy()
    out, cache = drop_path_forward(x, 0.5, train=True, rng=np.random.default_rng(3))
    dropped = np.all(out == 0, axis=(1, 2))
    kept = np.all(out == 2.0 * x, axis=(1, 2))
    assert np.all(dropped ^ kept) and np.array_equal(kept, cache.mask[:, 0, 0])
    assert np.array_equal(x, x_before) and not np.shares_memory(out, x)


def test_dropped_fraction_of_examples():
    n, p_drop = 20_000, 0.2
    _, cache = drop_path_forward(np.ones((n, 3)), p_drop, train=True, rng=np.random.default_rng(4))
    q = keep_probability(p_drop)
    assert abs(cache.mask.sum() - n * q) <= binomial_tolerance(n, q)


def test_eval_is_identity_and_same_seed_same_result():
    x = make((4, 6), 5)
    out, cache = drop_path_forward(x, 0.5, train=False)
    assert np.array_equal(out, x) and cache.mask is None
    a, _ = drop_path_forward(x, 0.5, train=True, rng=np.random.default_rng(9))
    b, _ = drop_path_forward(x, 0.5, train=True, rng=np.random.default_rng(9))
    assert np.array_equal(a, b)


def test_backward_is_the_dropout_backward():
    x, dout = make((6, 5), 6), make((6, 5), 7)
    _, cache = drop_path_forward(x, 0.4, train=True, rng=np.random.default_rng(8))
    dx = drop_path_backward(dout, cache)
    assert dx.tobytes() == dropout_backward(dout, cache).tobytes()
    assert np.array_equal(dx, dout * cache.mask / 0.6)


def test_gradient_check_of_a_residual_block():
    # y = x + drop_path(relu(x W + b)): the skip path always passes the gradient.
    x, W, b = make((5, 4), 10), make((4, 4), 11), make(4, 12)
    dout = make((5, 4), 13)

    def block(v, W_):
        branch = relu_forward(affine_forward(v, W_, b)[0])[0]
        return v + drop_path_forward(branch, 0.5, train=True, rng=np.random.default_rng(14))[0]

    h, ca = affine_forward(x, W, b)
    a, cr = relu_forward(h)
    _, cd = drop_path_forward(a, 0.5, train=True, rng=np.random.default_rng(14))
    dbranch, dW, _ = affine_backward(relu_backward(drop_path_backward(dout, cd), cr), ca)
    dx = dout + dbranch
    assert not cd.mask.all() and cd.mask.any()  # some examples dropped, some kept
    assert rel_error(dx, numerical_gradient(lambda v: block(v, W), x, dout)) < 1e-7
    assert rel_error(dW, numerical_gradient(lambda v: block(x, v), W, dout)) < 1e-7
    # a dropped example's gradient is dout itself: only the skip path
    dropped = ~cd.mask[:, 0]
    assert np.array_equal(dx[dropped], dout[dropped])


def test_a_given_mask_and_bad_input():
    x = make((3, 2), 0)
    mask = np.array([[True], [False], [True]])
    out, _ = drop_path_forward(x, 0.5, train=True, mask=mask)
    assert np.array_equal(out, x * mask * 2.0)
    with pytest.raises(ValueError, match=r"mask must have the same shape as the mask of x, \(3, 1\)"):
        drop_path_forward(x, 0.5, train=True, mask=np.ones((3, 2), dtype=bool))
    with pytest.raises(ValueError, match="branch must have a batch axis"):
        drop_path_forward(np.array(1.0), 0.5, train=False)
    with pytest.raises(TypeError, match="branch must be a NumPy array of floating dtype"):
        drop_path_forward([1.0, 2.0], 0.5, train=False)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        drop_path_forward(x, 0.5, train=True)
    with pytest.raises(ValueError, match=r"p_drop must be a real number in \[0, 1\]"):
        drop_path_forward(x, 1.5, train=True, rng=np.random.default_rng(0))

"""Tests for dropout_lib.conv: im2col convolution ('same', stride 1) and 2x2 average pooling."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import global_state_equal

from dropout_lib.conv import (
    AvgPoolCache,
    Conv2dCache,
    _avg_pool2x2_backward,
    _avg_pool2x2_forward,
    _conv2d_backward,
    _conv2d_forward,
    avg_pool2x2_backward,
    avg_pool2x2_forward,
    conv2d_backward,
    conv2d_forward,
)
from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
)
from dropout_lib.losses import softmax_cross_entropy


def make(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def naive_conv(x, W, b):
    """Four nested loops over the definition, zero outside the image."""
    n, _, h, w = x.shape
    f, _, k, _ = W.shape
    p = k // 2
    out = np.zeros((n, f, h, w))
    for i in range(h):
        for j in range(w):
            for u in range(k):
                for v in range(k):
                    ii, jj = i + u - p, j + v - p
                    if 0 <= ii < h and 0 <= jj < w:
                        out[:, :, i, j] += x[:, :, ii, jj] @ W[:, :, u, v].T
    return out + b[None, :, None, None]


def naive_pool(x):
    n, c, h, w = x.shape
    out = np.zeros((n, c, h // 2, w // 2))
    for i in range(h // 2):
        for j in range(w // 2):
            out[:, :, i, j] = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean(axis=(2, 3))
    return out


CONV_SHAPES = [  # (N, C, H, W, F, k)
    (1, 1, 1, 1, 1, 1),
    (2, 1, 5, 5, 3, 3),
    (3, 2, 4, 6, 2, 3),
    (2, 3, 6, 5, 4, 5),
    (1, 2, 3, 3, 2, 5),  # kernel wider than the image
]


# ---------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", CONV_SHAPES)
def test_conv_matches_the_naive_loops(shape):
    n, c, h, w, f, k = shape
    x, W, b = make((n, c, h, w), 0), make((f, c, k, k), 1), make(f, 2)
    out, cache = conv2d_forward(x, W, b)
    assert out.shape == (n, f, h, w) and out.flags.c_contiguous
    np.testing.assert_allclose(out, naive_conv(x, W, b), rtol=1e-12, atol=1e-12)
    assert isinstance(cache, Conv2dCache)


def test_conv_of_an_impulse_is_the_flipped_kernel():
    # cross-correlation: a single 1 at the centre reproduces the kernel rotated by 180 degrees
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    W = np.arange(9.0).reshape(1, 1, 3, 3)
    out, _ = conv2d_forward(x, W, np.zeros(1))
    assert np.array_equal(out[0, 0, 1:4, 1:4], W[0, 0, ::-1, ::-1])
    assert np.count_nonzero(out) == 8  # the kernel's 0 entry lands on a pixel too


@pytest.mark.parametrize("shape", CONV_SHAPES)
def test_conv_gradient_check(shape):
    n, c, h, w, f, k = shape
    x, W, b = make((n, c, h, w), 3), make((f, c, k, k), 4), make(f, 5)
    dout = make((n, f, h, w), 6)
    _, cache = conv2d_forward(x, W, b)
    dx, dW, db = conv2d_backward(dout, cache)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    assert rel_error(dx, numerical_gradient(lambda v: conv2d_forward(v, W, b)[0], x, dout)) < 1e-8
    assert rel_error(dW, numerical_gradient(lambda v: conv2d_forward(x, v, b)[0], W, dout)) < 1e-8
    assert rel_error(db, numerical_gradient(lambda v: conv2d_forward(x, W, v)[0], b, dout)) < 1e-8


def test_conv_keeps_float32_and_modifies_nothing():
    x, W, b = make((2, 3, 4, 4), 0, np.float32), make((5, 3, 3, 3), 1, np.float32), np.zeros(
        5, np.float32
    )
    dout = make((2, 5, 4, 4), 2, np.float32)
    before = [a.copy() for a in (x, W, b, dout)]
    out, cache = conv2d_forward(x, W, b)
    grads = conv2d_backward(dout, cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    for a, a0 in zip((x, W, b, dout), before):
        assert np.array_equal(a, a0)
    for g in (out, *grads):
        assert not any(np.shares_memory(g, a) for a in (x, W, b, dout))


def test_conv_core_is_bit_identical_to_public():
    x, W, b = make((2, 2, 5, 4), 0), make((3, 2, 3, 3), 1), make(3, 2)
    dout = make((2, 3, 5, 4), 3)
    out, cache = conv2d_forward(x, W, b)
    out_c, cache_c = _conv2d_forward(x, W, b)
    assert out_c.tobytes() == out.tobytes()
    for g, g_c in zip(conv2d_backward(dout, cache), _conv2d_backward(dout, cache_c)):
        assert g_c.tobytes() == g.tobytes()


# ---------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (2, 3, 4, 6), (3, 2, 8, 8)])
def test_pool_matches_the_naive_loops_and_gradient_check(shape):
    x, dout = make(shape, 0), make((shape[0], shape[1], shape[2] // 2, shape[3] // 2), 1)
    out, cache = avg_pool2x2_forward(x)
    np.testing.assert_allclose(out, naive_pool(x), rtol=1e-14, atol=1e-15)
    dx = avg_pool2x2_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(lambda v: avg_pool2x2_forward(v)[0], x, dout)) < 1e-9
    assert isinstance(cache, AvgPoolCache)
    assert _avg_pool2x2_forward(x)[0].tobytes() == out.tobytes()
    assert _avg_pool2x2_backward(dout, cache).tobytes() == dx.tobytes()


# ---------------------------------------------------------------------------
# channel (spatial) dropout of conv features: dropout_forward with shared_axes=(2, 3)
# ---------------------------------------------------------------------------


def test_channel_dropout_of_conv_features_drops_whole_maps():
    x, W, b = make((6, 2, 5, 5), 0), make((8, 2, 3, 3), 1), np.full(8, 10.0)  # maps nonzero
    h, _ = conv2d_forward(x, W, b)
    out, cache = dropout_forward(h, 0.5, train=True, rng=np.random.default_rng(2),
                                 shared_axes=(2, 3))
    assert cache.mask.shape == (6, 8, 1, 1)
    dropped = np.all(out == 0, axis=(2, 3))
    kept = np.all(out == h * 2.0, axis=(2, 3))
    assert np.all(dropped ^ kept) and np.array_equal(kept, cache.mask[:, :, 0, 0])
    assert 0 < dropped.sum() < dropped.size


def test_gradient_check_through_conv_and_channel_dropout():
    x, W, b = make((2, 2, 4, 4), 3), make((3, 2, 3, 3), 4), make(3, 5)
    dout = make((2, 3, 4, 4), 6)

    def f(v):  # re-create the generator so the channel mask stays fixed
        h = conv2d_forward(v, W, b)[0]
        return dropout_forward(h, 0.4, train=True, rng=np.random.default_rng(7),
                               shared_axes=(2, 3))[0]

    h, ccache = conv2d_forward(x, W, b)
    _, dcache = dropout_forward(h, 0.4, train=True, rng=np.random.default_rng(7),
                                shared_axes=(2, 3))
    dx, _, _ = conv2d_backward(dropout_backward(dout, dcache), ccache)
    assert rel_error(dx, numerical_gradient(f, x, dout)) < 1e-8


# ---------------------------------------------------------------------------
# a small conv net trains: conv 3x3 -> ReLU -> channel dropout -> pool -> affine
# ---------------------------------------------------------------------------


def test_a_small_conv_net_learns_the_digits():
    from dropout_lib.data import load_digits

    X, y = load_digits()
    X = X[:300].reshape(-1, 1, 8, 8)
    y = y[:300]
    rng = np.random.default_rng(0)
    W1, b1 = 0.3 * rng.standard_normal((8, 1, 3, 3)), np.zeros(8)
    W2, b2 = 0.1 * rng.standard_normal((8 * 16, 10)), np.zeros(10)
    losses = []
    for _epoch in range(15):
        for idx in np.array_split(rng.permutation(len(y)), 10):
            h, c1 = conv2d_forward(X[idx], W1, b1)
            a, cr = relu_forward(h)
            d, cd = dropout_forward(a, 0.2, train=True, rng=rng, shared_axes=(2, 3))
            p, cp = avg_pool2x2_forward(d)
            scores, ca = affine_forward(p.reshape(len(idx), -1), W2, b2)
            loss, dscores = softmax_cross_entropy(scores, y[idx])
            dp, dW2, db2 = affine_backward(dscores, ca)
            dd = dropout_backward(avg_pool2x2_backward(dp.reshape(p.shape), cp), cd)
            _, dW1, db1 = conv2d_backward(relu_backward(dd, cr), c1)
            for param, grad in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2)):
                param -= 0.1 * grad
            losses.append(loss)
    h = avg_pool2x2_forward(relu_forward(conv2d_forward(X, W1, b1)[0])[0])[0]
    accuracy = np.mean(affine_forward(h.reshape(len(y), -1), W2, b2)[0].argmax(1) == y)
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    assert accuracy > 0.8


def test_global_rng_is_never_used():
    np.random.seed(0)
    before = np.random.get_state()
    out, cache = conv2d_forward(make((1, 1, 4, 4), 0), make((2, 1, 3, 3), 1), np.zeros(2))
    conv2d_backward(out, cache)
    pooled, pcache = avg_pool2x2_forward(out)
    avg_pool2x2_backward(pooled, pcache)
    assert global_state_equal(before, np.random.get_state())


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

X4, W4, B4 = np.ones((2, 3, 4, 4)), np.ones((5, 3, 3, 3)), np.zeros(5)


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((X4[0], W4, B4), ValueError, r"x must have shape \(N, C, H, W\)"),
        ((X4.astype(int), W4, B4), TypeError, r"x must be a NumPy array of floating"),
        ((X4, np.ones((5, 2, 3, 3)), B4), ValueError, r"W must have shape \(F, C, k, k\) with C"),
        ((X4, np.ones((5, 3, 2, 2)), B4), ValueError, r"k odd \('same' padding\)"),
        ((X4, np.ones((5, 3, 3, 5)), B4), ValueError, r"W must have shape \(F, C, k, k\)"),
        ((X4, W4, np.zeros(4)), ValueError, r"b must have shape \(F,\) with F = W.shape\[0\] = 5"),
        ((X4, [[1.0]], B4), TypeError, r"W must be a NumPy array"),
    ],
)
def test_conv_bad_arguments_are_named(args, exc, match):
    with pytest.raises(exc, match=match):
        conv2d_forward(*args)


def test_bad_pool_input_dout_and_cache():
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\) with H and W even"):
        avg_pool2x2_forward(np.ones((1, 1, 3, 4)))
    out, cache = conv2d_forward(X4, W4, B4)
    with pytest.raises(ValueError, match=r"dout must have the same shape as the output of "
                                         r"conv2d_forward \(N, F, H, W\), \(2, 5, 4, 4\)"):
        conv2d_backward(np.ones((2, 3, 4, 4)), cache)
    _, pcache = avg_pool2x2_forward(X4)
    with pytest.raises(TypeError, match="cache must be the Conv2dCache returned by conv2d_forward"):
        conv2d_backward(out, pcache)
    with pytest.raises(ValueError, match="dout must have the same shape"):
        avg_pool2x2_backward(np.ones((2, 3, 4, 4)), pcache)

"""Tests for dropout_lib.attention: single-head self-attention with attention dropout."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import global_state_equal

from dropout_lib.attention import (
    AttentionCache,
    _self_attention_backward,
    _self_attention_forward,
    self_attention_backward,
    self_attention_forward,
)
from dropout_lib.gradcheck import numerical_gradient, rel_error
from dropout_lib.masks import bernoulli_mask


def make(shape, seed, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def problem(n=2, t=4, d=3, dk=2, dv=3, seed=0):
    return (make((n, t, d), seed), make((d, dk), seed + 1), make((d, dk), seed + 2),
            make((d, dv), seed + 3))


def naive_attention(x, Wq, Wk, Wv, keep=None, p_drop=0.0, causal=False):
    """Token by token: scores, a softmax per row, dropout, weighted sum of values."""
    n, t, _ = x.shape
    out = np.zeros((n, t, Wv.shape[1]))
    for s in range(n):
        q, k, v = x[s] @ Wq, x[s] @ Wk, x[s] @ Wv
        for i in range(t):
            allowed = range(i + 1) if causal else range(t)
            scores = np.array([q[i] @ k[j] / math.sqrt(Wq.shape[1]) for j in allowed])
            a = np.exp(scores - scores.max())
            a /= a.sum()
            for j, aj in zip(allowed, a):
                if keep is not None:
                    aj = aj * keep[s, i, j] / (1.0 - p_drop)
                out[s, i] += aj * v[j]
    return out


# ---------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("causal", [False, True])
def test_eval_matches_the_naive_loops_without_dropout(causal):
    x, Wq, Wk, Wv = problem(n=3, t=5, d=4, dk=3, dv=2)
    out, cache = self_attention_forward(x, Wq, Wk, Wv, 0.5, train=False, causal=causal)
    np.testing.assert_allclose(out, naive_attention(x, Wq, Wk, Wv, causal=causal),
                               rtol=1e-12, atol=1e-12)
    assert np.array_equal(cache.weights, cache.attn) and cache.dropout.mask is None
    np.testing.assert_allclose(cache.attn.sum(axis=-1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("causal", [False, True])
def test_training_drops_attention_entries_after_the_softmax(causal):
    x, Wq, Wk, Wv = problem(n=2, t=6)
    p_drop = 0.3
    out, cache = self_attention_forward(x, Wq, Wk, Wv, p_drop, train=True,
                                        rng=np.random.default_rng(5), causal=causal)
    keep = bernoulli_mask((2, 6, 6), p_drop, np.random.default_rng(5))
    assert np.array_equal(cache.dropout.mask, keep)
    assert np.array_equal(cache.weights, cache.attn * (1 / (1 - p_drop)) * keep)
    np.testing.assert_allclose(
        out, naive_attention(x, Wq, Wk, Wv, keep=keep, p_drop=p_drop, causal=causal),
        rtol=1e-12, atol=1e-12,
    )


def test_causal_attention_ignores_later_tokens():
    x, Wq, Wk, Wv = problem(n=1, t=5)
    out, cache = self_attention_forward(x, Wq, Wk, Wv, 0.0, train=False, causal=True)
    assert np.all(np.triu(cache.attn[0], k=1) == 0)
    later = x.copy()
    later[:, 3:] += 10.0
    out2, _ = self_attention_forward(later, Wq, Wk, Wv, 0.0, train=False, causal=True)
    np.testing.assert_allclose(out2[:, :3], out[:, :3], rtol=1e-13)
    assert not np.allclose(out2[:, 3:], out[:, 3:])


def test_attention_dropout_is_unbiased_over_many_masks():
    # E[weights] = attn for inverted dropout: one sequence repeated 20000 times (one
    # mask each); the mean within 5 standard errors of the mask m / q
    x, Wq, Wk, Wv = problem(n=1, t=3)
    p_drop, draws = 0.5, 20_000
    _, cache = self_attention_forward(np.repeat(x, draws, axis=0), Wq, Wk, Wv, p_drop,
                                      train=True, rng=np.random.default_rng(6))
    attn = cache.attn[0]
    assert np.allclose(cache.attn, attn, rtol=1e-14, atol=0)
    se = attn * math.sqrt(p_drop / (1 - p_drop) / draws)
    assert np.all(np.abs(cache.weights.mean(axis=0) - attn) <= 5 * se)


def test_large_scores_do_not_overflow():
    x, Wq, Wk, Wv = problem()
    out, cache = self_attention_forward(x, 300.0 * Wq, 300.0 * Wk, Wv, 0.0, train=False)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(cache.attn))


def test_same_seed_same_result_and_given_mask_replays():
    x, Wq, Wk, Wv = problem()
    a, ca = self_attention_forward(x, Wq, Wk, Wv, 0.4, train=True, rng=np.random.default_rng(1))
    b, _ = self_attention_forward(x, Wq, Wk, Wv, 0.4, train=True, rng=np.random.default_rng(1))
    c, _ = self_attention_forward(x, Wq, Wk, Wv, 0.4, train=True, mask=ca.dropout.mask)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    d, _ = self_attention_forward(x, Wq, Wk, Wv, 0.4, train=True, rng=np.random.default_rng(2))
    assert not np.array_equal(a, d)


def test_nothing_is_modified_and_the_global_rng_is_unused():
    x, Wq, Wk, Wv = problem()
    dout = make((2, 4, 3), 9)
    before = [a.copy() for a in (x, Wq, Wk, Wv, dout)]
    np.random.seed(0)
    state = np.random.get_state()
    for train in (True, False):
        out, cache = self_attention_forward(x, Wq, Wk, Wv, 0.5, train=train,
                                            rng=np.random.default_rng(0))
        grads = self_attention_backward(dout, cache)
        for g in (out, *grads):
            assert not any(np.shares_memory(g, a) for a in (x, Wq, Wk, Wv, dout))
    assert global_state_equal(state, np.random.get_state())
    for a, a0 in zip((x, Wq, Wk, Wv, dout), before):
        assert np.array_equal(a, a0)


# ---------------------------------------------------------------------------
# backward: gradient checks with the mask held fixed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "train, causal, p_drop", [(False, False, 0.5), (True, False, 0.4), (True, True, 0.4),
                              (True, False, 0.0)]
)
def test_gradient_check(train, causal, p_drop):
    x, Wq, Wk, Wv = problem(n=2, t=4, d=3, dk=2, dv=3, seed=20)
    dout = make((2, 4, 3), 30)
    _, cache = self_attention_forward(x, Wq, Wk, Wv, p_drop, train=train,
                                      rng=np.random.default_rng(4), causal=causal)
    mask = cache.dropout.mask if train else None
    if train and p_drop > 0:
        assert not mask.all()  # some entries really dropped

    def f(x_, Wq_, Wk_, Wv_):
        return self_attention_forward(x_, Wq_, Wk_, Wv_, p_drop, train=train, mask=mask,
                                      causal=causal)[0]

    dx, dWq, dWk, dWv = self_attention_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(lambda v: f(v, Wq, Wk, Wv), x, dout)) < 1e-7
    assert rel_error(dWq, numerical_gradient(lambda v: f(x, v, Wk, Wv), Wq, dout)) < 1e-7
    assert rel_error(dWk, numerical_gradient(lambda v: f(x, Wq, v, Wv), Wk, dout)) < 1e-7
    assert rel_error(dWv, numerical_gradient(lambda v: f(x, Wq, Wk, v), Wv, dout)) < 1e-7


def test_gradient_check_detects_a_backward_that_ignores_the_dropout():
    x, Wq, Wk, Wv = problem(seed=40)
    dout = make((2, 4, 3), 41)
    _, cache = self_attention_forward(x, Wq, Wk, Wv, 0.5, train=True,
                                      rng=np.random.default_rng(3))
    dv_wrong = cache.attn.transpose(0, 2, 1) @ dout  # the attention before dropout
    dWv_wrong = x.reshape(-1, 3).T @ dv_wrong.reshape(-1, 3)
    numeric = numerical_gradient(
        lambda v: self_attention_forward(x, Wq, Wk, v, 0.5, train=True,
                                         mask=cache.dropout.mask)[0], Wv, dout)
    assert rel_error(dWv_wrong, numeric) > 0.1


def test_core_is_bit_identical_to_public():
    x, Wq, Wk, Wv = problem()
    dout = make((2, 4, 3), 7)
    out, cache = self_attention_forward(x, Wq, Wk, Wv, 0.3, train=True,
                                        rng=np.random.default_rng(8), causal=True)
    out_c, cache_c = _self_attention_forward(x, Wq, Wk, Wv, 0.3, True,
                                             np.random.default_rng(8), True, None)
    assert out_c.tobytes() == out.tobytes()
    for g, g_c in zip(self_attention_backward(dout, cache),
                      _self_attention_backward(dout, cache_c)):
        assert g_c.tobytes() == g.tobytes()
    assert isinstance(cache, AttentionCache)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

XA, WQ, WK, WV = problem()


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((XA[0], WQ, WK, WV, 0.1), {}, ValueError, r"x must have shape \(N, T, D\)"),
        ((XA, WQ[:2], WK, WV, 0.1), {}, ValueError, r"Wq must have shape \(D, _\) with D"),
        ((XA, WQ, WK, WV[:2], 0.1), {}, ValueError, r"Wv must have shape \(D, _\) with D"),
        ((XA, WQ, WK[:, :1], WV, 0.1), {}, ValueError, r"Wk must have the shape of Wq"),
        ((XA, WQ, WK.astype(int), WV, 0.1), {}, TypeError, r"Wk must be a NumPy array"),
        ((XA, WQ, WK, WV, 2.0), {}, ValueError, r"p_drop must be a real number in \[0, 1\]"),
        ((XA, WQ, WK, WV, 0.1), {"train": True}, TypeError, r"rng must be a numpy.random"),
        ((XA, WQ, WK, WV, 0.1), {"train": None}, TypeError, r"train must be a bool"),
        ((XA, WQ, WK, WV, 0.1), {"causal": 1}, TypeError, r"causal must be a bool"),
        ((XA, WQ, WK, WV, 0.1), {"mask": np.ones((2, 4, 4), dtype=bool)}, ValueError,
         r"mask is a training-mode keep-mask; it needs train=True"),
        ((XA, WQ, WK, WV, 0.1), {"train": True, "mask": np.ones((2, 4, 4))}, TypeError,
         r"mask must be a NumPy bool array"),
        ((XA, WQ, WK, WV, 0.1), {"train": True, "mask": np.ones((2, 4, 3), dtype=bool)},
         ValueError, r"mask must have the same shape as the attention matrix \(N, T, T\)"),
    ],
)
def test_bad_arguments_are_named(args, kwargs, exc, match):
    kwargs = {"train": False, **kwargs}
    with pytest.raises(exc, match=match):
        self_attention_forward(*args, **kwargs)


def test_bad_dout_and_cache():
    _, cache = self_attention_forward(XA, WQ, WK, WV, 0.0, train=False)
    with pytest.raises(ValueError, match=r"dout must have the same shape as the output of "
                                         r"self_attention_forward \(N, T, Dv\), \(2, 4, 3\)"):
        self_attention_backward(np.ones((2, 4, 2)), cache)
    with pytest.raises(TypeError, match="cache must be the AttentionCache returned by "
                                        "self_attention_forward, got DropoutCache"):
        self_attention_backward(np.ones((2, 4, 3)), cache.dropout)

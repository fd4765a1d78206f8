"""Single-head scaled dot-product self-attention with attention dropout.

A teaching implementation for ``(N, T, D)`` sequences: the queries, keys and
values are projections of the same input, and dropout acts on the attention
matrix after the softmax (inverted scaling), as in PyTorch's
``scaled_dot_product_attention(dropout_p=...)`` and nanoGPT's ``attn_dropout``.
At evaluation there is no dropout. There is no output projection and only one
head; chapter 5 builds its tiny transformer block from this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._checks import (
    check_bool,
    check_float_array,
    check_p_drop,
    check_rng,
    check_same_shape,
    describe,
)
from .layers import DropoutCache, _check_cache, _check_dout, _dropout_backward, _dropout_forward

__all__ = ["AttentionCache", "self_attention_backward", "self_attention_forward"]


@dataclass(frozen=True, eq=False)
class AttentionCache:
    """What :func:`self_attention_backward` needs from :func:`self_attention_forward`.

    ``attn`` is the softmax output (N, T, T), each row summing to 1;
    ``weights`` is ``attn`` after dropout, the matrix that multiplies the
    values; ``dropout.mask`` is the keep-mask (``None`` at evaluation).
    """

    x: np.ndarray = field(repr=False)
    Wq: np.ndarray = field(repr=False)
    Wk: np.ndarray = field(repr=False)
    Wv: np.ndarray = field(repr=False)
    q: np.ndarray = field(repr=False)
    k: np.ndarray = field(repr=False)
    v: np.ndarray = field(repr=False)
    attn: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    dropout: DropoutCache = field(repr=False)
    scale: float


def self_attention_forward(
    x: np.ndarray,
    Wq: np.ndarray,
    Wk: np.ndarray,
    Wv: np.ndarray,
    p_drop: float,
    *,
    train: bool,
    rng: np.random.Generator | None = None,
    causal: bool = False,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, AttentionCache]:
    r"""Self-attention forward pass, with dropout on the attention matrix.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, T, D), float16/32/64
        N sequences of T tokens with D features. Not modified.
    Wq, Wk : numpy.ndarray, shape (D, Dk)
        Query and key projections.
    Wv : numpy.ndarray, shape (D, Dv)
        Value projection.
    p_drop : float
        Probability of dropping each entry of the attention matrix, in ``[0, 1]``.
    train : bool, keyword-only
        ``True``: attention dropout; ``False``: none. No default.
    rng : numpy.random.Generator, keyword-only
        Required when ``train`` is true, ``p_drop > 0`` and no ``mask`` is given.
    causal : bool, keyword-only, default False
        If true, token ``t`` attends only to tokens ``<= t`` (as in nanoGPT).
    mask : numpy.ndarray of bool, shape (N, T, T), keyword-only
        A keep-mask for the attention matrix instead of drawing one (training
        only), e.g. ``cache.dropout.mask`` of an earlier call.

    Returns
    -------
    out : numpy.ndarray, shape (N, T, Dv)
    cache : AttentionCache

    Notes
    -----
    .. math::

        A = \mathrm{softmax}\big(Q K^\top / \sqrt{D_k}\big),\quad
        y = \big(A \odot M / (1 - p_{drop})\big) V,

    with :math:`Q = xW_q`, :math:`K = xW_k`, :math:`V = xW_v` and the softmax
    over the last axis; :math:`M` is the Bernoulli keep-mask (all ones at
    evaluation, without the scaling).

    See Also
    --------
    self_attention_backward
    book/05_noise_and_modern.ipynb : attention dropout and DropPath.
    """
    x = check_float_array(x, "x")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (N, T, D) (3 dimensions), got shape {x.shape}")
    n, t, d = x.shape
    for name, W in (("Wq", Wq), ("Wk", Wk), ("Wv", Wv)):
        if check_float_array(W, name).ndim != 2 or W.shape[0] != d:
            raise ValueError(f"{name} must have shape (D, _) with D = x.shape[2] = {d}, got {W.shape}")
    if Wk.shape != Wq.shape:
        raise ValueError(f"Wk must have the shape of Wq, {Wq.shape}, got {Wk.shape}")
    p_drop = check_p_drop(p_drop)
    train = check_bool(train, "train", "True for training, False for evaluation")
    causal = check_bool(causal, "causal")
    if mask is not None:
        mask = _check_attention_mask(mask, train, (n, t, t))
    elif rng is not None or (train and p_drop > 0.0):
        rng = check_rng(rng)
    return _self_attention_forward(x, Wq, Wk, Wv, p_drop, train, rng, causal, mask)


def _self_attention_forward(
    x: np.ndarray,
    Wq: np.ndarray,
    Wk: np.ndarray,
    Wv: np.ndarray,
    p_drop: float,
    train: bool,
    rng: np.random.Generator | None,
    causal: bool,
    mask: np.ndarray | None,
) -> tuple[np.ndarray, AttentionCache]:
    """:func:`self_attention_forward` without checks."""
    q, k, v = x @ Wq, x @ Wk, x @ Wv
    scale = 1.0 / math.sqrt(Wq.shape[1])
    scores = (q @ k.transpose(0, 2, 1)) * scale  # (N, T, T)
    if causal:
        t = x.shape[1]
        scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    attn = _softmax(scores)
    weights, dcache = _dropout_forward(attn, p_drop, train, rng, "inverted", (), mask)
    out = weights @ v
    return out, AttentionCache(x, Wq, Wk, Wv, q, k, v, attn, weights, dcache, scale)


def _check_attention_mask(mask: object, train: bool, shape: tuple[int, ...]) -> np.ndarray:
    """A given keep-mask for the attention matrix: bool, (N, T, T), training only."""
    if not train:
        raise ValueError("mask is a training-mode keep-mask; it needs train=True")
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        raise TypeError(f"mask must be a NumPy bool array, got {describe(mask)}")
    check_same_shape(mask, shape, "mask", "the attention matrix (N, T, T)")
    return mask


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row maximum (no overflow)."""
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def self_attention_backward(
    dout: np.ndarray, cache: AttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Backward pass of :func:`self_attention_forward`, with the dropout mask held fixed.

    Parameters
    ----------
    dout : numpy.ndarray, shape (N, T, Dv), floating
        Upstream gradient. Not modified.
    cache : AttentionCache

    Returns
    -------
    dx : numpy.ndarray, shape (N, T, D)
    dWq, dWk : numpy.ndarray, shape (D, Dk)
    dWv : numpy.ndarray, shape (D, Dv)

    Notes
    -----
    Through the softmax of each row :math:`i` of the scores :math:`S`:
    :math:`\partial L/\partial S_{ij} = A_{ij}\,(G_{ij} - \sum_{j'} G_{ij'} A_{ij'})`,
    where :math:`G = \partial L/\partial A` (after the dropout backward).

    See Also
    --------
    self_attention_forward
    """
    _check_cache(cache, AttentionCache, "self_attention_forward")
    n, t, _ = cache.x.shape
    _check_dout(dout, (n, t, cache.Wv.shape[1]), "self_attention_forward (N, T, Dv)")
    return _self_attention_backward(dout, cache)


def _self_attention_backward(
    dout: np.ndarray, cache: AttentionCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`self_attention_backward` without checks."""
    x, q, k, v, attn = cache.x, cache.q, cache.k, cache.v, cache.attn
    dv = cache.weights.transpose(0, 2, 1) @ dout
    dattn = _dropout_backward(dout @ v.transpose(0, 2, 1), cache.dropout)
    dscores = attn * (dattn - (dattn * attn).sum(axis=-1, keepdims=True)) * cache.scale
    dq = dscores @ k
    dk = dscores.transpose(0, 2, 1) @ q
    d = x.shape[2]
    flat_x = x.reshape(-1, d)
    dWq = flat_x.T @ dq.reshape(-1, dq.shape[2])
    dWk = flat_x.T @ dk.reshape(-1, dk.shape[2])
    dWv = flat_x.T @ dv.reshape(-1, dv.shape[2])
    dx = dq @ cache.Wq.T + dk @ cache.Wk.T + dv @ cache.Wv.T
    return dx, dWq, dWk, dWv

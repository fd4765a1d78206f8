r"""SELU and alpha dropout (Klambauer et al. 2017, "Self-Normalizing Neural Networks").

A SELU network keeps its activations near mean 0 and variance 1 without
batch normalisation. Ordinary dropout breaks that: a dropped unit is 0,
while SELU's outputs saturate at :math:`-\lambda\alpha`. Alpha dropout sets a
dropped unit to :math:`\alpha' = -\lambda\alpha` instead, then applies the
affine map :math:`a y + b` that restores mean 0 and variance 1.

Derivation (the paper's alpha-dropout section). Let
:math:`q = 1 - p_{drop}` be the keep probability, :math:`d \sim
\mathrm{Bernoulli}(q)` and :math:`y = x d + \alpha'(1 - d)` with
:math:`E[x] = 0`, :math:`\mathrm{Var}[x] = 1`, :math:`x` independent of
:math:`d`. Then :math:`E[y] = (1 - q)\alpha'` and :math:`E[y^2] = q + (1 -
q)\alpha'^2`, so :math:`\mathrm{Var}[y] = q + \alpha'^2 q (1 - q)`. Asking
:math:`E[a y + b] = 0` and :math:`\mathrm{Var}[a y + b] = 1` gives

.. math::

   a = \bigl(q + \alpha'^2 q (1 - q)\bigr)^{-1/2}, \qquad
   b = -a (1 - q) \alpha',

the paper's formula (as Keras implements it). Only the first two moments of
:math:`x` enter, so the correction holds for any input with mean 0 and
variance 1, not only a Gaussian one; for other means and variances it does
not restore them. Alpha dropout is inverted dropout's analogue: the correction
is applied in training, and evaluation is the identity.

The pairs follow :mod:`dropout_lib.layers`: ``(out, cache)`` forward,
``(dout, cache)`` backward, public functions check, private cores do not.
The keep mask is drawn by :func:`~dropout_lib.masks.bernoulli_mask`.

See book/06 (dropout as practised today: AlphaDropout for SELU networks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._checks import (
    check_axes,
    check_bool,
    check_float_array,
    check_p_drop,
    check_rng,
    check_same_shape,
    describe,
)
from .layers import _check_cache
from .masks import _draw_mask, _mask_shape, _threshold

__all__ = [
    "SELU_ALPHA",
    "SELU_LAMBDA",
    "AlphaDropoutCache",
    "SeluCache",
    "alpha_dropout_affine",
    "alpha_dropout_backward",
    "alpha_dropout_forward",
    "alpha_prime",
    "selu_backward",
    "selu_forward",
]

#: SELU's :math:`\alpha_{01}` (Klambauer et al. 2017, the fixed point 0, 1).
SELU_ALPHA: float = 1.6732632423543772848170429916717
#: SELU's :math:`\lambda_{01}` (Klambauer et al. 2017, the fixed point 0, 1).
SELU_LAMBDA: float = 1.0507009873554804934193349852946


def alpha_prime() -> float:
    r"""The value a dropped unit takes, :math:`\alpha' = -\lambda\alpha \approx -1.7581`.

    It is SELU's limit as its input goes to :math:`-\infty`.
    """
    return -SELU_LAMBDA * SELU_ALPHA


# ---------------------------------------------------------------------------
# SELU
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SeluCache:
    """What :func:`selu_backward` needs: the input ``x`` (a reference)."""

    x: np.ndarray = field(repr=False)


def selu_forward(x: np.ndarray) -> tuple[np.ndarray, SeluCache]:
    r"""SELU forward pass: :math:`\lambda x` for :math:`x > 0`, :math:`\lambda\alpha(e^x - 1)` else.

    Parameters
    ----------
    x : numpy.ndarray, any shape, float16/32/64
        Pre-activations. Not modified.

    Returns
    -------
    out : numpy.ndarray, same shape and dtype as ``x``
    cache : SeluCache

    See Also
    --------
    selu_backward
    """
    return _selu_forward(check_float_array(x, "x"))


def _selu_forward(x: np.ndarray) -> tuple[np.ndarray, SeluCache]:
    """:func:`selu_forward` without checks."""
    neg = SELU_ALPHA * np.expm1(np.minimum(x, 0))
    out = (SELU_LAMBDA * np.where(x > 0, x, neg)).astype(x.dtype, copy=False)
    return out, SeluCache(x)


def selu_backward(dout: np.ndarray, cache: SeluCache) -> np.ndarray:
    r"""SELU backward pass: ``dout`` times :math:`\lambda` or :math:`\lambda\alpha e^x`.

    Parameters
    ----------
    dout : numpy.ndarray, shape ``cache.x.shape``, float16/32/64
        Upstream gradient. Not modified.
    cache : SeluCache
        As returned by :func:`selu_forward`.

    Returns
    -------
    dx : numpy.ndarray, same shape and dtype as ``dout``
    """
    _check_cache(cache, SeluCache, "selu_forward")
    dout = check_float_array(dout, "dout")
    check_same_shape(dout, cache.x.shape, "dout", "the forward input x")
    return _selu_backward(dout, cache)


def _selu_backward(dout: np.ndarray, cache: SeluCache) -> np.ndarray:
    """:func:`selu_backward` without checks."""
    x = cache.x
    slope = SELU_LAMBDA * np.where(
        x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0)))
    return (dout * slope).astype(dout.dtype, copy=False)


# ---------------------------------------------------------------------------
# alpha dropout
# ---------------------------------------------------------------------------


def alpha_dropout_affine(p_drop: float) -> tuple[float, float]:
    r"""The affine correction ``(a, b)`` of alpha dropout for drop probability ``p_drop``.

    Parameters
    ----------
    p_drop : float
        Drop probability, in ``[0, 1)``.

    Returns
    -------
    a, b : float
        :math:`a = (q + \alpha'^2 q(1-q))^{-1/2}`, :math:`b = -a(1-q)\alpha'`
        with :math:`q = 1 - p_{drop}`; ``(1.0, 0.0)`` at ``p_drop = 0``.

    Examples
    --------
    >>> a, b = alpha_dropout_affine(0.0)
    >>> (a, b)
    (1.0, 0.0)
    """
    return _affine(_check_p_below_one(p_drop))


def _affine(p_drop: float) -> tuple[float, float]:
    q = 1.0 - p_drop
    ap = alpha_prime()
    a = 1.0 / math.sqrt(q + ap * ap * q * p_drop)
    return a, -a * p_drop * ap + 0.0  # + 0.0: no -0.0 at p_drop = 0


def _check_p_below_one(p_drop: object) -> float:
    p_drop = check_p_drop(p_drop)
    if p_drop == 1.0:
        raise ValueError(
            "p_drop must be < 1 for alpha dropout: with every unit dropped the "
            "output is constant and no affine map restores variance 1")
    return p_drop


@dataclass(frozen=True, eq=False)
class AlphaDropoutCache:
    """What :func:`alpha_dropout_backward` needs from :func:`alpha_dropout_forward`.

    ``mask`` is the bool keep-mask (``True`` = kept) of shape
    ``mask_shape(x_shape, shared_axes)``, ``None`` at evaluation; ``a`` and
    ``b`` are the affine correction used (``1`` and ``0`` at evaluation).
    """

    mask: np.ndarray | None = field(repr=False)
    train: bool
    p_drop: float
    a: float
    b: float
    x_shape: tuple[int, ...]
    shared_axes: tuple[int, ...] = ()


def alpha_dropout_forward(
    x: np.ndarray,
    p_drop: float,
    *,
    train: bool,
    rng: np.random.Generator | None = None,
    shared_axes: int | tuple[int, ...] = (),
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, AlphaDropoutCache]:
    r"""Alpha dropout forward pass: :math:`a(x d + \alpha'(1-d)) + b` in training.

    Parameters
    ----------
    x : numpy.ndarray, any shape, float16/32/64
        Activations, e.g. SELU outputs of shape ``(N, D)``. Not modified.
    p_drop : float
        Drop probability, in ``[0, 1)``.
    train : bool, keyword-only
        ``True``: drop and correct; ``False``: the identity. No default.
    rng : numpy.random.Generator, keyword-only
        Required when ``train`` is true, ``p_drop > 0`` and no ``mask`` is
        given.
    shared_axes : int or tuple of int, keyword-only
        Axes sharing one mask value, as in
        :func:`~dropout_lib.layers.dropout_forward` (``(2, 3)`` is
        "feature alpha dropout" on ``(N, C, H, W)``).
    mask : numpy.ndarray of bool, keyword-only
        Keep-mask to use instead of drawing one (training only), shape
        ``mask_shape(x.shape, shared_axes)``, e.g. ``cache.mask``.

    Returns
    -------
    out : numpy.ndarray, same shape and dtype as ``x``; a new array
    cache : AlphaDropoutCache

    Notes
    -----
    :math:`d` is :func:`~dropout_lib.masks.bernoulli_mask`'s draw;
    ``(a, b) = alpha_dropout_affine(p_drop)``. For input with mean 0 and
    variance 1, the output has mean 0 and variance 1 (module docstring).

    See Also
    --------
    alpha_dropout_backward, alpha_dropout_affine
    """
    x = check_float_array(x, "x")
    p_drop = _check_p_below_one(p_drop)
    train = check_bool(train, "train", "True for training, False for evaluation")
    axes = check_axes(shared_axes, x.ndim)
    if mask is not None:
        mask = _check_mask(mask, train, _mask_shape(x.shape, axes))
    elif train and p_drop > 0.0:
        rng = check_rng(rng)
    return _alpha_dropout_forward(x, p_drop, train, rng, axes, mask)


def _alpha_dropout_forward(
    x: np.ndarray,
    p_drop: float,
    train: bool,
    rng: np.random.Generator | None,
    shared_axes: tuple[int, ...],
    mask: np.ndarray | None,
) -> tuple[np.ndarray, AlphaDropoutCache]:
    """:func:`alpha_dropout_forward` without checks."""
    if not train:
        cache = AlphaDropoutCache(None, False, p_drop, 1.0, 0.0, x.shape,
                                  shared_axes)
        return x.copy(), cache
    shape = _mask_shape(x.shape, shared_axes)
    if mask is None:
        mask = _draw_mask(shape, _threshold(p_drop), rng) if p_drop > 0.0 \
            else np.ones(shape, dtype=bool)
    a, b = _affine(p_drop)
    y = np.where(mask, x, alpha_prime())
    out = (a * y + b).astype(x.dtype, copy=False)
    cache = AlphaDropoutCache(mask, True, p_drop, a, b, x.shape, shared_axes)
    return out, cache


def alpha_dropout_backward(dout: np.ndarray, cache: AlphaDropoutCache) -> np.ndarray:
    r"""Alpha dropout backward pass: :math:`\partial L/\partial x = a\, d \odot \mathrm{dout}`.

    Dropped units are a constant, so no gradient reaches them; at
    evaluation the gradient is ``dout`` (a copy).

    Parameters
    ----------
    dout : numpy.ndarray, shape ``cache.x_shape``, float16/32/64
        Upstream gradient. Not modified.
    cache : AlphaDropoutCache
        As returned by :func:`alpha_dropout_forward`.

    Returns
    -------
    dx : numpy.ndarray, same shape and dtype as ``dout``; a new array
    """
    _check_cache(cache, AlphaDropoutCache, "alpha_dropout_forward")
    dout = check_float_array(dout, "dout")
    check_same_shape(dout, cache.x_shape, "dout", "the forward input x")
    return _alpha_dropout_backward(dout, cache)


def _alpha_dropout_backward(dout: np.ndarray, cache: AlphaDropoutCache) -> np.ndarray:
    """:func:`alpha_dropout_backward` without checks."""
    if not cache.train:
        return dout.copy()
    dx = np.where(cache.mask, cache.a * dout, 0.0)
    return dx.astype(dout.dtype, copy=False)


def _check_mask(mask: object, train: bool, shape: tuple[int, ...]) -> np.ndarray:
    """A given keep-mask: a bool array of the mask shape, in training mode only."""
    if not train:
        raise ValueError("mask is a training-mode keep-mask; it needs train=True")
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError(f"mask must be a NumPy bool array, got {describe(mask)}")
    check_same_shape(mask, shape, "mask", "the mask of x")
    return mask

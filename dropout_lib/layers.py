"""Forward/backward pairs for dropout and the layers of a small MLP (CS231n style).

``out, cache = <layer>_forward(...)`` returns the output and an immutable cache;
``<layer>_backward(dout, cache)`` returns the gradient(s) for the upstream
gradient ``dout = dL/dout``. No function modifies its inputs; every output is a
new array. Caches hold *references* to their inputs: do not modify those in
place between the forward and the backward call.

Each public function checks its arguments and calls a private core of the same
name with a leading underscore (``_dropout_forward`` ...), which does not;
the network (``net.py``) checks once and calls the cores on every minibatch.

See ``book/02_inverted_dropout.ipynb`` for the dropout pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import (
    check_axes,
    check_bool,
    check_choice,
    check_float_array,
    check_p_drop,
    check_rng,
    check_same_shape,
    describe,
)
from .masks import _draw_mask, _mask_shape, _threshold

__all__ = [
    "DROPOUT_MODES",
    "AffineCache",
    "DropoutCache",
    "ReluCache",
    "SigmoidCache",
    "TanhCache",
    "affine_backward",
    "affine_forward",
    "drop_path_backward",
    "drop_path_forward",
    "dropout_backward",
    "dropout_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]

#: Accepted values of the ``mode`` argument of :func:`dropout_forward`.
DROPOUT_MODES: tuple[str, ...] = ("inverted", "original")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


# Smallest magnitude that rounds to infinity when cast to the dtype (max + half an ulp).
# Only float16 can overflow here: scales are at most 1 / 2**-53 = 2**53. See
# benchmarks/README.md, "float16: when the dropout scale overflows".
_OVERFLOW_AT = {np.dtype(np.float16): 65520.0}


def _scalar_in(dtype: np.dtype, value: float, what: str) -> np.floating:
    """``dtype.type(value)``, refusing values that overflow ``dtype`` (float16!)."""
    limit = _OVERFLOW_AT.get(dtype)
    if limit is not None and abs(value) >= limit:
        raise ValueError(
            f"{what} = {value:.6g} overflows {dtype} "
            f"(largest finite value {float(np.finfo(dtype).max):.6g}); "
            "use a smaller p_drop or a wider floating dtype such as float32"
        )
    return dtype.type(value)


def _check_cache(cache: object, cls: type, producer: str) -> None:
    if not isinstance(cache, cls):
        raise TypeError(
            f"cache must be the {cls.__name__} returned by {producer}, got {type(cache).__name__}"
        )


def _check_dout(dout: object, expected_shape: tuple[int, ...], producer: str) -> None:
    check_float_array(dout, "dout")
    check_same_shape(dout, expected_shape, "dout", f"the output of {producer}")


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DropoutCache:
    """What :func:`dropout_backward` needs from :func:`dropout_forward`.

    ``mask`` is the bool keep-mask in training (``None`` at evaluation);
    ``scale`` is the factor applied to kept units (training) or to every unit
    (evaluation).
    """

    mask: np.ndarray | None = field(repr=False)
    scale: float
    train: bool
    p_drop: float
    mode: str
    x_shape: tuple[int, ...]
    dtype: np.dtype
    shared_axes: tuple[int, ...] = ()


def dropout_forward(
    x: np.ndarray,
    p_drop: float,
    *,
    train: bool,
    rng: np.random.Generator | None = None,
    mode: str = "inverted",
    shared_axes: int | tuple[int, ...] = (),
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, DropoutCache]:
    r"""Dropout forward pass.

    Parameters
    ----------
    x : numpy.ndarray, any shape, float16/32/64
        Activations, e.g. of shape ``(N, D)``. Not modified.
    p_drop : float
        Probability of dropping each unit, in ``[0, 1]``.
    train : bool, keyword-only
        ``True``: a random mask; ``False``: deterministic. No default.
    rng : numpy.random.Generator, keyword-only
        Required when ``train`` is true and ``p_drop > 0``.
    mode : {"inverted", "original"}, keyword-only
        ``"inverted"`` scales kept units by ``1 / (1 - p_drop)`` in training;
        ``"original"`` scales every unit by ``1 - p_drop`` at evaluation.
    shared_axes : int or tuple of int, keyword-only
        Axes that share one mask value (see
        :func:`~dropout_lib.masks.bernoulli_mask`).
    mask : numpy.ndarray of bool, keyword-only
        A keep-mask to apply instead of drawing one (training only), of
        shape ``mask_shape(x.shape, shared_axes)``.

    Returns
    -------
    out : numpy.ndarray, same shape and dtype as ``x``; always a new array
    cache : DropoutCache

    Notes
    -----
    Inverted: :math:`y = m \odot x / (1 - p_{drop})` in training and
    :math:`y = x` at evaluation, so that :math:`E[y_{train}] = y_{eval}`.

    See Also
    --------
    book/02_inverted_dropout.ipynb : the two forms, backward, edge cases.
    """
    x = check_float_array(x, "x")
    p_drop = check_p_drop(p_drop)
    train = check_bool(train, "train",
                       "True for training, False for evaluation")
    mode = check_choice(mode, "mode", DROPOUT_MODES)
    axes = check_axes(shared_axes, x.ndim)
    if mask is not None:
        mask = _check_mask(mask, train, _mask_shape(x.shape, axes))
    elif rng is not None or (train and p_drop > 0.0):
        rng = check_rng(rng)
    return _dropout_forward(x, p_drop, train, rng, mode, axes, mask)


def _dropout_forward(
    x: np.ndarray,
    p_drop: float,
    train: bool,
    rng: np.random.Generator | None,
    mode: str,
    shared_axes: tuple[int, ...],
    mask: np.ndarray | None,
) -> tuple[np.ndarray, DropoutCache]:
    """:func:`dropout_forward` without checks (``shared_axes`` sorted)."""
    if not train:
        scale = 1.0 if mode == "inverted" else 1.0 - p_drop
        cache = DropoutCache(None, scale, False, p_drop, mode, x.shape,
                             x.dtype, shared_axes)
        return _scaled(x, scale, None, ""), cache
    if mask is None:
        shape = _mask_shape(x.shape, shared_axes)
        mask = _draw_mask(shape, _threshold(p_drop), rng)
    scale = 0.0 if p_drop == 1.0 else 1.0 / (1.0 - p_drop)
    scale = scale if mode == "inverted" or p_drop == 1.0 else 1.0
    what = f"with p_drop = {p_drop!r}, 1 / (1 - p_drop)"
    out = _scaled(x, scale, mask if p_drop > 0.0 else None, what)
    return out, DropoutCache(mask, scale, True, p_drop, mode, x.shape,
                             x.dtype, shared_axes)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    r"""Dropout backward pass.

    Parameters
    ----------
    dout : numpy.ndarray, shape ``cache.x_shape``, float16/32/64
        Upstream gradient :math:`\partial L / \partial y`. Not modified.
    cache : DropoutCache
        As returned by :func:`dropout_forward`.

    Returns
    -------
    dx : numpy.ndarray, same shape and dtype as ``dout``; a new array

    Notes
    -----
    With the mask held fixed the forward pass is linear in :math:`x`, so
    :math:`\partial L / \partial x = \partial L / \partial y \odot m \, s`.

    See Also
    --------
    book/02_inverted_dropout.ipynb : the backward pass and its gradient check.
    """
    _check_cache(cache, DropoutCache, "dropout_forward")
    dout = check_float_array(dout, "dout")
    check_same_shape(dout, cache.x_shape, "dout", "the forward input x")
    return _dropout_backward(dout, cache)


def _dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """:func:`dropout_backward` without checks."""
    mask = cache.mask if cache.train and cache.p_drop > 0.0 else None
    return _scaled(dout, cache.scale, mask, "the dropout scale")


def _check_mask(mask: object, train: bool, shape: tuple[int, ...]) -> np.ndarray:
    """A given keep-mask: bool, of the mask shape, in training mode only."""
    if not train:
        raise ValueError("mask is a training-mode keep-mask; it needs train=True")
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        raise TypeError(f"mask must be a NumPy bool array, got {describe(mask)}")
    check_same_shape(mask, shape, "mask", "the mask of x")
    return mask


def _scaled(a: np.ndarray, scale: float, mask: np.ndarray | None,
            what: str) -> np.ndarray:
    """``a * scale * mask`` in ``a``'s dtype, as a new array."""
    if scale == 0.0:
        return np.zeros_like(a)
    out = np.empty_like(a)
    if scale == 1.0:
        np.copyto(out, a)
    else:
        np.multiply(a, _scalar_in(a.dtype, scale, what), out=out)
    if mask is not None:
        np.multiply(out, mask, out=out)
    return out


# ---------------------------------------------------------------------------
# DropPath (stochastic depth): dropout shared over every non-batch axis
# ---------------------------------------------------------------------------


def drop_path_forward(
    branch: np.ndarray,
    p_drop: float,
    *,
    train: bool,
    rng: np.random.Generator | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, DropoutCache]:
    r"""DropPath: drop a residual branch for whole examples (stochastic depth).

    Parameters
    ----------
    branch : numpy.ndarray, shape (N, ...), float16/32/64
        The output of the branch ``f(x)`` of a residual block ``x + f(x)``,
        one example per row. Not modified.
    p_drop : float
        Probability of dropping the branch for each example, in ``[0, 1]``.
    train : bool, keyword-only
    rng : numpy.random.Generator, keyword-only
        Required when ``train`` is true, ``p_drop > 0`` and no ``mask`` is given.
    mask : numpy.ndarray of bool, shape (N, 1, ..., 1), keyword-only
        A keep-mask to apply instead of drawing one (training only).

    Returns
    -------
    out : numpy.ndarray, shape and dtype of ``branch``
    cache : DropoutCache
        For :func:`drop_path_backward` (or :func:`dropout_backward`).

    Notes
    -----
    This is :func:`dropout_forward` (inverted) with
    ``shared_axes = (1, ..., branch.ndim - 1)``: one keep-mask value per
    example, :math:`y_n = m_n f(x)_n / (1 - p_{drop})`. Huang et al. (2016)
    instead scale by :math:`1 - p_{drop}` at test time: ``mode="original"``
    of :func:`dropout_forward` with the same ``shared_axes``.

    See Also
    --------
    book/05_noise_and_modern.ipynb : DropPath and attention dropout.
    """
    branch = check_float_array(branch, "branch")
    if branch.ndim < 1:
        raise ValueError("branch must have a batch axis (shape (N, ...)), got a 0-d array")
    shared = tuple(range(1, branch.ndim))
    return dropout_forward(branch, p_drop, train=train, rng=rng,
                           shared_axes=shared, mask=mask)


def drop_path_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """Backward pass of :func:`drop_path_forward`: :func:`dropout_backward` itself.

    Parameters
    ----------
    dout : numpy.ndarray, shape of ``branch``, floating
    cache : DropoutCache
        From :func:`drop_path_forward`.

    Returns
    -------
    dbranch : numpy.ndarray, shape and dtype of ``dout``
    """
    return dropout_backward(dout, cache)


# ---------------------------------------------------------------------------
# affine
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AffineCache:
    """Inputs of :func:`affine_forward`, kept for :func:`affine_backward`.

    Attributes
    ----------
    x : numpy.ndarray, shape (N, D)
    W : numpy.ndarray, shape (D, M)
    b : numpy.ndarray, shape (M,)
    """

    x: np.ndarray = field(repr=False)
    W: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False)


def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, AffineCache]:
    r"""Fully connected layer: ``out = x @ W + b``.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, D), float16/32/64
        A minibatch of N inputs with D features each.
    W : numpy.ndarray, shape (D, M), float16/32/64
    b : numpy.ndarray, shape (M,), float16/32/64

    Returns
    -------
    out : numpy.ndarray, shape (N, M), in NumPy's promotion of the input dtypes
    cache : AffineCache

    Notes
    -----
    .. math:: y_{nm} = \sum_d x_{nd} W_{dm} + b_m

    See Also
    --------
    affine_backward
    book/02_inverted_dropout.ipynb : dropout between affine layers of an MLP.
    """
    x = check_float_array(x, "x")
    W = check_float_array(W, "W")
    b = check_float_array(b, "b")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D) (2 dimensions), got shape {x.shape}")
    if W.ndim != 2 or W.shape[0] != x.shape[1]:
        raise ValueError(
            f"W must have shape (D, M) with D = x.shape[1] = {x.shape[1]}, got {W.shape}"
        )
    if b.shape != (W.shape[1],):
        raise ValueError(
            f"b must have shape (M,) with M = W.shape[1] = {W.shape[1]}, got {b.shape}"
        )
    return _affine_forward(x, W, b)


def _affine_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, AffineCache]:
    """:func:`affine_forward` without checks."""
    return x @ W + b, AffineCache(x, W, b)


def affine_backward(
    dout: np.ndarray, cache: AffineCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    dout : numpy.ndarray, shape (N, M), floating
        Upstream gradient.
    cache : AffineCache
        From :func:`affine_forward`.

    Returns
    -------
    dx : numpy.ndarray, shape (N, D)
    dW : numpy.ndarray, shape (D, M)
    db : numpy.ndarray, shape (M,)

    Notes
    -----
    .. math::

        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} W^\top,\quad
        \frac{\partial L}{\partial W} = x^\top \frac{\partial L}{\partial y},\quad
        \frac{\partial L}{\partial b} = \sum_n \frac{\partial L}{\partial y_{n\cdot}}

    See Also
    --------
    affine_forward
    """
    _check_cache(cache, AffineCache, "affine_forward")
    x, W = cache.x, cache.W
    _check_dout(dout, (x.shape[0], W.shape[1]), "affine_forward (N, M)")
    return _affine_backward(dout, cache)


def _affine_backward(
    dout: np.ndarray, cache: AffineCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`affine_backward` without checks."""
    x, W = cache.x, cache.W
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReluCache:
    """Where the ReLU input was positive (bool, shape of ``x``)."""

    positive: np.ndarray = field(repr=False)


@dataclass(frozen=True, eq=False)
class SigmoidCache:
    """The sigmoid output ``out`` (the derivative is ``out * (1 - out)``)."""

    out: np.ndarray = field(repr=False)


@dataclass(frozen=True, eq=False)
class TanhCache:
    """The tanh output ``out`` (the derivative is ``1 - out**2``)."""

    out: np.ndarray = field(repr=False)


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, ReluCache]:
    r"""Rectified linear unit, ``out = max(x, 0)`` elementwise.

    Parameters
    ----------
    x : numpy.ndarray, any shape, floating

    Returns
    -------
    out : numpy.ndarray, same shape and dtype as ``x``
    cache : ReluCache
        The bool array ``x > 0``.

    Notes
    -----
    :math:`y = \max(x, 0)` and :math:`\partial y / \partial x = [x > 0]` (0 at 0).

    See Also
    --------
    relu_backward
    """
    return _relu_forward(check_float_array(x, "x"))


def _relu_forward(x: np.ndarray) -> tuple[np.ndarray, ReluCache]:
    """:func:`relu_forward` without checks."""
    out = np.maximum(x, x.dtype.type(0), out=np.empty_like(x))
    return out, ReluCache(np.greater(x, 0))


def relu_backward(dout: np.ndarray, cache: ReluCache) -> np.ndarray:
    """Backward pass of :func:`relu_forward`: ``dx = dout * (x > 0)``.

    Parameters
    ----------
    dout : numpy.ndarray, shape of ``x``, floating
    cache : ReluCache

    Returns
    -------
    dx : numpy.ndarray, shape and dtype of ``dout``

    See Also
    --------
    relu_forward
    """
    _check_cache(cache, ReluCache, "relu_forward")
    _check_dout(dout, cache.positive.shape, "relu_forward")
    return _relu_backward(dout, cache)


def _relu_backward(dout: np.ndarray, cache: ReluCache) -> np.ndarray:
    """:func:`relu_backward` without checks."""
    return np.multiply(dout, cache.positive, out=np.empty_like(dout))


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, SigmoidCache]:
    r"""Logistic sigmoid, computed without overflow for any ``x``.

    Parameters
    ----------
    x : numpy.ndarray, any shape, floating

    Returns
    -------
    out : numpy.ndarray, same shape and dtype as ``x``, values in [0, 1]
    cache : SigmoidCache

    Notes
    -----
    :math:`\sigma(x) = 1/(1 + e^{-x})`, evaluated as :math:`1/(1+z)` for
    :math:`x \ge 0` and :math:`z/(1+z)` for :math:`x < 0`, with
    :math:`z = e^{-|x|} \le 1`, which cannot overflow.

    See Also
    --------
    sigmoid_backward
    """
    return _sigmoid_forward(check_float_array(x, "x"))


def _sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, SigmoidCache]:
    """:func:`sigmoid_forward` without checks."""
    z = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    out = np.where(x >= 0, one / (one + z), z / (one + z)).astype(x.dtype, copy=False)
    return out, SigmoidCache(out)


def sigmoid_backward(dout: np.ndarray, cache: SigmoidCache) -> np.ndarray:
    r"""Backward pass of :func:`sigmoid_forward`.

    Returns ``dx = dout * out * (1 - out)``, since
    :math:`\sigma'(x) = \sigma(x)(1 - \sigma(x))`.

    Parameters
    ----------
    dout : numpy.ndarray, shape of ``x``, floating
    cache : SigmoidCache

    Returns
    -------
    dx : numpy.ndarray, shape of ``dout``

    See Also
    --------
    sigmoid_forward
    """
    _check_cache(cache, SigmoidCache, "sigmoid_forward")
    _check_dout(dout, cache.out.shape, "sigmoid_forward")
    return _sigmoid_backward(dout, cache)


def _sigmoid_backward(dout: np.ndarray, cache: SigmoidCache) -> np.ndarray:
    """:func:`sigmoid_backward` without checks."""
    out = cache.out
    return np.asarray(dout * out * (1 - out))


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, TanhCache]:
    r"""Hyperbolic tangent, ``out = tanh(x)``.

    Parameters
    ----------
    x : numpy.ndarray, any shape, floating

    Returns
    -------
    out : numpy.ndarray, same shape and dtype as ``x``, values in [-1, 1]
    cache : TanhCache

    Notes
    -----
    .. math:: \tanh'(x) = 1 - \tanh^2(x)

    See Also
    --------
    tanh_backward
    """
    return _tanh_forward(check_float_array(x, "x"))


def _tanh_forward(x: np.ndarray) -> tuple[np.ndarray, TanhCache]:
    """:func:`tanh_forward` without checks."""
    out = np.tanh(x, out=np.empty_like(x))
    return out, TanhCache(out)


def tanh_backward(dout: np.ndarray, cache: TanhCache) -> np.ndarray:
    """Backward pass of :func:`tanh_forward`: ``dx = dout * (1 - out**2)``.

    Parameters
    ----------
    dout : numpy.ndarray, shape of ``x``, floating
    cache : TanhCache

    Returns
    -------
    dx : numpy.ndarray, shape of ``dout``

    See Also
    --------
    tanh_forward
    """
    _check_cache(cache, TanhCache, "tanh_forward")
    _check_dout(dout, cache.out.shape, "tanh_forward")
    return _tanh_backward(dout, cache)


def _tanh_backward(dout: np.ndarray, cache: TanhCache) -> np.ndarray:
    """:func:`tanh_backward` without checks."""
    out = cache.out
    return np.asarray(dout * (1 - out * out))

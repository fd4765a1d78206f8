"""Gaussian dropout: multiplicative noise with the first two moments of dropout.

Srivastava et al. (2014, section 10) replace the scaled Bernoulli mask
``m / (1 - p_drop)`` by Gaussian noise with the same mean and variance,
``m ~ N(1, p_drop / (1 - p_drop))``. The pair follows the conventions of
:func:`~dropout_lib.layers.dropout_forward`: ``(out, cache)`` and
``(dout, cache)``, ``shared_axes``, a ``noise`` argument to replay a draw, a
public function with checks and a private unchecked core.

It lives in its own module, not in ``layers.py``, because its noise is a
float array rather than a bool keep-mask (its own cache and replay argument),
and because ``layers.py`` backs every earlier chapter bit for bit.

See book/05_noise_and_modern.ipynb, "Dropout as multiplicative noise".
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
from .masks import _mask_shape

__all__ = [
    "GaussianDropoutCache",
    "gaussian_dropout_backward",
    "gaussian_dropout_forward",
    "gaussian_noise_std",
]


def gaussian_noise_std(p_drop: float) -> float:
    r"""Standard deviation of Gaussian dropout's noise, :math:`\sqrt{p/(1-p)}`.

    Parameters
    ----------
    p_drop : float
        Drop probability of the Bernoulli dropout being matched, in ``[0, 1)``.

    Returns
    -------
    float
        :math:`\sigma = \sqrt{p_{drop} / (1 - p_{drop})}`, the standard
        deviation of the inverted Bernoulli mask :math:`m / (1 - p_{drop})`.
    """
    return _noise_std(_check_p_below_one(p_drop))


def _noise_std(p_drop: float) -> float:
    return math.sqrt(p_drop / (1.0 - p_drop))


def _check_p_below_one(p_drop: object) -> float:
    p_drop = check_p_drop(p_drop)
    if p_drop == 1.0:
        raise ValueError(
            "p_drop must be < 1 for Gaussian dropout: the noise variance "
            "p_drop / (1 - p_drop) is infinite at p_drop = 1"
        )
    return p_drop


@dataclass(frozen=True, eq=False)
class GaussianDropoutCache:
    """What :func:`gaussian_dropout_backward` needs from :func:`gaussian_dropout_forward`.

    ``noise`` is the multiplicative noise in training, of shape
    ``mask_shape(x_shape, shared_axes)`` and the dtype of ``x`` (``None`` at
    evaluation, where the layer is the identity).
    """

    noise: np.ndarray | None = field(repr=False)
    train: bool
    p_drop: float
    x_shape: tuple[int, ...]
    shared_axes: tuple[int, ...] = ()


def gaussian_dropout_forward(
    x: np.ndarray,
    p_drop: float,
    *,
    train: bool,
    rng: np.random.Generator | None = None,
    shared_axes: int | tuple[int, ...] = (),
    noise: np.ndarray | None = None,
) -> tuple[np.ndarray, GaussianDropoutCache]:
    r"""Gaussian dropout forward pass: ``out = x * m`` with ``m ~ N(1, p/(1-p))``.

    Parameters
    ----------
    x : numpy.ndarray, any shape, float16/32/64
        Activations, e.g. of shape ``(N, D)``. Not modified.
    p_drop : float
        Drop probability of the Bernoulli dropout whose moments are matched,
        in ``[0, 1)``.
    train : bool, keyword-only
        ``True``: multiply by fresh noise; ``False``: the identity. No default.
    rng : numpy.random.Generator, keyword-only
        Required when ``train`` is true, ``p_drop > 0`` and no ``noise`` is given.
    shared_axes : int or tuple of int, keyword-only
        Axes that share one noise value, as in
        :func:`~dropout_lib.layers.dropout_forward`.
    noise : numpy.ndarray, float, keyword-only
        Noise to apply instead of drawing it (training only), of shape
        ``mask_shape(x.shape, shared_axes)``, e.g. ``cache.noise`` of an
        earlier call. Cast to the dtype of ``x``.

    Returns
    -------
    out : numpy.ndarray, same shape and dtype as ``x``; always a new array
    cache : GaussianDropoutCache

    Notes
    -----
    :math:`y = x \odot m`, :math:`m = 1 + \sigma z`, :math:`z \sim N(0, 1)`,
    :math:`\sigma^2 = p_{drop}/(1 - p_{drop})`: the mean (1) and variance of
    the inverted Bernoulli mask. Drawn in float64 with ``rng.standard_normal``.

    See Also
    --------
    gaussian_dropout_backward
    book/05_noise_and_modern.ipynb : dropout as multiplicative noise.
    """
    x = check_float_array(x, "x")
    p_drop = _check_p_below_one(p_drop)
    train = check_bool(train, "train", "True for training, False for evaluation")
    axes = check_axes(shared_axes, x.ndim)
    if noise is not None:
        noise = _check_noise(noise, train, _mask_shape(x.shape, axes), x.dtype)
    elif rng is not None or (train and p_drop > 0.0):
        rng = check_rng(rng)
    return _gaussian_dropout_forward(x, p_drop, train, rng, axes, noise)


def _gaussian_dropout_forward(
    x: np.ndarray,
    p_drop: float,
    train: bool,
    rng: np.random.Generator | None,
    shared_axes: tuple[int, ...],
    noise: np.ndarray | None,
) -> tuple[np.ndarray, GaussianDropoutCache]:
    """:func:`gaussian_dropout_forward` without checks; ``noise`` already in ``x.dtype``."""
    if not train:
        return x.copy(), GaussianDropoutCache(None, False, p_drop, x.shape, shared_axes)
    if noise is None:
        shape = _mask_shape(x.shape, shared_axes)
        if p_drop == 0.0:
            noise = np.ones(shape, dtype=x.dtype)
        else:
            z = rng.standard_normal(shape)
            noise = (1.0 + _noise_std(p_drop) * z).astype(x.dtype)
    out = np.multiply(x, noise, out=np.empty_like(x))
    return out, GaussianDropoutCache(noise, True, p_drop, x.shape, shared_axes)


def gaussian_dropout_backward(dout: np.ndarray, cache: GaussianDropoutCache) -> np.ndarray:
    r"""Gaussian dropout backward pass: ``dx = dout * m`` (``dout`` at evaluation).

    Parameters
    ----------
    dout : numpy.ndarray, shape ``cache.x_shape``, float16/32/64
        Upstream gradient :math:`\partial L / \partial y`. Not modified.
    cache : GaussianDropoutCache
        As returned by :func:`gaussian_dropout_forward`.

    Returns
    -------
    dx : numpy.ndarray, same shape and dtype as ``dout``; a new array

    Notes
    -----
    With the noise held fixed, :math:`\partial L/\partial x = \partial L/\partial y \odot m`.

    See Also
    --------
    gaussian_dropout_forward
    """
    _check_cache(cache, GaussianDropoutCache, "gaussian_dropout_forward")
    dout = check_float_array(dout, "dout")
    check_same_shape(dout, cache.x_shape, "dout", "the forward input x")
    return _gaussian_dropout_backward(dout, cache)


def _gaussian_dropout_backward(dout: np.ndarray, cache: GaussianDropoutCache) -> np.ndarray:
    """:func:`gaussian_dropout_backward` without checks."""
    if not cache.train:
        return dout.copy()
    return np.multiply(dout, cache.noise, out=np.empty_like(dout), casting="same_kind")


def _check_noise(
    noise: object, train: bool, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """Given noise: a float array of the noise shape, in training mode only; in ``dtype``."""
    if not train:
        raise ValueError("noise is training-mode noise; it needs train=True")
    if not isinstance(noise, np.ndarray) or not np.issubdtype(noise.dtype, np.floating):
        raise TypeError(f"noise must be a NumPy float array, got {describe(noise)}")
    check_same_shape(noise, shape, "noise", "the noise of x")
    return noise.astype(dtype, copy=False)

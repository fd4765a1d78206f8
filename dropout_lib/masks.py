"""Dropout masks: ``True`` keeps a unit, ``False`` drops it.

Each entry is kept with probability ``keep_probability(p_drop)``, within
``2**-33`` of ``1 - p_drop``. Chapter 1 (``book/01_masks.ipynb``) draws masks
from scratch; its section "How many random bits does a mask need?" explains
the 32-bit threshold used here, and ``benchmarks/README.md`` measures it.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ._checks import check_axes, check_p_drop, check_rng, check_shape

__all__ = ["MASK_BITS", "bernoulli_mask", "keep_probability", "keep_threshold", "mask_shape"]

#: Each unit is kept when a 32-bit random number falls below a threshold.
MASK_BITS: int = 32

_ONE = 1 << MASK_BITS  # the threshold meaning "always keep"
_HALF = 1 << 16  # the 32-bit number is drawn as two 16-bit halves

# Bit generators whose ``random_raw`` returns 64 random bits per word (not
# MT19937, whose words are 32 bits wide: it goes through ``rng.integers``).
_RAW64_BIT_GENERATORS = (
    np.random.PCG64,
    np.random.PCG64DXSM,
    np.random.Philox,
    np.random.SFC64,
)


def keep_threshold(p_drop: float) -> int:
    r"""Integer threshold ``t``: a unit is kept when its 32 random bits are ``< t``.

    Parameters
    ----------
    p_drop : float
        Probability of dropping a unit, in ``[0, 1]``.

    Returns
    -------
    int
        :math:`t = \mathrm{round}((1 - p_{drop})\, 2^{32})`, in ``[0, 2**32]``.

    See Also
    --------
    keep_probability : ``t / 2**32``, the keep probability realised.
    book/01_masks.ipynb : "How many random bits does a mask need?"
    """
    return _threshold(check_p_drop(p_drop))


def _threshold(p_drop: float) -> int:
    """:func:`keep_threshold` for an already validated ``float`` p_drop."""
    return round((1.0 - p_drop) * _ONE)  # the scaling by 2**32 is exact


def keep_probability(p_drop: float) -> float:
    r"""Keep probability realised by :func:`bernoulli_mask`.

    Parameters
    ----------
    p_drop : float
        Probability of dropping a unit, in ``[0, 1]``.

    Returns
    -------
    float
        ``keep_threshold(p_drop) / 2**32``, with
        :math:`|\mathrm{keep\_probability} - (1 - p_{drop})| \le 2^{-33}`.

    See Also
    --------
    book/01_masks.ipynb : "How many random bits does a mask need?"

    Examples
    --------
    >>> abs(keep_probability(0.3) - 0.7) <= 2**-33
    True
    """
    return keep_threshold(p_drop) / _ONE


def mask_shape(
    shape: int | tuple[int, ...], shared_axes: int | tuple[int, ...] = ()
) -> tuple[int, ...]:
    """Shape of a mask that is shared along ``shared_axes``.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the activations the mask will multiply, e.g. ``(N, C, H, W)``.
    shared_axes : int or tuple of int, optional
        Axes along which one mask value is shared (negative axes count from
        the end). Default ``()``: one value per unit.

    Returns
    -------
    tuple of int
        ``shape`` with every shared axis set to 1, so the mask broadcasts.

    See Also
    --------
    book/01_masks.ipynb : shared masks (channel and locked dropout).

    Examples
    --------
    >>> mask_shape((32, 16, 8, 8), shared_axes=(2, 3))   # channel dropout
    (32, 16, 1, 1)
    >>> mask_shape((32, 50, 128), shared_axes=(1,))      # locked dropout
    (32, 1, 128)
    """
    shape = check_shape(shape)
    return _mask_shape(shape, check_axes(shared_axes, len(shape)))


def _mask_shape(shape: tuple[int, ...],
                axes: tuple[int, ...]) -> tuple[int, ...]:
    """:func:`mask_shape` for a checked shape and normalised axes."""
    return tuple(1 if axis in axes else size
                 for axis, size in enumerate(shape))


_LITTLE_ENDIAN = sys.byteorder == "little"
_U8_LE = np.dtype("<u8")
_U2_LE = np.dtype("<u2")


def _random_uint16(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random 16-bit unsigned integers, the same on every platform."""
    bit_generator = rng.bit_generator
    if type(bit_generator) in _RAW64_BIT_GENERATORS:
        words = bit_generator.random_raw(-(-n // 4))  # 4 numbers per word
        if not _LITTLE_ENDIAN:  # low half first on every machine
            words = words.astype(_U8_LE)
        bits = words.view(_U2_LE)
        return bits if bits.shape[0] == n else bits[:n]
    return rng.integers(0, _HALF, size=n, dtype=np.uint16)


def bernoulli_mask(
    shape: int | tuple[int, ...],
    p_drop: float,
    rng: np.random.Generator,
    *,
    shared_axes: int | tuple[int, ...] = (),
) -> np.ndarray:
    """Draw a boolean dropout mask: ``True`` = kept, ``False`` = dropped.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the activations to mask, e.g. ``(N, D)``.
    p_drop : float
        Probability of dropping each unit, in ``[0, 1]``.
    rng : numpy.random.Generator
        Source of randomness; the global NumPy state is never used.
    shared_axes : int or tuple of int, optional
        Axes that share one mask value: ``(2, 3)`` drops whole channels of
        ``(N, C, H, W)`` images, ``(1,)`` gives locked dropout of
        ``(N, T, D)``.

    Returns
    -------
    numpy.ndarray of bool, shape ``mask_shape(shape, shared_axes)``
        Independent entries, each ``True`` with probability
        ``keep_probability(p_drop)``.

    Notes
    -----
    :math:`m_i = [u_i < t]` for a 32-bit random :math:`u_i` and
    ``t = keep_threshold(p_drop)``; the low 16 bits of :math:`u_i` are drawn
    only when its high 16 bits tie with ``t``'s.

    See Also
    --------
    book/01_masks.ipynb : masks from scratch; "How many random bits does a
    mask need?"
    """
    shape_t = mask_shape(shape, shared_axes)
    threshold = keep_threshold(p_drop)
    return _draw_mask(shape_t, threshold, check_rng(rng))


def _draw_mask(
    shape: tuple[int, ...], threshold: int, rng: np.random.Generator
) -> np.ndarray:
    """:func:`bernoulli_mask` without checks; ``t`` in ``[0, 2**32]``."""
    n = math.prod(shape)
    if threshold >= _ONE:
        return np.ones(shape, dtype=bool)
    if threshold <= 0 or n == 0:
        return np.zeros(shape, dtype=bool)
    high, low = divmod(threshold, _HALF)
    u_high = _random_uint16(rng, n)
    mask = u_high < high
    if low:  # u < t also holds when the high halves tie and u_low < low
        ties = np.flatnonzero(u_high == high)
        if ties.size:
            mask[ties] = _random_uint16(rng, ties.size) < low
    return mask.reshape(shape)

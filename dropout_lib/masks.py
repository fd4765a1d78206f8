"""Bernoulli keep-masks for dropout, drawn from random *bits*.

A dropout mask says, for every unit, whether it is **kept** (``True``) or
**dropped** (``False``). Each entry is an independent Bernoulli variable with
``P(kept) = 1 - p_drop`` (to within ``2**-17``, see below).

The textbook way to draw it is ``rng.random(shape) < 1 - p_drop``: one
64-bit float per unit, i.e. 53 random bits, of which a mask needs far fewer.
This module instead draws **16 random bits per unit** and compares them, as
unsigned integers, against an integer threshold. That is exact for
``p_drop = 0`` and ``p_drop = 1``, reproduces ``1 - p_drop`` to within
``2**-17`` otherwise (see :func:`keep_probability`), and is several times
faster (see ``benchmarks/bench_dropout.py`` and the chapter
``book/01_masks.ipynb``).

Masks are always stored as ``bool`` (1 byte per unit), never as floats.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ._validate import check_axes, check_p_drop, check_rng, check_shape

__all__ = ["MASK_BITS", "bernoulli_mask", "keep_probability", "keep_threshold", "mask_shape"]

#: Number of random bits drawn per mask entry.
MASK_BITS: int = 16

_ONE = 1 << MASK_BITS  # 65536: the threshold meaning "always keep"

# Bit generators whose ``random_raw`` returns 64 uniformly random bits per
# word. (MT19937's raw output is only 32 bits wide, so it is *not* listed;
# any generator not listed here goes through ``rng.integers`` instead.)
_RAW64_BIT_GENERATORS = (
    np.random.PCG64,
    np.random.PCG64DXSM,
    np.random.Philox,
    np.random.SFC64,
)


def keep_threshold(p_drop: float) -> int:
    """Integer threshold ``t`` used to draw masks for drop probability ``p_drop``.

    Parameters
    ----------
    p_drop : float
        Probability of dropping a unit, in ``[0, 1]``.

    Returns
    -------
    int
        ``t = round((1 - p_drop) * 2**16)``, an integer in ``[0, 65536]``. A
        unit is kept when its 16 random bits, read as an unsigned integer
        ``u`` in ``[0, 65535]``, satisfy ``u < t``.

    Notes
    -----
    ``t = 0`` (``p_drop > 1 - 2**-17``) keeps nothing and ``t = 65536``
    (``p_drop < 2**-17``) keeps everything; in both cases the mask is not
    random and no bits are drawn. Python's ``round`` rounds halves to even,
    which only matters for ``p_drop`` exactly on a half step and is
    deterministic.

    See Also
    --------
    keep_probability : ``t / 2**16``, the keep probability actually realised.
    """
    return _threshold(check_p_drop(p_drop))


def _threshold(p_drop: float) -> int:
    """:func:`keep_threshold` for an already validated ``float`` p_drop."""
    # (1 - p_drop) * 2**16 is exact in binary floating point (power-of-two
    # scaling), so the only rounding is the final ``round``.
    return int(round((1.0 - p_drop) * _ONE))


def keep_probability(p_drop: float) -> float:
    r"""Keep probability actually realised by :func:`bernoulli_mask`.

    Parameters
    ----------
    p_drop : float
        Probability of dropping a unit, in ``[0, 1]``.

    Returns
    -------
    float
        ``keep_threshold(p_drop) / 2**16``: the exact probability that an
        entry of ``bernoulli_mask(shape, p_drop, rng)`` is ``True``.

    Notes
    -----
    The nominal keep probability ``q = 1 - p_drop`` is rounded to the nearest
    multiple of ``2**-16``, so

    .. math::

        \left|\,\mathrm{keep\_probability}(p_{drop}) - (1 - p_{drop})\,\right|
        \le 2^{-17} \approx 7.63 \times 10^{-6},

    with equality to zero for ``p_drop`` in ``{0, 1}`` and whenever
    ``1 - p_drop`` is a multiple of ``2**-16`` (e.g. 0.5, 0.25, 0.75). For
    comparison, the sampling noise of the dropped fraction of a layer with
    ``n`` units is ``sqrt(p_drop (1 - p_drop) / n)``, i.e. ``2**-17`` is below
    the noise for every layer with fewer than about ``4e9`` units.

    The *relative* error ``2**-17 / (1 - p_drop)`` grows as ``p_drop -> 1``:
    it is at most ``7.6e-5`` for ``p_drop <= 0.9`` and ``7.6e-4`` for
    ``p_drop <= 0.99``. For ``p_drop > 1 - 2**-17`` nothing is kept at all.

    See Also
    --------
    bernoulli_mask
    book/01_masks.ipynb : why 16 random bits per unit are enough.

    Examples
    --------
    >>> keep_probability(0.5)
    0.5
    >>> abs(keep_probability(0.3) - 0.7) <= 2**-17
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
        Shape of the activations the mask will multiply.
    shared_axes : int or tuple of int, optional
        Axes along which one mask value is shared (negative axes count from
        the end). Default ``()``: nothing shared, one value per unit.

    Returns
    -------
    tuple of int
        ``shape`` with every shared axis replaced by 1, so the mask
        broadcasts against ``shape``.

    Raises
    ------
    TypeError
        If ``shape`` or ``shared_axes`` is not an int or tuple of ints.
    ValueError
        If ``shape`` has a negative entry, or an axis is out of range for
        ``len(shape)`` or repeated.

    Examples
    --------
    >>> mask_shape((32, 16, 8, 8), shared_axes=(2, 3))   # channel dropout
    (32, 16, 1, 1)
    >>> mask_shape((32, 50, 128), shared_axes=(1,))      # locked dropout
    (32, 1, 128)
    >>> mask_shape((4, 5), shared_axes=-1)
    (4, 1)
    """
    shape = check_shape(shape)
    axes = check_axes(shared_axes, len(shape))
    return tuple(1 if axis in axes else size for axis, size in enumerate(shape))


_LITTLE_ENDIAN = sys.byteorder == "little"
_U8_LE = np.dtype("<u8")
_U2_LE = np.dtype("<u2")


def _random_uint16(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniformly random 16-bit unsigned integers, identical on every platform."""
    bit_generator = rng.bit_generator
    if type(bit_generator) in _RAW64_BIT_GENERATORS:
        words = bit_generator.random_raw(-(-n // 4))  # ceil(n / 4) 64-bit words
        if not _LITTLE_ENDIAN:
            # Store the words little-endian so that the split of each word into
            # four 16-bit numbers (low half first) is the same on every machine.
            words = words.astype(_U8_LE)
        bits = words.view(_U2_LE)
        return bits if bits.shape[0] == n else bits[:n]
    return rng.integers(0, _ONE, size=n, dtype=np.uint16)


def bernoulli_mask(
    shape: int | tuple[int, ...],
    p_drop: float,
    rng: np.random.Generator,
    *,
    shared_axes: int | tuple[int, ...] = (),
) -> np.ndarray:
    r"""Draw a boolean dropout mask: ``True`` = unit kept, ``False`` = dropped.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the activations to be masked, e.g. ``(N, D)``.
    p_drop : float
        Probability of *dropping* each unit, in ``[0, 1]``.
    rng : numpy.random.Generator
        Source of randomness, e.g. ``np.random.default_rng(0)``. The global
        NumPy random state is never used.
    shared_axes : int or tuple of int, optional, keyword-only
        Axes along which a single mask value is shared (negative axes
        allowed). The returned mask has size 1 along these axes and
        broadcasts against ``shape``. Same idea as Keras' ``noise_shape`` and
        Flax's ``broadcast_dims``. Examples:

        * channel ("spatial") dropout for images ``(N, C, H, W)``:
          ``shared_axes=(2, 3)`` drops whole feature maps; mask shape
          ``(N, C, 1, 1)``.
        * locked / variational dropout for sequences ``(N, T, D)``:
          ``shared_axes=(1,)`` drops the same features at every time step;
          mask shape ``(N, 1, D)``.

    Returns
    -------
    mask : numpy.ndarray of bool, shape ``mask_shape(shape, shared_axes)``
        ``mask[i]`` is ``True`` with probability ``keep_probability(p_drop)``,
        independently for every entry.

    Raises
    ------
    TypeError
        If ``rng`` is not a ``numpy.random.Generator``, ``p_drop`` is not a
        real number, or ``shape``/``shared_axes`` are not ints/tuples of ints.
    ValueError
        If ``p_drop`` is NaN or outside ``[0, 1]``, ``shape`` has a negative
        entry, or a shared axis is out of range or repeated.

    Notes
    -----
    **Algorithm.** With ``t = keep_threshold(p_drop) = round((1 - p_drop) 2^16)``
    and ``u`` a uniformly random 16-bit unsigned integer per entry,

    .. math::

        \mathrm{mask} = [\,u < t\,], \qquad
        P(\mathrm{kept}) = t / 2^{16}, \qquad
        \left| t / 2^{16} - (1 - p_{drop}) \right| \le 2^{-17} \approx 7.6\times 10^{-6}.

    Note the direction: a unit is kept when the random number is *below* the
    keep probability, so ``p_drop = 0.2`` keeps about 80 % of the units.
    ``p_drop = 0`` keeps everything and ``p_drop = 1`` drops everything,
    exactly.

    **Random bits.** For the 64-bit bit generators ``PCG64`` (the default of
    ``np.random.default_rng``), ``PCG64DXSM``, ``Philox`` and ``SFC64``, the
    bits come from ``rng.bit_generator.random_raw``: each 64-bit word gives
    four 16-bit numbers, least significant first, so the generator advances
    by ``ceil(size / 4)`` words, ``size`` being the number of mask entries
    (``prod(mask_shape(shape, shared_axes))``). Any other bit generator (e.g.
    ``MT19937``, whose raw output is only 32 bits wide) is used through
    ``rng.integers(0, 2**16, size, dtype=np.uint16)``. Either way the mask is
    a fixed function of the generator's stream, so the same seed gives the
    same mask on every machine (byte order is normalised).

    When the mask is not random (``t = 0`` or ``t = 2**16``, which includes
    ``p_drop`` of 0 and 1) or empty, no bits are drawn and ``rng`` is not
    advanced.

    **Why 16 bits?** Drawing 16 bits instead of a 64-bit float (as
    ``rng.random(shape) < 1 - p_drop`` does) moves 4x fewer random bytes
    and needs no integer-to-float conversion. Measured for 1.6e7 entries on
    the book's machine (1 thread), drawing and comparing took: 16-bit raw
    words ~1900 M entries/s, 32-bit raw words ~870 M/s,
    ``rng.integers(..., dtype=np.uint16)`` ~1150 M/s, ``rng.random`` ~400 M/s
    (float32 ~580 M/s). 32 bits would cut the quantisation error to
    ``2**-33`` but halve the speed; ``2**-17`` is already far below the
    sampling noise of any realistic layer (see :func:`keep_probability`).

    See Also
    --------
    keep_probability : the exact realised keep probability.
    mask_shape : the shape of the returned mask.
    dropout_lib.layers.dropout_forward : applies the mask to activations.
    book/01_masks.ipynb : the chapter on masks, shared masks and speed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = bernoulli_mask((4, 3, 8, 8), 0.5, rng, shared_axes=(2, 3))
    >>> m.shape, m.dtype
    ((4, 3, 1, 1), dtype('bool'))
    """
    shape_t = mask_shape(shape, shared_axes)
    threshold = keep_threshold(p_drop)
    rng = check_rng(rng)
    return _draw_mask(shape_t, threshold, rng)


def _draw_mask(shape: tuple[int, ...], threshold: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`bernoulli_mask` without argument checks (for callers that already checked)."""
    if threshold >= _ONE:
        return np.ones(shape, dtype=bool)
    n = math.prod(shape)
    if threshold <= 0 or n == 0:
        return np.zeros(shape, dtype=bool)
    mask = np.less(_random_uint16(rng, n), threshold)  # 0 < threshold < 2**16
    return mask if len(shape) == 1 else mask.reshape(shape)

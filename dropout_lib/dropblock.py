r"""DropBlock (Ghiasi et al. 2018): drop contiguous squares of a feature map.

Neighbouring positions of a convolutional feature map are correlated (chapter
5), so a unit dropped alone is largely recovered from its neighbours.
DropBlock drops ``block_size x block_size`` squares instead.

What this module does, exactly:

1. **Block corners.** For each map (each example and channel, or each
   example when ``shared_channels``), every top-left corner ``(r, c)`` with
   ``0 <= r <= H - block_size`` and ``0 <= c <= W - block_size`` starts a
   dropped block with probability :math:`\gamma`, independently. So every
   block lies wholly inside the map (the paper samples block *centres* in
   that same valid region). The draw is
   :func:`~dropout_lib.masks.bernoulli_mask` with drop probability
   :math:`\gamma`: at ``block_size = 1`` the mask *is* a Bernoulli dropout
   mask with drop probability ``p_drop``, draw for draw.
2. :math:`\gamma` is the paper's eq. 1 written for an ``H x W`` map,

   .. math::

      \gamma = \frac{p_{drop}}{b^2}\,\frac{H W}{(H - b + 1)(W - b + 1)},

   with :math:`b` = ``block_size`` and :math:`p_{drop} = 1 - \mathrm{keep\_prob}`:
   the expected number of corners times :math:`b^2` is :math:`p_{drop} H W`.
   Blocks overlap, so the expected fraction dropped is a little *below*
   ``p_drop``; :func:`dropblock_expected_drop` gives it exactly.
3. **Normalisation** (the paper's Algorithm 1, line 7): the kept units are
   multiplied by ``count(M) / count_ones(M)``, the size of the whole mask
   array ``M`` (all examples and channels of the call) over its number of
   kept entries, as the paper's TensorFlow code does. It is a random
   scale, not ``1 / (1 - p_drop)``; if every entry is dropped the output is 0.

See book/06 (dropout as practised today: DropBlock for feature maps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import (
    check_bool,
    check_float_array,
    check_int,
    check_p_drop,
    check_rng,
    check_same_shape,
    check_shape,
    describe,
)
from .layers import _check_cache
from .masks import _draw_mask, _threshold

__all__ = [
    "DropBlockCache",
    "dropblock_backward",
    "dropblock_expected_drop",
    "dropblock_forward",
    "dropblock_gamma",
    "dropblock_mask",
]


def dropblock_gamma(p_drop: float, block_size: int, height: int,
                    width: int) -> float:
    r"""Probability :math:`\gamma` that a valid corner starts a dropped block (eq. 1).

    Parameters
    ----------
    p_drop : float
        Target fraction of units to drop, in ``[0, 1)``.
    block_size : int
        Side of the square blocks, in ``1..min(height, width)``.
    height, width : int
        Size of the feature map, ``>= 1``.

    Returns
    -------
    float
        :math:`\gamma = p_{drop} H W / (b^2 (H - b + 1)(W - b + 1))`, never
        above ``p_drop``, since :math:`b(H - b + 1) \ge H` for
        :math:`1 \le b \le H`.
    """
    p, b, h, w = _check_geometry(p_drop, block_size, height, width)
    return _gamma(p, b, h, w)


def _gamma(p: float, b: int, h: int, w: int) -> float:
    return p * h * w / (b * b * (h - b + 1) * (w - b + 1))


def _check_geometry(p_drop: object, block_size: object, height: object,
                    width: object) -> tuple[float, int, int, int]:
    p = check_p_drop(p_drop)
    if p == 1.0:
        raise ValueError("p_drop must be < 1 for DropBlock: the kept units "
                         "are rescaled by count / count_ones")
    h = check_int(height, "height", low=1)
    w = check_int(width, "width", low=1)
    b = check_int(block_size, "block_size", low=1)
    if b > min(h, w):
        raise ValueError(f"block_size must be <= the map's height and width "
                         f"({h} x {w}); got {b}")
    return p, b, h, w


def dropblock_expected_drop(p_drop: float, block_size: int, height: int,
                            width: int) -> float:
    r"""Expected fraction of a map's units that :func:`dropblock_mask` drops.

    Parameters
    ----------
    p_drop, block_size, height, width
        As in :func:`dropblock_gamma`.

    Returns
    -------
    float
        :math:`\frac{1}{HW}\sum_{i,j} 1 - (1 - \gamma)^{n_i m_j}`, where
        :math:`n_i` (:math:`m_j`) counts the corner rows (columns) whose
        block covers row :math:`i` (column :math:`j`). Equals ``p_drop`` at
        ``block_size = 1``; below it otherwise, as blocks overlap.
    """
    p, b, h, w = _check_geometry(p_drop, block_size, height, width)
    gamma = _gamma(p, b, h, w)
    n = _cover_counts(h, b)
    m = _cover_counts(w, b)
    return float(np.mean(1.0 - (1.0 - gamma) ** np.multiply.outer(n, m)))


def _cover_counts(size: int, b: int) -> np.ndarray:
    """For each position ``0..size-1``, how many corners ``0..size-b`` cover it."""
    i = np.arange(size)
    return np.minimum(i, size - b) - np.maximum(0, i - b + 1) + 1


def dropblock_mask(
    shape: tuple[int, int, int, int],
    p_drop: float,
    block_size: int,
    rng: np.random.Generator,
    *,
    shared_channels: bool = False,
) -> np.ndarray:
    """Draw a DropBlock keep-mask: ``True`` = kept, ``False`` = dropped.

    Parameters
    ----------
    shape : tuple of 4 int
        ``(N, C, H, W)``, the feature maps to mask.
    p_drop : float
        Target fraction dropped, in ``[0, 1)``.
    block_size : int
        Side of the dropped squares, in ``1..min(H, W)``.
    rng : numpy.random.Generator
        Source of randomness; the global NumPy state is never used.
    shared_channels : bool, keyword-only
        ``True``: one mask per example, shared by all channels, of shape
        ``(N, 1, H, W)``. Default ``False``: one per example and channel.

    Returns
    -------
    numpy.ndarray of bool, shape ``(N, C, H, W)`` or ``(N, 1, H, W)``

    Notes
    -----
    Corners are drawn as ``bernoulli_mask((N, C, H-b+1, W-b+1), gamma)``'s
    dropped entries; each starts a ``b x b`` dropped square (module
    docstring).

    See Also
    --------
    dropblock_gamma, dropblock_expected_drop, dropblock_forward
    """
    shape_t = check_shape(shape)
    if len(shape_t) != 4:
        raise ValueError(f"shape must be (N, C, H, W), 4 entries; got {shape!r}")
    n, c, h, w = shape_t
    p, b, h, w = _check_geometry(p_drop, block_size, h, w)
    shared = check_bool(shared_channels, "shared_channels")
    return _dropblock_mask((n, 1 if shared else c, h, w), p, b,
                           check_rng(rng))


def _dropblock_mask(shape: tuple[int, int, int, int], p: float, b: int,
                    rng: np.random.Generator) -> np.ndarray:
    """:func:`dropblock_mask` without checks."""
    n, c, h, w = shape
    if p == 0.0:
        return np.ones(shape, dtype=bool)
    corners_kept = _draw_mask((n, c, h - b + 1, w - b + 1),
                              _threshold(_gamma(p, b, h, w)), rng)
    if b == 1:
        return corners_kept
    corners = ~corners_kept
    dropped = np.zeros(shape, dtype=bool)
    for di in range(b):
        for dj in range(b):
            dropped[:, :, di:di + h - b + 1, dj:dj + w - b + 1] |= corners
    return ~dropped


@dataclass(frozen=True, eq=False)
class DropBlockCache:
    """What :func:`dropblock_backward` needs: the keep-mask and the scale."""

    mask: np.ndarray | None = field(repr=False)
    scale: float
    train: bool
    x_shape: tuple[int, ...]


def dropblock_forward(
    x: np.ndarray,
    p_drop: float,
    block_size: int,
    *,
    train: bool,
    rng: np.random.Generator | None = None,
    shared_channels: bool = False,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, DropBlockCache]:
    r"""DropBlock forward pass: :math:`x \odot M \cdot \mathrm{count}(M)/\mathrm{count\_ones}(M)`.

    Parameters
    ----------
    x : numpy.ndarray, shape ``(N, C, H, W)``, float16/32/64
        Feature maps. Not modified.
    p_drop, block_size
        As in :func:`dropblock_mask`.
    train : bool, keyword-only
        ``True``: drop blocks; ``False``: the identity (a copy).
    rng : numpy.random.Generator, keyword-only
        Required in training with ``p_drop > 0`` and no ``mask``.
    shared_channels : bool, keyword-only
        As in :func:`dropblock_mask`.
    mask : numpy.ndarray of bool, keyword-only
        A keep-mask to use instead of drawing one (training only), of shape
        ``(N, C, H, W)`` or ``(N, 1, H, W)``.

    Returns
    -------
    out : numpy.ndarray, same shape and dtype as ``x``; a new array
    cache : DropBlockCache
        ``scale = M.size / M.sum()`` (``0`` if nothing is kept).
    """
    x = check_float_array(x, "x")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W); got shape {x.shape}")
    n, c, h, w = x.shape
    p, b, _, _ = _check_geometry(p_drop, block_size, h, w)
    train = check_bool(train, "train", "True for training, False for evaluation")
    shared = check_bool(shared_channels, "shared_channels")
    if not train:
        if mask is not None:
            raise ValueError("mask is a training-mode keep-mask; it needs train=True")
        return x.copy(), DropBlockCache(None, 1.0, False, x.shape)
    if mask is None:
        shape = (n, 1 if shared else c, h, w)
        rng = check_rng(rng) if p > 0.0 else rng
        mask = _dropblock_mask(shape, p, b, rng)
    elif not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError(f"mask must be a NumPy bool array, got {describe(mask)}")
    elif mask.shape not in ((n, c, h, w), (n, 1, h, w)):
        raise ValueError(f"mask must have shape {(n, c, h, w)} or {(n, 1, h, w)}; "
                         f"got {mask.shape}")
    kept = int(np.count_nonzero(mask))
    scale = mask.size / kept if kept else 0.0
    out = np.where(mask, x * x.dtype.type(scale), x.dtype.type(0))
    return out.astype(x.dtype, copy=False), DropBlockCache(mask, scale, True, x.shape)


def dropblock_backward(dout: np.ndarray, cache: DropBlockCache) -> np.ndarray:
    """DropBlock backward pass: ``dout * M * scale`` (``dout`` at evaluation).

    Parameters
    ----------
    dout : numpy.ndarray, shape ``cache.x_shape``, float16/32/64
        Upstream gradient. Not modified.
    cache : DropBlockCache
        As returned by :func:`dropblock_forward`.

    Returns
    -------
    dx : numpy.ndarray, same shape and dtype as ``dout``; a new array
    """
    _check_cache(cache, DropBlockCache, "dropblock_forward")
    dout = check_float_array(dout, "dout")
    check_same_shape(dout, cache.x_shape, "dout", "the forward input x")
    if not cache.train:
        return dout.copy()
    dx = np.where(cache.mask, dout * dout.dtype.type(cache.scale),
                  dout.dtype.type(0))
    return dx.astype(dout.dtype, copy=False)

"""A small 2-D convolution (im2col) and 2x2 average pooling, for NCHW images.

Only what chapter 5 needs: stride 1, odd square kernels and 'same' zero
padding, so a convolution keeps the height and width of its input. The
convolution is a matrix product over *columns*, one row per output pixel
holding the ``C * k * k`` input values under the kernel (im2col, as in
CS231n). Channel (spatial) dropout of the feature maps needs no new layer:
``dropout_forward(x, p_drop, train=True, rng=rng, shared_axes=(2, 3))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import check_float_array
from .layers import _check_cache, _check_dout

__all__ = [
    "AvgPoolCache",
    "Conv2dCache",
    "avg_pool2x2_backward",
    "avg_pool2x2_forward",
    "conv2d_backward",
    "conv2d_forward",
]


# ---------------------------------------------------------------------------
# im2col and its adjoint
# ---------------------------------------------------------------------------


def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """Columns of ``x`` (N, C, H, W) for a k x k 'same' kernel: shape (N*H*W, C*k*k)."""
    n, c, h, w = x.shape
    p = k // 2
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(2, 3))
    # windows[n, c, i, j] is the k x k patch centred on pixel (i, j): (N, C, H, W, k, k)
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * k * k)


def _col2im(cols: np.ndarray, x_shape: tuple[int, ...], k: int) -> np.ndarray:
    """Adjoint of :func:`_im2col`: add every column entry back onto its pixel."""
    n, c, h, w = x_shape
    p = k // 2
    patches = cols.reshape(n, h, w, c, k, k)
    padded = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=cols.dtype)
    for i in range(k):  # k * k shifted, vectorised additions
        for j in range(k):
            padded[:, :, i : i + h, j : j + w] += patches[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return padded[:, :, p : p + h, p : p + w]


# ---------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Conv2dCache:
    """What :func:`conv2d_backward` needs: the columns of ``x`` and the kernel."""

    cols: np.ndarray = field(repr=False)
    W: np.ndarray = field(repr=False)
    x_shape: tuple[int, ...]


def conv2d_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Conv2dCache]:
    r"""2-D convolution, stride 1, 'same' zero padding, for odd kernel sizes only.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, C, H, W), float16/32/64
        A minibatch of N images with C channels. Not modified.
    W : numpy.ndarray, shape (F, C, k, k), k odd
        F filters; padding ``k // 2`` keeps the output at H x W.
    b : numpy.ndarray, shape (F,)

    Returns
    -------
    out : numpy.ndarray, shape (N, F, H, W)
    cache : Conv2dCache

    Notes
    -----
    Cross-correlation, as in every deep-learning library:

    .. math:: y_{nfij} = b_f + \sum_{c,u,v} W_{fcuv}\, x_{n,c,i+u-k/2,j+v-k/2}

    (:math:`k/2` rounded down; :math:`x = 0` outside the image).

    See Also
    --------
    conv2d_backward
    book/05_noise_and_modern.ipynb : element-wise against channel dropout.
    """
    x = check_float_array(x, "x")
    W = check_float_array(W, "W")
    b = check_float_array(b, "b")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W) (4 dimensions), got shape {x.shape}")
    if W.ndim != 4 or W.shape[1] != x.shape[1] or W.shape[2] != W.shape[3] or W.shape[2] % 2 == 0:
        raise ValueError(
            "W must have shape (F, C, k, k) with C = x.shape[1] = "
            f"{x.shape[1]} and k odd ('same' padding), got {W.shape}"
        )
    if b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape (F,) with F = W.shape[0] = {W.shape[0]}, got {b.shape}")
    return _conv2d_forward(x, W, b)


def _conv2d_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Conv2dCache]:
    """:func:`conv2d_forward` without checks."""
    n, _, h, w = x.shape
    f, k = W.shape[0], W.shape[2]
    cols = _im2col(x, k)
    out = cols @ W.reshape(f, -1).T + b  # (N*H*W, F)
    out = np.ascontiguousarray(out.reshape(n, h, w, f).transpose(0, 3, 1, 2))
    return out, Conv2dCache(cols, W, x.shape)


def conv2d_backward(
    dout: np.ndarray, cache: Conv2dCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Backward pass of :func:`conv2d_forward`.

    Parameters
    ----------
    dout : numpy.ndarray, shape (N, F, H, W), floating
        Upstream gradient. Not modified.
    cache : Conv2dCache

    Returns
    -------
    dx : numpy.ndarray, shape (N, C, H, W)
    dW : numpy.ndarray, shape (F, C, k, k)
    db : numpy.ndarray, shape (F,)

    Notes
    -----
    With :math:`X` the columns and :math:`G` the gradient as an
    (N*H*W, F) matrix: :math:`\partial L/\partial W = G^\top X`,
    :math:`\partial L/\partial b = \sum G`, and :math:`\partial L/\partial x`
    is :math:`G W` folded back onto the pixels (col2im).

    See Also
    --------
    conv2d_forward
    """
    _check_cache(cache, Conv2dCache, "conv2d_forward")
    n, _, h, w = cache.x_shape
    _check_dout(dout, (n, cache.W.shape[0], h, w), "conv2d_forward (N, F, H, W)")
    return _conv2d_backward(dout, cache)


def _conv2d_backward(
    dout: np.ndarray, cache: Conv2dCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`conv2d_backward` without checks."""
    W = cache.W
    f, k = W.shape[0], W.shape[2]
    g = dout.transpose(0, 2, 3, 1).reshape(-1, f)  # (N*H*W, F)
    dW = (g.T @ cache.cols).reshape(W.shape)
    dx = _col2im(g @ W.reshape(f, -1), cache.x_shape, k)
    return dx, dW, dout.sum(axis=(0, 2, 3))


# ---------------------------------------------------------------------------
# 2x2 average pooling
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AvgPoolCache:
    """The input shape, all :func:`avg_pool2x2_backward` needs."""

    x_shape: tuple[int, ...]


def avg_pool2x2_forward(x: np.ndarray) -> tuple[np.ndarray, AvgPoolCache]:
    r"""Average pooling over non-overlapping 2 x 2 windows (stride 2).

    Parameters
    ----------
    x : numpy.ndarray, shape (N, C, H, W), H and W even, floating

    Returns
    -------
    out : numpy.ndarray, shape (N, C, H // 2, W // 2)
    cache : AvgPoolCache

    Notes
    -----
    :math:`y_{ncij} = \frac14 \sum_{u,v \in \{0,1\}} x_{n,c,2i+u,2j+v}`.

    See Also
    --------
    avg_pool2x2_backward
    """
    x = check_float_array(x, "x")
    if x.ndim != 4 or x.shape[2] % 2 or x.shape[3] % 2:
        raise ValueError(
            f"x must have shape (N, C, H, W) with H and W even, got shape {x.shape}"
        )
    return _avg_pool2x2_forward(x)


def _avg_pool2x2_forward(x: np.ndarray) -> tuple[np.ndarray, AvgPoolCache]:
    """:func:`avg_pool2x2_forward` without checks."""
    n, c, h, w = x.shape
    out = x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
    return out, AvgPoolCache(x.shape)


def avg_pool2x2_backward(dout: np.ndarray, cache: AvgPoolCache) -> np.ndarray:
    """Backward pass of :func:`avg_pool2x2_forward`: each input gets ``dout / 4``.

    Parameters
    ----------
    dout : numpy.ndarray, shape (N, C, H // 2, W // 2), floating
    cache : AvgPoolCache

    Returns
    -------
    dx : numpy.ndarray, shape (N, C, H, W)

    See Also
    --------
    avg_pool2x2_forward
    """
    _check_cache(cache, AvgPoolCache, "avg_pool2x2_forward")
    n, c, h, w = cache.x_shape
    _check_dout(dout, (n, c, h // 2, w // 2), "avg_pool2x2_forward (N, C, H/2, W/2)")
    return _avg_pool2x2_backward(dout, cache)


def _avg_pool2x2_backward(dout: np.ndarray, cache: AvgPoolCache) -> np.ndarray:
    """:func:`avg_pool2x2_backward` without checks."""
    quarter = dout * dout.dtype.type(0.25)
    return np.repeat(np.repeat(quarter, 2, axis=2), 2, axis=3)

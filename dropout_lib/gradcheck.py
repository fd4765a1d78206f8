"""Numerical gradient checks (centred finite differences) for backward passes.

For dropout, hold the mask fixed: re-create the generator from the same seed
inside ``f``, or every evaluation draws a new mask. See
``book/02_inverted_dropout.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._checks import check_float_array, check_positive_real

__all__ = ["numerical_gradient", "rel_error"]


def numerical_gradient(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    dout: np.ndarray | None = None,
    h: float = 1e-5,
) -> np.ndarray:
    r"""Centred-difference gradient of ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar, or an array of a fixed shape (then pass
        ``dout``). It is called ``2 * x.size`` times, each time with a fresh
        float64 copy of ``x``.
    x : numpy.ndarray, any shape, float16/32/64
        Point at which to differentiate. Never modified.
    dout : numpy.ndarray, shape of ``f(x)``, optional
        Upstream gradient; required exactly when ``f`` returns an array.
    h : float, default 1e-5
        Step size, > 0 (meant for float64).

    Returns
    -------
    grad : numpy.ndarray of float64, shape ``x.shape``
        The gradient of ``f``, or of ``sum(f(x) * dout)`` (what a backward
        pass returns for upstream gradient ``dout``).

    Notes
    -----
    :math:`g_i = \langle f(x + h e_i) - f(x - h e_i), \mathrm{dout} \rangle / 2h`;
    the difference is taken before the product, so outputs that do not depend
    on :math:`x_i` cancel exactly (as in CS231n).

    See Also
    --------
    rel_error : compare the result with an analytic gradient.
    book/02_inverted_dropout.ipynb : gradient-checking dropout with a fixed mask.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x = check_float_array(x, "x")
    h = check_positive_real(h, "h")
    dout64 = None
    if dout is not None:
        dout64 = check_float_array(dout, "dout").astype(np.float64)

    base = x.astype(np.float64)  # always a copy
    grad = np.zeros(x.shape, dtype=np.float64)

    def evaluate(i: int, delta: float) -> np.ndarray:
        xp = base.copy()
        xp.flat[i] = base.flat[i] + delta
        return np.asarray(f(xp), dtype=np.float64)

    for i in range(base.size):
        grad.flat[i] = _difference(evaluate(i, h), evaluate(i, -h), dout64) / (2 * h)
    return grad


def _difference(plus: np.ndarray, minus: np.ndarray, dout: np.ndarray | None) -> float:
    """``f(x + h e_i) - f(x - h e_i)``, contracted with ``dout`` for array outputs."""
    if dout is None:
        if plus.ndim != 0:
            raise ValueError(
                f"f returned an array of shape {plus.shape}; pass dout with that shape "
                "to differentiate sum(f(x) * dout), or make f return a scalar"
            )
        return float(plus - minus)
    if plus.shape != dout.shape:
        what = "a scalar" if plus.ndim == 0 else f"an array of shape {plus.shape}"
        raise ValueError(
            f"dout must have the shape of f(x), got dout of shape {dout.shape} "
            f"but f returned {what}"
        )
    return float(np.sum((plus - minus) * dout))


def rel_error(a: Any, b: Any) -> float:
    r"""Maximum elementwise relative error between ``a`` and ``b`` (CS231n).

    Parameters
    ----------
    a, b : numpy.ndarray or real number
        Real-valued, of the same shape (no broadcasting).

    Returns
    -------
    float
        :math:`\max_i |a_i - b_i| / \max(10^{-8}, |a_i| + |b_i|)` in float64;
        ``0.0`` for empty arrays, NaN if any entry is NaN. In a float64
        gradient check, below ``1e-7`` is right and ``1e-4`` or more is a bug
        (or a kink, as in ReLU at 0).

    See Also
    --------
    numerical_gradient
    """
    arrays = []
    for name, value in (("a", a), ("b", b)):
        arr = np.asarray(value)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.floating)
            or np.issubdtype(arr.dtype, np.integer)
            or arr.dtype == bool
        ):
            raise TypeError(f"{name} must be a real-valued array or number, got dtype {arr.dtype}")
        arrays.append(arr.astype(np.float64))
    a64, b64 = arrays
    if a64.shape != b64.shape:
        raise ValueError(f"a and b must have the same shape, got {a64.shape} and {b64.shape}")
    if a64.size == 0:
        return 0.0
    denom = np.maximum(1e-8, np.abs(a64) + np.abs(b64))
    return float(np.max(np.abs(a64 - b64) / denom))

"""Numerical gradient checks (centred finite differences).

The standard way to test a hand-written backward pass: perturb each input
entry by ``+h`` and ``-h``, look at how the output changes, and compare the
resulting numerical gradient with the analytic one using
:func:`rel_error`. For dropout, the mask must be held fixed while doing this
(re-create the generator from the same seed inside ``f``), otherwise every
evaluation of ``f`` draws a new mask and the finite differences are
meaningless. See ``book/02_inverted_dropout.ipynb``.
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
        ``f(x)`` returns either a scalar (then the gradient of ``f`` is
        computed) or an array of any fixed shape (then the gradient of
        ``sum(f(x) * dout)`` is computed, i.e. the vector-Jacobian product
        that a backward pass returns for upstream gradient ``dout``). ``f`` is
        called ``2 * x.size`` times, each time with a fresh float64 array of
        ``x``'s shape, so it may not rely on receiving ``x`` itself.
    x : numpy.ndarray, any shape, dtype float16/float32/float64
        Point at which to differentiate. Never modified.
    dout : numpy.ndarray or None, optional
        Upstream gradient, required (and only allowed) when ``f`` returns an
        array; must have the shape of ``f(x)``.
    h : float, optional
        Step size, default ``1e-5`` (good for float64; gradient checks in
        float32 are not meaningful with such a step).

    Returns
    -------
    grad : numpy.ndarray of float64, shape ``x.shape``
        ``grad[i] ~= d(sum(f(x) * dout)) / dx[i]`` (or ``df/dx[i]``).

    Raises
    ------
    TypeError
        If ``f`` is not callable, ``x``/``dout`` are not float arrays, or
        ``h`` is not a real number.
    ValueError
        If ``h`` is not positive and finite, ``f`` returns an array but no
        ``dout`` was given, ``f`` returns a scalar but ``dout`` was given, or
        the shape of ``f(x)`` differs from ``dout.shape``.

    Notes
    -----
    For every entry :math:`i`, with :math:`e_i` the i-th unit array,

    .. math::

        g_i = \frac{\langle f(x + h e_i) - f(x - h e_i),\ \mathrm{dout} \rangle}{2h}
            = \frac{\partial}{\partial x_i}\langle f(x), \mathrm{dout}\rangle
              + O(h^2).

    The difference :math:`f(x + h e_i) - f(x - h e_i)` is taken *before*
    the product with ``dout`` and the sum, so outputs that do not depend on
    :math:`x_i` cancel exactly instead of adding rounding noise (same as
    CS231n's ``eval_numerical_gradient_array``).

    **x is never modified**: the function works on a float64 copy of ``x``
    and gives ``f`` a freshly perturbed copy each time, so even an ``f``
    that modifies its argument cannot corrupt ``x`` or later evaluations.
    The cost is one copy of ``x`` per evaluation, which is negligible at the
    sizes gradient checks are run at (a few hundred entries).

    See Also
    --------
    rel_error : compare the result with an analytic gradient.
    book/02_inverted_dropout.ipynb : gradient-checking dropout with a fixed mask.

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> g = numerical_gradient(lambda v: float(np.sum(v ** 2)), x)
    >>> bool(np.allclose(g, 2 * x))
    True
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
        plus = evaluate(i, h)
        minus = evaluate(i, -h)
        if dout64 is None:
            if plus.ndim != 0:
                raise ValueError(
                    f"f returned an array of shape {plus.shape}; pass dout with that shape "
                    "to differentiate sum(f(x) * dout), or make f return a scalar"
                )
            grad.flat[i] = (plus - minus) / (2.0 * h)
        else:
            if plus.shape != dout64.shape:
                what = "a scalar" if plus.ndim == 0 else f"an array of shape {plus.shape}"
                raise ValueError(
                    f"dout must have the shape of f(x), got dout of shape {dout64.shape} "
                    f"but f returned {what}"
                )
            grad.flat[i] = np.sum((plus - minus) * dout64) / (2.0 * h)
    return grad


def rel_error(a: Any, b: Any) -> float:
    r"""Maximum elementwise relative error between ``a`` and ``b`` (CS231n).

    Parameters
    ----------
    a, b : numpy.ndarray or real number
        Arrays of the same shape (scalars are 0-d arrays).

    Returns
    -------
    float
        :math:`\max_i |a_i - b_i| / \max(10^{-8}, |a_i| + |b_i|)`, computed in
        float64; ``0.0`` for empty arrays; NaN if any entry is NaN.

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not numeric (complex included).
    ValueError
        If the shapes differ (no broadcasting: a shape mismatch in a gradient
        check is a bug to report, not to hide).

    Notes
    -----
    Rules of thumb for float64 gradient checks with ``h = 1e-5``: below
    ``1e-7`` the gradient is right; ``1e-4`` and above usually means a bug
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

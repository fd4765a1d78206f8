"""Argument checks for :mod:`dropout_lib`, in the spirit of scikit-learn's ``check_scalar``.

Public functions call them at their boundary; the per-minibatch cores do not.
A wrong *kind* of argument (a list for an array, a string for a number, a
``RandomState`` for a ``Generator``) raises :class:`TypeError`; a wrong *value*
(``p_drop`` outside ``[0, 1]``, an axis out of range, a shape mismatch, an
unknown ``mode``) raises :class:`ValueError`. Messages name the argument and
what was expected. Each check returns the normalised value, so callers write
``p_drop = check_p_drop(p_drop)``.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "FLOAT_DTYPES",
    "as_generator",
    "check_axes",
    "check_bool",
    "check_choice",
    "check_float_array",
    "check_int",
    "check_p_drop",
    "check_positive_real",
    "check_rng",
    "check_same_shape",
    "check_scalar",
    "check_shape",
    "describe",
]

#: The floating dtypes accepted for data and gradients.
FLOAT_DTYPES: tuple[np.dtype, ...] = (
    np.dtype(np.float16),
    np.dtype(np.float32),
    np.dtype(np.float64),
)


def describe(value: Any) -> str:
    """Short description of ``value`` for error messages.

    Numbers are shown by value (``1.5``, ``nan``), arrays by dtype, anything
    else by type name plus a short repr (``str ('0.5')``, ``NoneType``).
    """
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return f"bool ({value!r})"
    if isinstance(value, np.ndarray):
        return f"{type(value).__name__} of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, numbers.Real):
        return repr(float(value)) if isinstance(value, float) else repr(value)
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} ({text})"


def _is_real_number(value: Any) -> bool:
    """True for int/float/NumPy real scalars, False for bool and everything else."""
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, numbers.Real)


def check_p_drop(p_drop: Any, name: str = "p_drop") -> float:
    """A drop probability in ``[0, 1]`` (a real number, never bool), as a ``float``.

    Raises
    ------
    TypeError
        If ``p_drop`` is not a real number (bool, str, None, arrays, complex).
    ValueError
        If ``p_drop`` is NaN or outside ``[0, 1]``.
    """
    # The fast paths here and in check_shape/check_axes keep the public
    # dropout_forward fast on small arrays; see benchmarks/README.md.
    if type(p_drop) is not float and not _is_real_number(p_drop):  # fast path for float
        raise TypeError(f"{name} must be a real number in [0, 1], got {describe(p_drop)}")
    value = float(p_drop)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a real number in [0, 1], got {value!r}")
    return value


def check_positive_real(value: Any, name: str) -> float:
    """A finite real number > 0 (never bool), as a ``float``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is NaN, infinite, zero or negative.
    """
    if not _is_real_number(value):
        raise TypeError(f"{name} must be a positive finite real number, got {describe(value)}")
    out = float(value)
    if not (math.isfinite(out) and out > 0.0):
        raise ValueError(f"{name} must be a positive finite real number, got {out!r}")
    return out


def check_float_array(x: Any, name: str = "x") -> np.ndarray:
    """``x`` itself, if it is a NumPy array of dtype float16, float32 or float64.

    Nothing is converted: lists, scalars, integer arrays and ``np.matrix`` are
    a :class:`TypeError`, so a silent conversion cannot hide a bug.
    """
    if not isinstance(x, np.ndarray) or isinstance(x, np.matrix):
        hint = f"; pass np.asarray({name}, dtype=float)"
        raise TypeError(
            f"{name} must be a NumPy array of floating dtype (float16/32/64), "
            f"got {type(x).__name__}{hint}"
        )
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be a NumPy array of floating dtype (float16/32/64), got {x.dtype}"
        )
    return x


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """``rng`` itself, if it is a :class:`numpy.random.Generator`; else a TypeError.

    ``RandomState`` and seeds are refused: randomness comes from an explicit
    generator, so the same seed gives the same result on every machine.
    """
    if not isinstance(rng, np.random.Generator):
        got = "None" if rng is None else type(rng).__name__
        raise TypeError(
            f"{name} must be a numpy.random.Generator (e.g. np.random.default_rng(0)), got {got}"
        )
    return rng


def check_bool(value: Any, name: str, meaning: str = "") -> bool:
    """A ``bool`` or ``np.bool_``, as ``bool``; ``0``/``1`` are a TypeError.

    ``meaning``, e.g. ``"True for training, False for evaluation"``, is added
    to the message.
    """
    if not isinstance(value, (bool, np.bool_)):
        extra = f" ({meaning})" if meaning else ""
        raise TypeError(f"{name} must be a bool{extra}, got {describe(value)}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """``value`` if it is one of the strings ``choices``; else a ValueError (wrong type too)."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def _as_index(value: Any) -> int | None:
    """``operator.index(value)`` for non-bool integers, ``None`` otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def check_shape(shape: Any, name: str = "shape") -> tuple[int, ...]:
    """An int or tuple of non-negative ints (NumPy ints too, never bool), as a tuple of int.

    Raises
    ------
    TypeError
        If ``shape`` is neither an int nor a tuple of ints.
    ValueError
        If an entry is negative.
    """
    if type(shape) is tuple and all(type(s) is int and s >= 0 for s in shape):
        return shape  # fast path: already a tuple of non-negative Python ints
    single = _as_index(shape)
    if single is not None:
        entries: tuple[Any, ...] = (shape,)
    elif isinstance(shape, tuple):
        entries = shape
    else:
        raise TypeError(
            f"{name} must be an int or a tuple of non-negative ints, got {describe(shape)}"
        )
    out = []
    for entry in entries:
        size = _as_index(entry)
        if size is None:
            raise TypeError(
                f"{name} must be an int or a tuple of non-negative ints, "
                f"got {shape!r} (entry {describe(entry)})"
            )
        if size < 0:
            raise ValueError(f"{name} must contain non-negative ints, got {shape!r}")
        out.append(size)
    return tuple(out)


def check_axes(axes: Any, ndim: int, name: str = "shared_axes") -> tuple[int, ...]:
    """Axes of an ``ndim``-dimensional array, normalised to ``0..ndim-1`` and sorted.

    ``axes`` is an int or a tuple/list of ints; negative axes count from the end.

    Raises
    ------
    TypeError
        If ``axes`` is not an int or a tuple/list of ints.
    ValueError
        If an axis is out of range or repeated (also written two ways, as
        ``1`` and ``-3`` for ``ndim = 4``).
    """
    if type(axes) is tuple and not axes:
        return ()  # fast path: nothing shared
    single = _as_index(axes)
    if single is not None:
        entries: tuple[Any, ...] = (axes,)
    elif isinstance(axes, (tuple, list)):
        entries = tuple(axes)
    else:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {describe(axes)}")
    seen: dict[int, int] = {}
    for entry in entries:
        axis = _as_index(entry)
        if axis is None:
            raise TypeError(
                f"{name} must be an int or a tuple of ints, got {axes!r} (entry {describe(entry)})"
            )
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"{name} contains axis {axis}, which is out of range for an array with "
                f"ndim = {ndim} (valid axes are {-ndim}..{ndim - 1})"
                if ndim > 0
                else f"{name} contains axis {axis}, but the array has ndim = 0 (no axes)"
            )
        normalised = axis % ndim
        if normalised in seen:
            first = seen[normalised]
            how = f"as {first} and {axis}" if first != axis else f"{axis} twice"
            raise ValueError(
                f"{name} contains axis {normalised} more than once ({how}) for ndim = {ndim}"
            )
        seen[normalised] = axis
    return tuple(sorted(seen))


def check_same_shape(
    array: np.ndarray, expected: tuple[int, ...], name: str, expected_what: str
) -> None:
    """Raise ``ValueError`` unless ``array.shape == expected``.

    The message names ``name`` (e.g. ``"dout"``) and where ``expected`` comes
    from (``expected_what``, e.g. ``"the forward input x"``).
    """
    if array.shape != tuple(expected):
        raise ValueError(
            f"{name} must have the same shape as {expected_what}, {tuple(expected)}, "
            f"got {array.shape}"
        )


def check_int(value: Any, name: str, low: int | None = None,
              high: int | None = None) -> int:
    """An int (NumPy ints too, never bool) in ``[low, high]``, as a Python int.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it lies outside ``[low, high]``.
    """
    out = _as_index(value)
    if out is None:
        raise TypeError(f"{name} must be an int; got {describe(value)}")
    if (low is not None and out < low) or (high is not None and out > high):
        bounds = (f">= {low}" if high is None else f"<= {high}" if low is None
                  else f"in {low}..{high}")
        raise ValueError(f"{name} must be an int {bounds}; got {out}")
    return out


def check_scalar(value: Any, name: str, *, low: float | None = None,
                 high: float | None = None, low_open: bool = False,
                 high_open: bool = False) -> float:
    """A finite real number (never bool) within the given bounds, as a float.

    ``low_open``/``high_open`` exclude the bound itself; ``high=math.inf``
    with ``high_open=True`` writes the range as ``(low, inf)`` in messages.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN, infinite or out of bounds.
    """
    if not _is_real_number(value):
        raise TypeError(f"{name} must be a real number; got {describe(value)}")
    out = float(value)
    ok = math.isfinite(out)
    if low is not None:
        ok = ok and (out > low if low_open else out >= low)
    if high is not None:
        ok = ok and (out < high if high_open else out <= high)
    if not ok:
        if low is not None and high is not None:
            where = (f" in {'(' if low_open else '['}{float(low)!r}, "
                     f"{float(high)!r}{')' if high_open else ']'}")
        elif low is not None:
            where = f" {'>' if low_open else '>='} {float(low)!r}"
        elif high is not None:
            where = f" {'<' if high_open else '<='} {float(high)!r}"
        else:
            where = ""
        raise ValueError(f"{name} must be a finite number{where}; got {value!r}")
    return out


def as_generator(seed: Any = None, rng: Any = None, *,
                 name: str = "seed") -> np.random.Generator:
    """``rng`` itself, or a new Generator from ``seed``: exactly one is given.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence, optional
    rng : numpy.random.Generator, optional
    name : str
        Name of the seed argument in messages.

    Raises
    ------
    TypeError
        If neither or both are given, or either has the wrong type.
    """
    if rng is not None and seed is not None:
        raise TypeError(f"give either {name} or rng, not both")
    if rng is not None:
        return check_rng(rng)
    if seed is None:
        raise TypeError(f"a {name} (int) or rng (numpy.random.Generator) is "
                        "required; the global NumPy random state is never used")
    if not isinstance(seed, np.random.SeedSequence) and _as_index(seed) is None:
        raise TypeError(f"{name} must be an int or numpy.random.SeedSequence; "
                        f"got {type(seed).__name__}")
    return np.random.default_rng(seed)

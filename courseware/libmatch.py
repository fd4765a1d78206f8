"""Whether a student's answers are the library's own: the same bits on the hidden inputs.

An exercise asks the student to write a function that ``dropout_lib`` also has (a mask,
dropout's forward pass, DropPath...). Calling the library passes every check, however the
call is disguised (``import_module("drop" + "out_lib")``), so the grader compares
results instead of reading code: after a function has passed its check on hidden inputs,
:func:`matches_library` calls the library's candidates, *in the grader*, on the same
arguments as every call of the check that drew random numbers (the generator in the
state it had before the call), and if one of them gives bit for bit the same results
on all of them, the exercise scores 0 with "matches dropout_lib.<name>".

Only calls that draw random numbers count: a deterministic answer (a variance, a list
of probabilities) has one right value, which an honest student computes too. And a
random answer equals the library's bit for bit only if it draws the same numbers in
the same way: the library compares 16-bit integers with a rounded threshold
(``dropout_lib.masks``), which a student's ``rng.random(shape) < 1 - p_drop`` does not.
``tests/courseware/test_libmatch.py`` checks that the book's own solutions never match.
"""
from __future__ import annotations

import copy
import importlib
from typing import Any

import numpy as np

__all__ = ["CANDIDATES", "matches_library"]

#: The library functions an answer is compared with (besides any of the library's
#: functions with the student's function's name).
CANDIDATES = ("dropout_lib.masks.bernoulli_mask", "dropout_lib.layers.dropout_forward",
              "dropout_lib.layers.drop_path_forward", "dropout_lib.noise.gaussian_dropout_forward")
_MODULES = ("dropout_lib", "dropout_lib.masks", "dropout_lib.layers", "dropout_lib.noise",
            "dropout_lib.analysis.coadaptation", "dropout_lib.analysis.ensembles",
            "dropout_lib.dropblock", "dropout_lib.rnn", "dropout_lib.alpha")
_MAX_CALLS = 12


def _resolve(path: str) -> Any:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _candidates(name: str) -> dict[str, Any]:
    found = {}
    for path in (*CANDIDATES, *(f"{m}.{name}" for m in _MODULES)):
        fn = _resolve(path)
        if callable(fn) and fn not in found.values():
            found[path.replace("dropout_lib.masks.", "dropout_lib.")
                  .replace("dropout_lib.layers.", "dropout_lib.")
                  .replace("dropout_lib.noise.", "dropout_lib.")] = fn
    return found


def _draws(args: tuple, kwargs: dict) -> bool:
    return any(isinstance(a, np.random.Generator) for a in (*args, *kwargs.values()))


def _arrays(value: Any) -> list[np.ndarray] | None:
    """The arrays (and numbers) of a result, in order; None for anything else."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (float, np.floating)):
        return [np.asarray(value)]
    if isinstance(value, (tuple, list)):
        out = []
        for v in value:
            if isinstance(v, (np.ndarray, float, np.floating)):
                out.append(np.asarray(v))
        return out or None
    return None


def _same(mine: Any, theirs: Any) -> bool:
    a, b = _arrays(mine), _arrays(theirs)
    if not a or not b or len(a) != len(b):
        return False
    return all(x.shape == y.shape and x.dtype == y.dtype
               and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc") for x, y in zip(a, b))


def matches_library(name: str, record: list[tuple[tuple, dict, Any]]) -> str | None:
    """``"dropout_lib.<name>"`` if that library function gives, on every call of
    ``record`` that drew random numbers (``(args before the call, kwargs, result)``),
    bit for bit the student's results; None otherwise (or if no call drew)."""
    calls = [c for c in record if _draws(c[0], c[1])][:_MAX_CALLS]
    if not calls:
        return None
    for path, fn in _candidates(name).items():
        try:
            if all(_same(result, fn(*copy.deepcopy(args), **copy.deepcopy(kwargs)))
                   for args, kwargs, result in calls):
                return path
        except Exception:  # noqa: BLE001 - another signature: not this function
            continue
    return None

"""What every chapter's check module shares: stopping at the first problem, turning it
into a :class:`CheckResult`, and describing an error raised by the learner's code."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import CheckResult


class Problem(Exception):
    """Raised inside a check to stop at the first problem (never escapes a check)."""


def run_steps(exercise: str, steps: Callable[[list[str]], None]) -> CheckResult:
    """Run a check's ``steps(verified)``; a :class:`Problem` makes the result a failure.

    ``steps`` appends a line to ``verified`` for every property it confirmed, and raises
    :class:`Problem` with a message for the learner at the first one that fails.
    """
    verified: list[str] = []
    try:
        steps(verified)
    except Problem as problem:
        return CheckResult(exercise, False, (str(problem),))
    return CheckResult(exercise, True, tuple(verified))


def same_global_state(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two ``np.random.get_state()`` results are the same state (the learner's
    code did not draw from NumPy's global generator in between)."""
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and tuple(a[2:]) == tuple(b[2:])


def describe_error(call: str, err: Exception) -> str:
    """``"<call> raised ValueError: <first line of the message>"``."""
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{call} raised {type(err).__name__}{': ' + text if text else ''}"

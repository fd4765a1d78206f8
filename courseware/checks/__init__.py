"""Exercise checks: say whether a learner's function is right, and if not, what is wrong.

Every chapter with coding exercises has a module here (``courseware.checks.masks`` for
``book/01_masks.ipynb``, ...) whose ``check_<name>(fn)`` functions call the learner's
function on fixed, seeded inputs and return a :class:`CheckResult`. They never raise on a
learner's mistake (an exception inside the learner's function is caught and reported), and
their output is deterministic, so a notebook can store it and nbval can compare it.

Typical use in a notebook's check cell::

    from courseware.checks import report
    from courseware.checks.masks import check_draw_mask
    report(check_draw_mask(draw_mask))
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

__all__ = ["CheckResult", "report"]

#: When this environment variable names a file, :func:`report` also appends each result to
#: it as one JSON line. ``python -m courseware.grade`` sets it for the kernel that runs a
#: student's notebook, so the grader reads the verdicts instead of parsing printed text.
GRADE_LOG_ENV = "DROPOUT_LIB_GRADE_LOG"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one exercise.

    Attributes
    ----------
    exercise : str
        What was checked, usually the name of the learner's function (``"draw_mask"``).
    passed : bool
        True when every check passed.
    messages : tuple of str
        If ``passed``: what was verified, one item per check. Otherwise: what is wrong,
        most important first, each saying what was expected and, where possible, why.
    """

    exercise: str
    passed: bool
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return _format(self)


def _format(result: CheckResult) -> str:
    if result.passed:
        n = len(result.messages)
        return f"✓ {result.exercise}: {n} of {n} checks passed"
    first = result.messages[0] if result.messages else "failed"
    lines = [f"✗ {result.exercise}: {first}"]
    if len(result.messages) > 1:
        lines.append(f"  ({len(result.messages) - 1} more problem(s); fix this one first)")
    return "\n".join(lines)


def report(result: CheckResult) -> None:
    """Print a one-line verdict: ``✓ <exercise>: k of k checks passed`` or ``✗ <exercise>: <problem>``.

    Parameters
    ----------
    result : CheckResult
        What a ``check_...`` function returned.

    Notes
    -----
    The text is deterministic (no timings, no tracebacks), so notebooks can store it.
    If the environment variable ``DROPOUT_LIB_GRADE_LOG`` names a file, the result is also
    appended to it as one JSON line (``{"exercise", "passed", "messages"}``) for the grader;
    nothing else changes, and a file that cannot be written is ignored.
    """
    if not isinstance(result, CheckResult):
        raise TypeError(f"report() expects the CheckResult returned by a check function, "
                        f"got {type(result).__name__}")
    print(_format(result))
    _log(result)


def _log(result: CheckResult) -> None:
    path = os.environ.get(GRADE_LOG_ENV)
    if not path:
        return
    line = json.dumps({"exercise": str(result.exercise), "passed": bool(result.passed),
                       "messages": [str(m) for m in result.messages]}, ensure_ascii=False)
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")
    except OSError:
        pass  # grading must never break a learner's notebook

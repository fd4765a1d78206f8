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

from dataclasses import dataclass

__all__ = ["CheckResult", "report"]

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
    The grader never reads it: it judges the learner's functions outside the kernel
    (:mod:`courseware.judge`).
    """
    if not isinstance(result, CheckResult):
        raise TypeError(f"report() expects the CheckResult returned by a check function, "
                        f"got {type(result).__name__}")
    print(_format(result))

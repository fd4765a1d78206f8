"""Checks for the exercises of ``book/01_masks.ipynb`` (dropout masks).

- :func:`check_draw_mask`: ``draw_mask(shape, p_drop, rng)``, an element-wise keep-mask.
- :func:`check_channel_mask`: ``channel_mask(shape, p_drop, rng)``, one keep/drop decision
  per (example, channel) of an ``(N, C, H, W)`` feature map.

Each check calls the learner's function on fixed shapes with fixed seeds, stops at the
first problem, and returns a :class:`~courseware.checks.CheckResult` whose message says
what is wrong and how to fix it. Statistical checks use a 5-sigma binomial tolerance, so a
correct function fails them with probability below one in a million; because the seeds
are fixed, the verdict for a given function never changes between runs.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import CheckResult
from ._support import (
    Problem as _Problem,
    run_steps as _run,
    same_global_state as _same_state,
)

__all__ = ["check_channel_mask", "check_draw_mask"]

_SEED = 2014
_OTHER_SEED = 1207  # arXiv 1207.0580, Hinton et al. (2012)


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return str(tuple(int(s) for s in shape))


def _global_state() -> tuple[Any, ...]:
    return np.random.get_state()


def _call(fn: Callable, name: str, shape: tuple[int, ...], p_drop: float, seed: int):
    """Call ``fn(shape, p_drop, default_rng(seed))``; return (mask, used_global_rng).

    Exceptions raised by ``fn`` become a :class:`_Problem` with a readable message. NumPy's
    global random state is restored afterwards, so a check never changes it.
    """
    before = _global_state()
    try:
        out = fn(shape, p_drop, np.random.default_rng(seed))
    except NotImplementedError:
        raise _Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001 - any error in the learner's code is reported
        text = str(err).splitlines()[0] if str(err) else ""
        raise _Problem(
            f"{name}({_fmt_shape(shape)}, p_drop={p_drop}, rng) raised "
            f"{type(err).__name__}{': ' + text if text else ''}"
        ) from None
    finally:
        after = _global_state()
        np.random.set_state(before)
    used_global = not _same_state(before, after)
    if out is None:
        raise _Problem(f"{name} returned None: did you forget the `return` statement?")
    if not isinstance(out, np.ndarray):
        raise _Problem(
            f"{name} returned a {type(out).__name__}; return a NumPy array "
            "(e.g. the result of rng.random(shape) < 1 - p_drop)"
        )
    return out, used_global


def _check_dtype(mask: np.ndarray) -> None:
    if mask.dtype == bool:
        return
    values = np.unique(mask) if mask.size else np.array([])
    if np.all(np.isin(values, (0, 1))):
        raise _Problem(
            f"your mask has dtype {mask.dtype}; a mask should be boolean (True = keep): "
            "return the comparison itself, e.g. rng.random(shape) < 1 - p_drop, "
            "without .astype(...) or multiplying by a number"
        )
    raise _Problem(
        f"your mask has dtype {mask.dtype} and values other than 0 and 1 (e.g. "
        f"{float(values[values != 0][0]) if np.any(values != 0) else float(values[0]):.3g}); "
        "return only the boolean keep-mask, not the rescaled activations"
    )


def _check_kept_fraction(mask: np.ndarray, p_drop: float, what: str = "units") -> str:
    keep = 1.0 - p_drop
    n = mask.size
    frac = float(np.count_nonzero(mask)) / n
    tol = 5.0 * math.sqrt(keep * (1.0 - keep) / n)
    if abs(frac - keep) <= tol:
        return f"{frac:.1%}"
    msg = (
        f"with p_drop = {p_drop} your mask keeps {frac:.0%} of {what}, expected about "
        f"{keep:.0%} (keep probability = 1 - p_drop = {keep:.2g})"
    )
    if abs(frac - p_drop) <= tol:
        msg += (
            ": did you keep where u < p_drop instead of u < 1 - p_drop? "
            "p_drop is the probability of DROPPING a unit"
        )
    elif abs(frac - 0.5) <= tol:
        msg += ": your mask keeps half the units whatever p_drop is; is p_drop used at all?"
    raise _Problem(msg)


def _check_reproducible(fn: Callable, name: str, shape, p_drop, first: np.ndarray,
                        used_global: bool, seeds: tuple[int, int] = (_SEED, _OTHER_SEED)) -> None:
    if used_global:
        raise _Problem(
            f"{name} used NumPy's global random state (np.random.rand, np.random.random, "
            "np.random.binomial, ...); draw from the rng argument instead, e.g. "
            "rng.random(shape), so that a seed fixes the mask on every machine"
        )
    again, _ = _call(fn, name, shape, p_drop, seeds[0])
    if again.shape != first.shape or not np.array_equal(again, first):
        raise _Problem(
            "the same rng seed gave different masks: are you using np.random (or another "
            "random source) instead of the rng argument?"
        )
    other, _ = _call(fn, name, shape, p_drop, seeds[1])
    if other.shape == first.shape and np.array_equal(other, first):
        raise _Problem(
            "two different rng seeds gave the same mask: does your function make its own "
            "generator (e.g. np.random.default_rng(0)) instead of using the rng argument?"
        )


def _check_edge_cases(fn: Callable, name: str, shape: tuple[int, ...], seed: int = _SEED) -> None:
    none_dropped, _ = _call(fn, name, shape, 0.0, seed)
    if not np.all(none_dropped):
        dropped = int(np.size(none_dropped) - np.count_nonzero(none_dropped))
        raise _Problem(
            f"with p_drop = 0 nothing may be dropped, but your mask drops {dropped} of "
            f"{np.size(none_dropped)} units: keep where u < 1 - p_drop (strictly less), "
            "with u uniform on [0, 1)"
        )
    all_dropped, _ = _call(fn, name, shape, 1.0, seed)
    if np.any(all_dropped):
        kept = int(np.count_nonzero(all_dropped))
        raise _Problem(
            f"with p_drop = 1 every unit must be dropped, but your mask keeps {kept} of "
            f"{np.size(all_dropped)}: keep where u < 1 - p_drop, with u uniform on [0, 1)"
        )


# --------------------------------------------------------------------------- draw_mask


def check_draw_mask(draw_mask: Callable, *, seeds: tuple[int, int] = (_SEED, _OTHER_SEED),
                    shape: tuple[int, int] = (200, 500), wide: tuple[int, int] = (100, 1000),
                    edge: tuple[int, ...] = (50, 40),
                    others: tuple[tuple[int, ...], ...] = ((7,), (2, 3, 4))) -> CheckResult:
    """Check ``draw_mask(shape, p_drop, rng)``: a boolean keep-mask of shape ``shape``.

    Verified, in order (the first failure is reported):

    1. it returns a NumPy array of exactly ``shape`` (not one row shared by the batch);
       the array is boolean (True = keep), not 0/1 floats or rescaled activations;
    2. every example and every unit gets its own decision (no identical rows or columns);
    3. it keeps about ``1 - p_drop`` of the units for ``p_drop`` of 0.2 and 0.7
       (5-sigma binomial tolerance), i.e. the rule is not backwards;
    4. it draws from the ``rng`` argument: NumPy's global random state is untouched, the
       same seed gives the same mask, another seed another mask;
    5. ``p_drop = 0`` keeps everything, ``p_drop = 1`` drops everything, and 1-D and 3-D
       shapes work.

    Parameters
    ----------
    draw_mask : callable
        The learner's function.
    seeds, shape, wide, edge, others
        The inputs: two seeds, the main shape, the shape checked with p_drop = 0.7, the
        shape of the edge cases, and further shapes. The defaults are the visible check;
        the grader (:mod:`courseware.judge`) draws hidden ones at grading time.

    Returns
    -------
    CheckResult
        Never raises because of a mistake in ``draw_mask``.
    """
    name = "draw_mask"

    def steps(verified: list[str]) -> None:
        if not callable(draw_mask):
            raise _Problem(f"expected a function, got a {type(draw_mask).__name__}")
        main = tuple(shape)
        mask, used_global = _call(draw_mask, name, main, 0.2, seeds[0])
        if mask.shape != main:
            msg = (f"your mask has shape {_fmt_shape(mask.shape)} but the activations have "
                   f"shape {_fmt_shape(main)}")
            try:
                np.broadcast_shapes(mask.shape, main)
                if mask.size < math.prod(main):
                    msg += (": a mask that broadcasts is shared along its size-1 axes; "
                            "dropout needs one independent decision per example and unit, "
                            "so draw rng.random(shape)")
            except ValueError:
                msg += ": draw one random number per activation, rng.random(shape)"
            raise _Problem(msg)
        _check_dtype(mask)
        verified.append("returns a boolean array with the activations' shape")

        if np.all(mask == mask[:1, :]):
            raise _Problem(
                "every example (row) got the same mask: dropout draws an independent "
                "keep/drop decision for every example and unit; one mask shared by the "
                "batch trains a single subnetwork per step"
            )
        if np.all(mask == mask[:, :1]):
            raise _Problem(
                "each example keeps or drops all of its units together (every row is "
                "constant): draw one decision per unit, rng.random(shape), not per example"
            )
        distinct_rows = len({row.tobytes() for row in mask})
        if distinct_rows < main[0]:
            raise _Problem(
                f"only {distinct_rows} of {main[0]} examples got distinct masks; with "
                f"{main[1]} independent units two identical rows are practically "
                "impossible: are masks reused between examples?"
            )
        verified.append("draws an independent decision for every example and unit")

        _check_kept_fraction(mask, 0.2)
        wide_ = tuple(wide)
        mask07, _ = _call(draw_mask, name, wide_, 0.7, seeds[0])
        if mask07.shape != wide_:
            raise _Problem(f"for shape {_fmt_shape(wide_)} your mask has shape "
                           f"{_fmt_shape(mask07.shape)}")
        _check_dtype(mask07)
        _check_kept_fraction(mask07, 0.7)
        verified.append("keeps a fraction 1 - p_drop of the units (p_drop = 0.2 and 0.7)")

        _check_reproducible(draw_mask, name, main, 0.2, mask, used_global, seeds)
        verified.append("draws from the rng argument: same seed, same mask; other seed, other mask")

        _check_edge_cases(draw_mask, name, tuple(edge), seeds[0])
        for other_shape in others:
            other_shape = tuple(other_shape)
            out, _ = _call(draw_mask, name, other_shape, 0.5, seeds[0])
            if out.shape != other_shape:
                raise _Problem(
                    f"for shape {_fmt_shape(other_shape)} your mask has shape "
                    f"{_fmt_shape(out.shape)}: accept any shape tuple and pass it on, "
                    "rng.random(shape)"
                )
        verified.append("p_drop = 0 keeps all, p_drop = 1 drops all; works for 1-D and 3-D shapes")

    return _run(name, steps)


# --------------------------------------------------------------------------- channel_mask


def check_channel_mask(channel_mask: Callable, *,
                       seeds: tuple[int, int] = (_SEED, _OTHER_SEED),
                       shape: tuple[int, int, int, int] = (400, 250, 3, 5),
                       edge: tuple[int, int, int, int] = (4, 6, 2, 2)) -> CheckResult:
    """Check ``channel_mask(shape, p_drop, rng)`` for feature maps of shape ``(N, C, H, W)``.

    The expected result is a boolean mask of shape ``(N, C, 1, 1)``: one keep/drop
    decision per example and channel, shared by all ``H x W`` positions of that channel
    (what ``bernoulli_mask(shape, p_drop, rng, shared_axes=(2, 3))`` returns). Verified:
    the shape (with a specific message for element-wise masks and for full-size masks
    that are constant per map), the dtype, the kept fraction, the use of ``rng``,
    independence across examples and channels, and ``p_drop`` of 0 and 1.

    Parameters
    ----------
    channel_mask : callable
        The learner's function.
    seeds, shape, edge
        Two seeds, the feature maps' shape and the shape of the edge cases. The defaults
        are the visible check; the grader draws hidden ones at grading time.

    Returns
    -------
    CheckResult
        Never raises because of a mistake in ``channel_mask``.
    """
    name = "channel_mask"

    def steps(verified: list[str]) -> None:
        if not callable(channel_mask):
            raise _Problem(f"expected a function, got a {type(channel_mask).__name__}")
        shape_ = tuple(shape)
        expected = (shape_[0], shape_[1], 1, 1)
        mask, used_global = _call(channel_mask, name, shape_, 0.3, seeds[0])
        if mask.shape != expected:
            msg = (f"your mask has shape {_fmt_shape(mask.shape)}; for feature maps of shape "
                   f"{_fmt_shape(shape_)} a channel mask has shape {_fmt_shape(expected)}")
            if mask.shape == shape_:
                constant = bool(np.all(mask == mask[:, :, :1, :1]))
                if constant:
                    msg += (": yours is constant over each H x W map, which is right, but "
                            "draw only one value per (example, channel) and let "
                            "broadcasting share it")
                else:
                    msg += (": yours varies within a feature map, which is element-wise "
                            "dropout; channel dropout keeps or drops the whole H x W map")
            elif mask.shape == shape_[:2]:
                msg += ": keep the two size-1 axes so the mask broadcasts against (N, C, H, W)"
            elif mask.shape in ((1, shape_[1], 1, 1), (shape_[1],)):
                msg += (": yours is shared by every example in the batch; draw one decision "
                        "per example and channel")
            raise _Problem(msg)
        _check_dtype(mask)
        verified.append("returns a boolean (N, C, 1, 1) mask that broadcasts against (N, C, H, W)")

        flat = mask[:, :, 0, 0]
        if np.all(flat == flat[:1, :]):
            raise _Problem(
                "every example got the same channel mask: draw one decision per example "
                "AND channel, i.e. a mask of shape (N, C, 1, 1)"
            )
        if np.all(flat == flat[:, :1]):
            raise _Problem(
                "each example keeps or drops all of its channels together: draw one "
                "decision per channel, not per example"
            )
        verified.append("draws an independent decision for every example and channel")

        _check_kept_fraction(mask, 0.3, what="channels")
        verified.append("keeps a fraction 1 - p_drop of the channels")

        _check_reproducible(channel_mask, name, shape_, 0.3, mask, used_global, seeds)
        verified.append("draws from the rng argument: same seed, same mask; other seed, other mask")

        _check_edge_cases(channel_mask, name, tuple(edge), seeds[0])
        verified.append("p_drop = 0 keeps every channel, p_drop = 1 drops every channel")

    return _run(name, steps)

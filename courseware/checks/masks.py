"""Checks for the exercises of ``book/01_masks.ipynb`` (dropout masks).

- :func:`check_draw_mask`: ``draw_mask(shape, p_drop, rng)``, an element-wise keep-mask.
- :func:`check_dropconnect`: ``dropconnect(x, W, p_drop, rng)``, a linear layer with a
  fresh weight mask per example (DropConnect).

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

__all__ = ["check_draw_mask", "check_dropconnect"]

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


# --------------------------------------------------------------------------- dropconnect


def _signed_weights(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Weights of magnitude 0.5 to 1.5 with random signs: none is near 0."""
    r = np.random.default_rng(seed)
    return r.uniform(0.5, 1.5, size=shape) * r.choice((-1.0, 1.0), size=shape)


def _call_layer(fn: Callable, name: str, x: np.ndarray, w: np.ndarray, p_drop: float,
                seed: int) -> tuple[np.ndarray, bool]:
    """``fn(x, W, p_drop, default_rng(seed))`` as a float array of shape ``(N, D_out)``,
    and whether it drew from NumPy's global random state."""
    before, x_before, w_before = _global_state(), x.copy(), w.copy()
    try:
        out = fn(x, w, p_drop, np.random.default_rng(seed))
    except NotImplementedError:
        raise _Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001 - any error in the learner's code is reported
        text = str(err).splitlines()[0] if str(err) else ""
        raise _Problem(
            f"{name}(x of shape {_fmt_shape(x.shape)}, W of shape {_fmt_shape(w.shape)}, "
            f"p_drop={p_drop}, rng) raised {type(err).__name__}{': ' + text if text else ''}"
        ) from None
    finally:
        after = _global_state()
        np.random.set_state(before)
    if not np.array_equal(x, x_before):
        raise _Problem(f"{name} changed its input x in place; leave x alone and return a "
                       "new array")
    if not np.array_equal(w, w_before):
        raise _Problem(f"{name} changed the weights W in place (W *= mask?): the mask of one "
                       "step must not stay in the weights; multiply a copy, W * mask")
    if out is None:
        raise _Problem(f"{name} returned None: did you forget the `return` statement?")
    if not isinstance(out, np.ndarray):
        raise _Problem(f"{name} returned a {type(out).__name__}; return a NumPy array of "
                       "shape (N, D_out)")
    want = (x.shape[0], w.shape[1])
    if out.shape != want:
        msg = (f"{name} returned shape {_fmt_shape(out.shape)}; the layer's output has shape "
               f"(N, D_out) = {_fmt_shape(want)}")
        if out.shape in ((x.shape[0], *w.shape), w.shape):
            msg += ": return the output x[n] @ (W * M[n]) / (1 - p_drop), not the masked weights"
        elif out.shape == x.shape:
            msg += ": return the layer's output, not the masked input"
        elif out.shape == (x.shape[0], x.shape[0], w.shape[1]):
            msg += (": x @ (W * M) with one mask per example multiplies every example by "
                    "every example's mask; example n needs x[n] @ (W * M[n]) only")
        raise _Problem(msg)
    try:
        out = out.astype(np.float64)
    except (TypeError, ValueError):
        raise _Problem(f"{name} returned an array of dtype {out.dtype}; return numbers") from None
    return out, not _same_state(before, after)


def check_dropconnect(dropconnect: Callable, *,
                      seeds: tuple[int, int] = (_SEED, _OTHER_SEED), p_drop: float = 0.3,
                      dims: tuple[int, int] = (6, 8), repeats: int = 100,
                      dense: int = 400) -> CheckResult:
    """Check ``dropconnect(x, W, p_drop, rng)``: a linear layer with a fresh weight mask
    per example, ``out[n] = x[n] @ (W * M[n]) / (1 - p_drop)``.

    Verified, in order (the first failure is reported):

    1. the output has shape ``(N, D_out)``; ``x`` and ``W`` are left unchanged;
    2. on one-hot inputs, which read the mask off the output: every kept connection is
       scaled by ``1 / (1 - p_drop)``; each connection (entry of ``W``) is decided on its
       own, not each input unit (dropout on ``x``); two examples with the same input get
       different masks (a fresh mask per example, not per batch); a fraction
       ``1 - p_drop`` of the connections is kept (5-sigma binomial tolerance);
    3. on dense inputs: the output is not a masked ``x @ W`` (dropout on the output), and
       its mean is ``x @ W`` (5 sigma);
    4. it draws from ``rng`` only; ``p_drop = 0`` gives ``x @ W``.

    Parameters
    ----------
    dropconnect : callable
        The learner's function.
    seeds, p_drop, dims, repeats, dense
        The inputs: two seeds, the drop probability (keep it away from 0.5, where a
        backwards rule keeps the right fraction), ``(D_in, D_out)``, how many times each
        one-hot input appears, and the number of dense examples. The defaults are the
        visible check; the grader (:mod:`courseware.judge`) draws hidden ones.

    Returns
    -------
    CheckResult
        Never raises because of a mistake in ``dropconnect``.
    """
    name = "dropconnect"

    def steps(verified: list[str]) -> None:
        if not callable(dropconnect):
            raise _Problem(f"expected a function, got a {type(dropconnect).__name__}")
        d_in, d_out = (int(d) for d in dims)
        q = 1.0 - p_drop
        w = _signed_weights((d_in, d_out), seeds[0] % 2**32 + 1)
        which = np.tile(np.arange(d_in), int(repeats))          # example n sees input which[n]
        onehot = np.eye(d_in)[which]
        out, used_global = _call_layer(dropconnect, name, onehot, w, p_drop, seeds[0])
        verified.append("returns the layer's output, shape (N, D_out); leaves x and W alone")

        ratio = out / w[which]                                   # 0 (dropped) or 1/q (kept)
        kept = np.isclose(ratio, 1.0 / q)
        dropped = np.isclose(ratio, 0.0)
        if not np.all(kept | dropped):
            odd = ratio[~(kept | dropped)]
            if np.all(np.isclose(odd, 1.0)):
                raise _Problem(
                    "kept connections must be scaled by 1 / (1 - p_drop), so that the "
                    "output's expectation is x @ W; yours keep their weight unchanged")
            if np.all(np.isclose(odd, q)):
                raise _Problem(
                    "kept connections are multiplied by 1 - p_drop; divide by it instead, "
                    "so that the output's expectation is x @ W")
            if np.all(np.isclose(odd, 1.0 / p_drop)):
                raise _Problem("kept connections are divided by p_drop; divide by the keep "
                               "probability 1 - p_drop")
            raise _Problem(
                "for a one-hot input x[n] = e_i, out[n, j] must be 0 (connection dropped) or "
                f"W[i, j] / (1 - p_drop) (kept); yours is {float(odd.flat[0]):.3g} times "
                "W[i, j] somewhere: compute x[n] @ (W * M[n]) / (1 - p_drop)")
        verified.append("kept connections are scaled by 1 / (1 - p_drop)")

        if np.all(kept == kept[:, :1]):
            raise _Problem(
                "each input unit's connections are all kept or all dropped together: that "
                "is dropout on the layer's input x; DropConnect decides every connection "
                "(every entry of W) on its own, with a mask of W's shape")
        pairs = kept.reshape(int(repeats), d_in, d_out)          # same input, other example
        if np.all(pairs == pairs[:1]):
            raise _Problem(
                "every example got the same weight mask (examples with the same input give "
                "the same output): draw a fresh mask of W's shape for every example, "
                "N x D_in x D_out decisions")
        verified.append("decides every connection on its own, with a fresh mask per example")
        _check_kept_fraction(kept, p_drop, what="connections")
        verified.append("keeps a fraction 1 - p_drop of the connections")

        xd = np.random.default_rng(seeds[1] % 2**32 + 7).uniform(0.5, 1.5, size=(dense, d_in))
        out_d, used_d = _call_layer(dropconnect, name, xd, w, p_drop, seeds[0])
        full = xd @ w
        r = out_d / full
        if np.mean(np.isclose(r, 0.0) | np.isclose(r, 1.0 / q)) > 0.9:
            raise _Problem(
                "on dense inputs every output is 0 or (x @ W) / (1 - p_drop): that is "
                "dropout on the layer's output; mask the weights, then multiply")
        spread = math.sqrt(float(np.sum((xd**2) @ (w**2))) * p_drop / q)
        gap = float(np.sum(out_d - full))
        if spread > 0 and abs(gap) > 5 * spread:
            raise _Problem(
                f"on dense inputs the output's mean is off: it sums to {np.sum(out_d):.4g} "
                f"over the batch, x @ W to {np.sum(full):.4g} (5-sigma tolerance "
                f"{5 * spread:.3g}); out[n] = x[n] @ (W * M[n]) / (1 - p_drop)")
        verified.append("the output's mean is x @ W on dense inputs")

        if used_global or used_d:
            raise _Problem(
                f"{name} used NumPy's global random state (np.random.rand, "
                "np.random.random, ...); draw from the rng argument instead")
        again, _ = _call_layer(dropconnect, name, onehot, w, p_drop, seeds[0])
        if not np.allclose(again, out):
            raise _Problem("the same rng seed gave different outputs: are you using "
                           "np.random (or another random source) instead of the rng argument?")
        other, _ = _call_layer(dropconnect, name, onehot, w, p_drop, seeds[1])
        if np.allclose(other, out):
            raise _Problem("two different rng seeds gave the same output: does your function "
                           "make its own generator instead of using the rng argument?")
        none, _ = _call_layer(dropconnect, name, xd, w, 0.0, seeds[0])
        if not np.allclose(none, full):
            raise _Problem("with p_drop = 0 nothing is dropped and the output must be x @ W")
        verified.append("draws from the rng argument; p_drop = 0 gives x @ W")

    return _run(name, steps)

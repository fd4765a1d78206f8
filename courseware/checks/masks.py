"""Checks for the exercises of ``book/01_masks.ipynb`` (dropout masks).

- :func:`check_draw_mask`: ``draw_mask(shape, p_drop, rng, shared_axes=())``, a keep-mask
  shared along the given axes (size 1 there), as ``dropout_lib.bernoulli_mask`` draws it.
- :func:`check_dropconnect`: ``dropconnect(x, W, p_drop, rng)``, a linear layer with a
  fresh weight mask per example (DropConnect).

Each check calls the learner's function on fixed shapes with fixed seeds, stops at the
first problem, and returns a :class:`~courseware.checks.CheckResult` whose message says
what is wrong (never the code that fixes it). Statistical checks use a 5-sigma binomial tolerance, so a
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


def _fmt_axes(axes) -> str:
    axes = sorted(int(a) for a in axes)
    if len(axes) == 1:
        return f"axis {axes[0]}"
    return "axes " + " and ".join(str(a) for a in axes)


def _call(fn: Callable, name: str, shape: tuple[int, ...], p_drop: float, seed: int,
          shared_axes: tuple[int, ...] = ()):
    """Call ``fn(shape, p_drop, default_rng(seed), shared_axes=...)``; return (mask,
    used_global_rng).

    Exceptions raised by ``fn`` become a :class:`_Problem` with a readable message. NumPy's
    global random state is restored afterwards, so a check never changes it.
    """
    before = _global_state()
    try:
        out = fn(shape, p_drop, np.random.default_rng(seed), shared_axes=shared_axes)
    except NotImplementedError:
        raise _Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001 - any error in the learner's code is reported
        text = str(err).splitlines()[0] if str(err) else ""
        msg = (f"{name}({_fmt_shape(shape)}, p_drop={p_drop}, rng, "
               f"shared_axes={tuple(shared_axes)}) raised "
               f"{type(err).__name__}{': ' + text if text else ''}")
        if isinstance(err, TypeError) and "item assignment" in text:
            msg += ("; the shape you were given is a tuple and must stay as it is: "
                    "build a new shape for the mask")
        elif isinstance(err, TypeError) and "shared_axes" in text:
            msg += "; your function must accept the argument shared_axes (default ())"
        raise _Problem(msg) from None
    finally:
        after = _global_state()
        np.random.set_state(before)
    used_global = not _same_state(before, after)
    if out is None:
        raise _Problem(f"{name} returned None: did you forget the `return` statement?")
    if not isinstance(out, np.ndarray):
        raise _Problem(f"{name} returned a {type(out).__name__}; return a boolean NumPy array")
    return out, used_global


def _check_dtype(mask: np.ndarray) -> None:
    if mask.dtype == bool:
        return
    values = np.unique(mask) if mask.size else np.array([])
    if np.all(np.isin(values, (0, 1))):
        raise _Problem(
            f"your mask has dtype {mask.dtype}; a mask should be boolean (True = keep), "
            "as the comparison of a uniform draw with the keep probability gives it: "
            "do not convert it to numbers"
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
    msg = f"with p_drop = {p_drop} your mask keeps {frac:.0%} of {what} instead of about {keep:.0%}"
    if abs(frac - p_drop) <= tol:
        msg += (": that is p_drop, so your rule is backwards; p_drop is the probability "
                "of DROPPING a unit, and a unit is kept with probability 1 - p_drop")
    elif abs(frac - 0.5) <= tol:
        msg += ": your mask keeps half the units whatever p_drop is; is p_drop used at all?"
    raise _Problem(msg)


def _check_reproducible(fn: Callable, name: str, shape, p_drop, first: np.ndarray,
                        used_global: bool, seeds: tuple[int, int] = (_SEED, _OTHER_SEED),
                        shared_axes: tuple[int, ...] = ()) -> None:
    if used_global:
        raise _Problem(
            f"{name} used NumPy's global random state (np.random.rand, np.random.random, "
            "np.random.binomial, ...); draw from the rng argument instead, so that a seed "
            "fixes the mask on every machine"
        )
    again, _ = _call(fn, name, shape, p_drop, seeds[0], shared_axes)
    if again.shape != first.shape or not np.array_equal(again, first):
        raise _Problem(
            "the same rng seed gave different masks: are you using np.random (or another "
            "random source) instead of the rng argument?"
        )
    other, _ = _call(fn, name, shape, p_drop, seeds[1], shared_axes)
    if other.shape == first.shape and np.array_equal(other, first):
        raise _Problem(
            "two different rng seeds gave the same mask: does your function make its own "
            "generator (e.g. np.random.default_rng(0)) instead of using the rng argument?"
        )


def _check_edge_cases(fn: Callable, name: str, shape: tuple[int, ...], seed: int = _SEED,
                      shared_axes: tuple[int, ...] = ()) -> None:
    none_dropped, _ = _call(fn, name, shape, 0.0, seed, shared_axes)
    if not np.all(none_dropped):
        dropped = int(np.size(none_dropped) - np.count_nonzero(none_dropped))
        raise _Problem(
            f"with p_drop = 0 nothing may be dropped, but your mask drops {dropped} of "
            f"{np.size(none_dropped)} units: is your comparison strict and the right way "
            "round, with a uniform draw on [0, 1)?"
        )
    all_dropped, _ = _call(fn, name, shape, 1.0, seed, shared_axes)
    if np.any(all_dropped):
        kept = int(np.count_nonzero(all_dropped))
        raise _Problem(
            f"with p_drop = 1 every unit must be dropped, but your mask keeps {kept} of "
            f"{np.size(all_dropped)}: is your comparison strict, with a uniform draw on "
            "[0, 1)?"
        )


def _expected_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _check_shared_shape(mask: np.ndarray, shape: tuple[int, ...],
                        axes: tuple[int, ...]) -> None:
    """The mask has size 1 along ``axes`` and the activations' size elsewhere."""
    want = _expected_shape(shape, axes)
    if mask.shape == want:
        return
    head = (f"for activations of shape {_fmt_shape(shape)} and shared_axes = {tuple(axes)} "
            f"your mask has shape {_fmt_shape(mask.shape)}, expected {_fmt_shape(want)}")
    if mask.ndim != len(shape):
        raise _Problem(head + ": keep one axis per axis of the activations, of size 1 "
                       "where the mask is shared")
    if mask.shape == tuple(shape):
        flat = [a for a in axes if shape[a] > 1]
        if all(np.all(mask == mask.take([0], axis=a)) for a in flat):
            raise _Problem(head + f": your mask is shared along {_fmt_axes(axes)} but keeps "
                           "its full size there; give it size 1 there, so that it "
                           "broadcasts and takes one decision per shared group")
        raise _Problem(head + f": your mask is not shared along {_fmt_axes(axes)}; one "
                       "decision there must hold for every position of that axis")
    ones = {i for i, s in enumerate(mask.shape) if s == 1 and shape[i] != 1}
    wrong = sorted(ones - set(axes))
    missing = sorted(a for a in axes if mask.shape[a] != 1 and shape[a] != 1)
    fits = all(m in (1, s) for m, s in zip(mask.shape, shape))
    if fits and wrong and missing:
        raise _Problem(head + f": it is shared along {_fmt_axes(wrong)} instead of "
                       f"{_fmt_axes(missing)}")
    if fits and wrong:
        raise _Problem(head + f": it is also shared along {_fmt_axes(wrong)}, which was "
                       "not asked for")
    if fits and missing:
        raise _Problem(head + f": your mask is not shared along {_fmt_axes(missing)}")
    raise _Problem(head + ": size 1 along the shared axes, the activations' size elsewhere")


def _check_independent_elsewhere(mask: np.ndarray, axes: tuple[int, ...],
                                 p_drop: float) -> None:
    """No axis outside ``axes`` is constant (when that is practically impossible)."""
    q = 1.0 - p_drop
    for a in range(mask.ndim):
        k = mask.shape[a]
        if a in axes or k < 2:
            continue
        groups = mask.size // k
        if groups * math.log(q**k + (1 - q) ** k) > math.log(1e-12):
            continue                      # a correct mask might be constant here
        if np.all(mask == mask.take([0], axis=a)):
            raise _Problem(
                f"your mask takes the same decisions at every position of axis {a}, which "
                "is not in shared_axes: only the shared axes share a decision; every other "
                "entry is drawn independently")


# --------------------------------------------------------------------------- draw_mask


def check_draw_mask(draw_mask: Callable, *, seeds: tuple[int, int] = (_SEED, _OTHER_SEED),
                    shape: tuple[int, int] = (200, 500),
                    p_drops: tuple[float, float] = (0.2, 0.7),
                    cases: tuple = (((40, 30, 50), (1,)), ((64, 12, 5, 7), (2, 3))),
                    edge: tuple[int, ...] = (50, 40),
                    others: tuple[tuple[int, ...], ...] = ((7,),)) -> CheckResult:
    """Check ``draw_mask(shape, p_drop, rng, shared_axes=())``: a boolean keep-mask
    that is shared along ``shared_axes`` (size 1 there, so that it broadcasts), as
    ``dropout_lib.bernoulli_mask`` draws it.

    Verified, in order (the first failure is reported):

    1. with ``shared_axes=()`` it returns a boolean NumPy array of exactly ``shape``
       (True = keep), not 0/1 floats or rescaled activations;
    2. every example and every unit gets its own decision, and it keeps about
       ``1 - p_drop`` of them (5-sigma binomial tolerance; ``p_drop`` away from 0.5, so
       that a backwards rule is caught);
    3. for each ``(shape, shared_axes)`` of ``cases``, the mask has size 1 along the
       shared axes and the activations' size elsewhere (not shared, shared along the
       wrong axes or shared at full size are named), its decisions are independent along
       the other axes, and it keeps about ``1 - p_drop`` of them;
    4. it draws from the ``rng`` argument: NumPy's global random state is untouched, the
       same seed gives the same mask, another seed another mask;
    5. ``p_drop = 0`` keeps everything, ``p_drop = 1`` drops everything; other shapes
       work.

    Parameters
    ----------
    draw_mask : callable
        The learner's function.
    seeds, shape, p_drops, cases, edge, others
        The inputs: two seeds, the element-wise shape, two drop probabilities (the first
        for the element-wise mask, the second for the shared ones), the shared cases, the
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
        main = tuple(int(s) for s in shape)
        p_elem, p_shared = (float(p) for p in p_drops)
        mask, used_global = _call(draw_mask, name, main, p_elem, seeds[0])
        if mask.shape != main:
            msg = (f"with shared_axes = () your mask has shape {_fmt_shape(mask.shape)} but "
                   f"the activations have shape {_fmt_shape(main)}")
            try:
                np.broadcast_shapes(mask.shape, main)
                if mask.size < math.prod(main):
                    msg += (": with nothing shared, dropout needs one independent decision "
                            "per example and unit")
            except ValueError:
                msg += ": one decision per activation"
            raise _Problem(msg)
        _check_dtype(mask)
        verified.append("returns a boolean array with the activations' shape when nothing "
                        "is shared")

        if np.all(mask == mask[:1, :]):
            raise _Problem(
                "with shared_axes = () every example (row) got the same mask: dropout "
                "draws an independent keep/drop decision for every example and unit; one "
                "mask shared by the batch trains a single subnetwork per step"
            )
        if np.all(mask == mask[:, :1]):
            raise _Problem(
                "with shared_axes = () each example keeps or drops all of its units "
                "together (every row is constant): draw one decision per unit"
            )
        distinct_rows = len({row.tobytes() for row in mask})
        if distinct_rows < main[0]:
            raise _Problem(
                f"only {distinct_rows} of {main[0]} examples got distinct masks; with "
                f"{main[1]} independent units two identical rows are practically "
                "impossible: are masks reused between examples?"
            )
        _check_kept_fraction(mask, p_elem)
        verified.append(f"keeps a fraction 1 - p_drop, one decision per example and unit "
                        f"(p_drop = {p_elem})")

        for case_shape, axes in cases:
            case_shape = tuple(int(s) for s in case_shape)
            axes = tuple(int(a) for a in axes)
            shared, _ = _call(draw_mask, name, case_shape, p_shared, seeds[0], axes)
            _check_shared_shape(shared, case_shape, axes)
            _check_dtype(shared)
            _check_independent_elsewhere(shared, axes, p_shared)
            _check_kept_fraction(shared, p_shared, what="its decisions")
        verified.append(f"a shared mask has size 1 along shared_axes, independent decisions "
                        f"elsewhere, and keeps 1 - p_drop of them (p_drop = {p_shared})")

        first_shape, first_axes = cases[0] if cases else (main, ())
        first_shape = tuple(int(s) for s in first_shape)
        first_axes = tuple(int(a) for a in first_axes)
        again, used = _call(draw_mask, name, first_shape, p_shared, seeds[0], first_axes)
        _check_reproducible(draw_mask, name, main, p_elem, mask, used_global or used, seeds)
        _check_reproducible(draw_mask, name, first_shape, p_shared, again, False, seeds,
                            first_axes)
        verified.append("draws from the rng argument: same seed, same mask; other seed, "
                        "other mask")

        _check_edge_cases(draw_mask, name, tuple(edge), seeds[0])
        if cases:
            _check_edge_cases(draw_mask, name, first_shape, seeds[0], first_axes)
        for other_shape in others:
            other_shape = tuple(int(s) for s in other_shape)
            out, _ = _call(draw_mask, name, other_shape, 0.5, seeds[0])
            if out.shape != other_shape:
                raise _Problem(
                    f"for shape {_fmt_shape(other_shape)} your mask has shape "
                    f"{_fmt_shape(out.shape)}: accept a shape with any number of axes"
                )
        verified.append("p_drop = 0 keeps all, p_drop = 1 drops all; works for a 1-D shape")

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

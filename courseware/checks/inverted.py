"""Checks for the exercises of ``book/02_inverted_dropout.ipynb`` (inverted dropout).

- :func:`check_dropout_forward`: ``dropout_forward(x, p_drop, *, train, rng)`` returning
  ``(out, cache)``, inverted dropout's forward pass in training and evaluation mode.
- :func:`check_dropout_backward`: ``dropout_backward(dout, cache)``, checked against
  centred differences of the learner's own forward pass at a fixed mask.
- :func:`check_lr_factor`: ``lr_factor(p_drop)``, the derived learning-rate factor that
  makes plain SGD on an inverted-dropout network follow an original-form network exactly.

Each check calls the learner's functions on fixed inputs with fixed seeds, stops at the
first problem, and returns a :class:`~courseware.checks.CheckResult` whose message says
what is wrong and how to fix it. Statistical checks use a 5-sigma binomial tolerance, so a
correct function fails them with probability below one in a million; because the seeds are
fixed, the verdict for a given function never changes between runs. NumPy's global random
state is restored after every call, so a check never changes it.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from dropout_lib.gradcheck import numerical_gradient, rel_error
from . import CheckResult
from ._support import (
    Problem as _Problem,
    run_steps as _run,
    same_global_state as _same_state,
    describe_error as _describe_error,
)

__all__ = ["check_dropout_backward", "check_dropout_forward", "check_lr_factor"]

_SEED = 2014
_OTHER_SEED = 1207  # arXiv 1207.0580, Hinton et al. (2012)
_GRAD_TOL = 1e-7    # relative error below which a float64 gradient check passes


def _inputs(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Activations of both signs, bounded away from 0 (so out / x is always defined)."""
    gen = np.random.default_rng(seed)
    return gen.uniform(0.5, 1.5, shape) * gen.choice([-1.0, 1.0], shape)


def _call_forward(fn: Callable, x: np.ndarray, p_drop: float, train: bool,
                  seed: int) -> tuple[np.ndarray, Any, bool]:
    """``fn(x, p_drop, train=train, rng=default_rng(seed))`` -> (out, cache, used_global)."""
    name = "dropout_forward"
    before = np.random.get_state()
    x_in = x.copy()
    try:
        result = fn(x_in, p_drop, train=train, rng=np.random.default_rng(seed))
    except NotImplementedError:
        raise _Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001 - any error in the learner's code is reported
        raise _Problem(_describe_error(
            f"{name}(x, p_drop={p_drop}, train={train}, rng=rng)", err)) from None
    finally:
        after = np.random.get_state()
        np.random.set_state(before)
    used_global = not _same_state(before, after)
    if result is None:
        raise _Problem(f"{name} returned None: did you forget the `return` statement?")
    if isinstance(result, np.ndarray) or not isinstance(result, tuple) or len(result) != 2:
        if isinstance(result, np.ndarray):
            got = "only an array"
        elif isinstance(result, tuple):
            got = f"a tuple of length {len(result)}"
        else:
            got = f"a {type(result).__name__}"
        raise _Problem(
            f"{name} returned {got}; return a pair (out, cache), where the cache holds "
            "what the backward pass needs (the mask and the scale)"
        )
    out, cache = result
    if not isinstance(out, np.ndarray):
        raise _Problem(f"{name} returned out as a {type(out).__name__}; out must be a "
                       "NumPy array with the shape of x")
    if out.shape != x.shape:
        raise _Problem(f"{name} returned out of shape {tuple(out.shape)} for x of shape "
                       f"{tuple(x.shape)}; dropout keeps the shape of its input")
    if not np.array_equal(x_in, x):
        raise _Problem(
            f"{name} modified its input x in place (e.g. x *= mask); the caller may still "
            "need x, so compute the output as a new array"
        )
    if not np.all(np.isfinite(out)):
        raise _Problem(f"{name} returned NaN or infinite values for finite x "
                       f"(p_drop = {p_drop})")
    return out, cache, used_global


def _check_kept_fraction(out: np.ndarray, p_drop: float) -> None:
    keep = 1.0 - p_drop
    n = out.size
    frac = float(np.count_nonzero(out)) / n
    tol = 5.0 * math.sqrt(keep * (1.0 - keep) / n)
    if abs(frac - keep) <= tol:
        return
    msg = (f"with p_drop = {p_drop} your output keeps {frac:.0%} of the units (non-zero "
           f"entries), expected about {keep:.0%} (keep probability 1 - p_drop = {keep:.2g})")
    if abs(frac - p_drop) <= tol:
        msg += (": p_drop is the probability of DROPPING a unit, not of keeping it; keep "
                "where u < 1 - p_drop")
    elif frac == 1.0:
        msg += ": nothing was dropped; is the mask applied to x?"
    elif frac == 0.0:
        msg += ": everything was dropped; keep where u < 1 - p_drop, with u uniform on [0, 1)"
    raise _Problem(msg)


def _check_scale(x: np.ndarray, out: np.ndarray, p_drop: float) -> None:
    keep = 1.0 - p_drop
    kept = out != 0
    ratios = out[kept] / x[kept]
    expected = 1.0 / keep
    if not np.allclose(ratios, ratios[0], rtol=1e-6, atol=0.0):
        raise _Problem(
            "your kept units are not all x times the same factor (e.g. "
            f"{float(np.min(ratios)):.3g} and {float(np.max(ratios)):.3g}); every kept unit "
            f"must equal x / (1 - p_drop) = {expected:.4g} x"
        )
    s = float(ratios[0])
    if math.isclose(s, expected, rel_tol=1e-6):
        return
    head = (f"with p_drop = {p_drop} your kept units equal {s:.4g} x, expected "
            f"x / (1 - p_drop) = {expected:.4g} x")
    if math.isclose(s, 1.0, rel_tol=1e-6):
        raise _Problem(
            f"{head}: you forgot to rescale. Inverted dropout divides the kept units by "
            "the keep probability 1 - p_drop, so that E[out] = x and evaluation needs no "
            "correction"
        )
    if math.isclose(s, keep, rel_tol=1e-6):
        raise _Problem(
            f"{head}: you multiplied by the keep probability instead of dividing by it "
            "(multiplying by 1 - p_drop is the original form's test-time rule)"
        )
    if p_drop > 0 and math.isclose(s, 1.0 / p_drop, rel_tol=1e-6):
        raise _Problem(f"{head}: you divided by p_drop instead of by 1 - p_drop")
    if p_drop > 0 and math.isclose(s, p_drop, rel_tol=1e-6):
        raise _Problem(f"{head}: you multiplied by p_drop; divide by 1 - p_drop instead")
    raise _Problem(f"{head}: is the factor computed from p_drop (not a fixed number)?")


# --------------------------------------------------------------------------- forward


def check_dropout_forward(dropout_forward: Callable, *,
                          seeds: tuple[int, int] = (_SEED, _OTHER_SEED),
                          shape: tuple[int, int] = (200, 500),
                          wide: tuple[int, int] = (100, 1000),
                          p_drops: tuple[float, float] = (0.2, 0.7)) -> CheckResult:
    """Check ``dropout_forward(x, p_drop, *, train, rng)`` -> ``(out, cache)``, inverted dropout.

    Verified, in order (the first failure is reported):

    1. it returns a pair ``(out, cache)`` with ``out`` of ``x``'s shape, and leaves ``x``
       unchanged;
    2. in training it keeps about ``1 - p_drop`` of the units (5-sigma binomial
       tolerance) for ``p_drop`` of 0.2 and 0.7, i.e. ``p_drop`` is the drop probability;
    3. every kept unit equals ``x / (1 - p_drop)`` (with specific messages for no
       rescaling, multiplying by the keep probability, dividing by ``p_drop``);
    4. in evaluation (``train=False``) it returns ``x`` unchanged: no mask, no factor;
    5. it draws from the ``rng`` argument (NumPy's global state untouched, same seed same
       output, other seed other output);
    6. ``p_drop = 0`` returns ``x`` in training.

    Parameters
    ----------
    dropout_forward : callable
        The learner's function, called as ``dropout_forward(x, p_drop, train=..., rng=...)``.
    seeds, shape, wide, p_drops
        The inputs: two seeds, the main shape and its ``p_drop``, the shape checked with
        the second ``p_drop``. The defaults are the visible check; the grader
        (:mod:`courseware.judge`) draws hidden ones at grading time.

    Returns
    -------
    CheckResult
        Never raises because of a mistake in ``dropout_forward``.
    """
    name = "dropout_forward"

    def steps(verified: list[str]) -> None:
        if not callable(dropout_forward):
            raise _Problem(f"expected a function, got a {type(dropout_forward).__name__}")
        p, p7 = (float(v) for v in p_drops)
        s0, s1 = seeds
        x = _inputs(tuple(shape), s0)
        out, _, used_global = _call_forward(dropout_forward, x, p, True, s0)
        verified.append("returns (out, cache) with out of x's shape; x is not modified")

        kept = out != 0
        if np.all(kept == kept[:1, :]):
            raise _Problem(
                "every example (row) got the same mask: draw an independent keep/drop "
                "decision for every example and unit, rng.random(x.shape); one mask shared "
                "by the batch trains a single subnetwork per step"
            )
        _check_kept_fraction(out, p)
        x7 = _inputs(tuple(wide), s1)
        out7, _, _ = _call_forward(dropout_forward, x7, p7, True, s0)
        _check_kept_fraction(out7, p7)
        verified.append(f"keeps a fraction 1 - p_drop of the units (p_drop = {p:g} and {p7:g})")

        _check_scale(x, out, p)
        _check_scale(x7, out7, p7)
        verified.append("kept units equal x / (1 - p_drop), dropped units are 0")

        out_eval, _, _ = _call_forward(dropout_forward, x, p, False, s0)
        if not np.allclose(out_eval, x, rtol=1e-12, atol=0.0):
            zeros = float(np.mean(out_eval == 0))
            if zeros > 0.05:
                raise _Problem(
                    f"in evaluation (train=False) {zeros:.0%} of your outputs are zero: "
                    "dropout is still on. With train=False, return x unchanged"
                )
            if np.allclose(out_eval, (1 - p) * x, rtol=1e-9, atol=0.0):
                raise _Problem(
                    f"in evaluation (train=False) your output is {1 - p:.4g} x = "
                    "(1 - p_drop) x: "
                    "that is the original form's test-time rule. Inverted dropout already "
                    "rescaled in training, so evaluation returns x unchanged"
                )
            if np.allclose(out_eval, x / (1 - p), rtol=1e-9, atol=0.0):
                raise _Problem(
                    "in evaluation (train=False) your output is x / (1 - p_drop): the "
                    "factor belongs to training only; evaluation returns x unchanged"
                )
            raise _Problem("in evaluation (train=False) your output differs from x; "
                           "inverted dropout's evaluation mode is the identity")
        verified.append("evaluation (train=False) returns x unchanged")

        if used_global:
            raise _Problem(
                f"{name} used NumPy's global random state (np.random.rand, "
                "np.random.random, ...); draw from the rng argument instead, e.g. "
                "rng.random(x.shape), so that a seed fixes the mask on every machine"
            )
        again, _, _ = _call_forward(dropout_forward, x, p, True, s0)
        if not np.array_equal(again, out):
            raise _Problem("the same rng seed gave different outputs: draw the mask from "
                           "the rng argument, not from another random source")
        other, _, _ = _call_forward(dropout_forward, x, p, True, s1)
        if np.array_equal(other, out):
            raise _Problem("two different rng seeds gave the same output: does your function "
                           "make its own generator instead of using the rng argument?")
        verified.append("draws from the rng argument: same seed, same mask; other seed, other mask")

        out0, _, _ = _call_forward(dropout_forward, x, 0.0, True, s0)
        if not np.allclose(out0, x, rtol=1e-12, atol=0.0):
            dropped = int(np.count_nonzero(out0 == 0))
            raise _Problem(
                f"with p_drop = 0 the output must equal x, but yours differs"
                f"{f' ({dropped} units dropped)' if dropped else ''}: keep where "
                "u < 1 - p_drop (strictly less), and the factor 1 / (1 - 0) is 1"
            )
        verified.append("p_drop = 0 returns x")

    return _run(name, steps)


# --------------------------------------------------------------------------- backward


def _call_backward(fn: Callable, dout: np.ndarray, cache: Any) -> np.ndarray:
    name = "dropout_backward"
    dout_in = dout.copy()
    before = np.random.get_state()
    try:
        dx = fn(dout_in, cache)
    except NotImplementedError:
        raise _Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001
        raise _Problem(_describe_error(f"{name}(dout, cache)", err)) from None
    finally:
        np.random.set_state(before)
    if dx is None:
        raise _Problem(f"{name} returned None: did you forget the `return` statement?")
    if not isinstance(dx, np.ndarray):
        raise _Problem(f"{name} returned a {type(dx).__name__}; return a NumPy array "
                       "with the shape of dout")
    if dx.shape != dout.shape:
        raise _Problem(f"{name} returned an array of shape {tuple(dx.shape)}; the gradient "
                       f"with respect to x has x's shape {tuple(dout.shape)}")
    if not np.array_equal(dout_in, dout):
        raise _Problem(
            f"{name} modified dout in place (e.g. dout *= mask); the caller may still need "
            "dout, so return the gradient as a new array"
        )
    return dx


def _diagnose_gradient(dx: np.ndarray, dout: np.ndarray, mask: np.ndarray, p_drop: float,
                       err: float) -> str:
    keep = 1.0 - p_drop
    s = 1.0 / keep
    shown = f"{err:.2f}" if err >= 0.01 else f"{err:.2g}"
    tail = f" (gradient check at a fixed mask: relative error {shown})"

    def close(a: np.ndarray) -> bool:
        return bool(np.allclose(dx, a, rtol=1e-9, atol=1e-12))

    if close(dout * s):
        return ("your backward pass ignores the mask: it scales every entry of dout, so "
                "dropped units get a gradient although they did not affect the output; "
                "multiply by the forward pass's mask too" + tail)
    if close(dout):
        return ("your backward pass returns dout unchanged: it ignores both the mask and "
                "the factor 1 / (1 - p_drop)" + tail)
    if close(dout * mask):
        return ("your backward pass forgets the factor 1 / (1 - p_drop): kept units' "
                f"gradients are {keep:.2g} times the right size. The backward pass applies "
                "the same mask AND the same factor as the forward pass" + tail)
    if close(dout * mask * keep):
        return ("your backward pass multiplies by 1 - p_drop instead of dividing by it" + tail)
    if close(np.zeros_like(dout)):
        return "your backward pass returns zeros" + tail
    nonzero = dx != 0
    if (np.any(nonzero != mask)
            and np.allclose(dx[nonzero], (dout * s)[nonzero], rtol=1e-9, atol=1e-12)):
        return ("your backward pass zeroes different units than the forward pass did: it "
                "must reuse the mask stored in the cache, not draw a new one" + tail)
    return ("your gradient does not match centred differences of your forward pass; "
            "the backward pass must apply what the forward pass applied, which the cache "
            "should hold" + tail)


def check_dropout_backward(dropout_forward: Callable, dropout_backward: Callable, *,
                           seeds: tuple[int, int] = (_SEED, _OTHER_SEED),
                           shape: tuple[int, int] = (6, 10), p_drop: float = 0.4,
                           forward: dict[str, Any] | None = None,
                           forward_checked: bool = False) -> CheckResult:
    """Check ``dropout_backward(dout, cache)`` with a gradient check at a fixed mask.

    The learner's ``dropout_forward`` must pass :func:`check_dropout_forward` first. Then,
    for two seeds and ``p_drop = 0.4``, the analytic gradient ``dropout_backward(dout,
    cache)`` is compared with :func:`~dropout_lib.gradcheck.numerical_gradient` of
    ``x -> dropout_forward(x, ..., rng=default_rng(seed))[0]``: re-creating the generator
    from the same seed holds the mask fixed. The relative error (:func:`rel_error`) must be
    below ``1e-7``. A failure names the likely mistake: the mask ignored (as in a
    well-known NumPy library), the factor forgotten, a new mask drawn in the backward
    pass, or ``dout`` modified in place. In evaluation mode (``train=False``) the
    backward pass must return ``dout`` unchanged.

    Parameters
    ----------
    dropout_forward, dropout_backward : callable
        The learner's functions.
    seeds, shape, p_drop, forward
        Two seeds, the shape of ``x`` and the ``p_drop`` of the gradient check, and the
        keyword arguments of the :func:`check_dropout_forward` run first. The defaults are
        the visible check; the grader draws hidden ones at grading time.
    forward_checked : bool
        True if the caller has just seen ``dropout_forward`` pass its check (with
        ``forward``): it is not run again.

    Returns
    -------
    CheckResult
        Never raises because of a mistake in the learner's functions.
    """
    name = "dropout_backward"

    def steps(verified: list[str]) -> None:
        if not callable(dropout_backward):
            raise _Problem(f"expected a function, got a {type(dropout_backward).__name__}")
        first = (CheckResult("dropout_forward", True, ()) if forward_checked
                 else check_dropout_forward(dropout_forward, **(forward or {})))
        if not first.passed:
            raise _Problem("fix dropout_forward first (check_dropout_forward): "
                           + first.messages[0])
        x = _inputs(tuple(shape), seeds[0])
        dout = np.random.default_rng(seeds[1]).standard_normal(x.shape)
        errors = []
        for seed in seeds:
            out, cache, _ = _call_forward(dropout_forward, x, p_drop, True, seed)
            dx = _call_backward(dropout_backward, dout, cache)
            if not np.all(np.isfinite(dx)):
                raise _Problem(f"{name} returned NaN or infinite values")

            def f(v: np.ndarray, seed: int = seed) -> np.ndarray:
                return _call_forward(dropout_forward, v, p_drop, True, seed)[0]

            num = numerical_gradient(f, x, dout)
            err = rel_error(dx, num)
            if not err < _GRAD_TOL:
                raise _Problem(_diagnose_gradient(dx, dout, out != 0, p_drop, err))
            errors.append(err)
        _, cache_eval, _ = _call_forward(dropout_forward, x, p_drop, False, seeds[0])
        dx_eval = _call_backward(dropout_backward, dout, cache_eval)
        if not np.allclose(dx_eval, dout, rtol=1e-12, atol=0.0):
            raise _Problem(
                f"in evaluation (train=False) {name} does not return dout unchanged: the "
                "forward pass is the identity there, so its gradient is dout (no mask, "
                "no factor); keep in the cache what evaluation did"
            )
        verified.append("returns a new array of dout's shape and leaves dout unchanged")
        verified.append(f"matches centred differences at a fixed mask for two seeds "
                        f"(relative error {max(errors):.1e} < {_GRAD_TOL:.0e})")

    return _run(name, steps)


# --------------------------------------------------------------------------- learning rate


def _lr_problem(p: float, value: float) -> str | None:
    """What is wrong with ``value`` as the factor at ``p``, or None if it is right."""
    q = 1.0 - p

    def near(x: float) -> bool:
        return math.isclose(value, x, rel_tol=1e-6, abs_tol=1e-12)

    if near(q * q):
        return None
    head = f"lr_factor({p:g}) = {value:.4g} is not the factor"
    compare = ("after one step V must again equal q times W. Compare the twin's step, "
               "(factor x learning rate) x (gradient with respect to V), with q times the "
               "original's step, learning rate x (gradient with respect to W)")
    if near(1.0):
        return f"{head}: with the same learning rate the two runs drift apart; {compare}"
    if near(q):
        return f"{head}: q alone does not do it, account for the gradient too; {compare}"
    if near(1.0 / q) or near(1.0 / (q * q)):
        return f"{head}: your factor is above 1; {compare}"
    if p > 0 and (near(p * p) or near(p)):
        return (f"{head}: you used p_drop where the keep probability q = 1 - p_drop belongs "
                "(the two coincide only at p_drop = 0.5)")
    return f"{head}: {compare}"


def check_lr_factor(lr_factor: Callable, *,
                    p_drops: tuple[float, ...] = (0.2, 0.6, 0.9)) -> CheckResult:
    """Check ``lr_factor(p_drop)``: the learning-rate factor :math:`(1 - p_{drop})^2`.

    An original-form network's weights :math:`W` after a dropout layer and its inverted
    twin's :math:`V = qW` follow the same trajectory under plain SGD exactly when the
    twin's learning rate is :math:`q^2` times the original's (Srivastava et al. 2014,
    Section 10, state the equivalence; the chapter derives the factor). Verified: the
    value at each of ``p_drops`` (relative tolerance 1e-6), with messages for the usual
    wrong answers (1, :math:`q`, :math:`1/q`, :math:`p_{drop}^2`), and 1 at
    ``p_drop = 0``. The defaults are the visible check; the grader draws hidden
    ``p_drops`` away from 0.5, where :math:`p_{drop}^2` and :math:`q^2` coincide.

    Returns
    -------
    CheckResult
        Never raises because of a mistake in ``lr_factor``.
    """
    name = "lr_factor"

    def value_at(p: float) -> float:
        try:
            value = lr_factor(p)
        except NotImplementedError:
            raise _Problem(f"not implemented yet: {name} raises NotImplementedError") from None
        except Exception as err:  # noqa: BLE001 - the learner's error is the message
            raise _Problem(_describe_error(f"{name}({p})", err)) from None
        if value is None:
            raise _Problem(f"{name}({p}) returned None: did you forget the `return`?")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _Problem(f"{name}({p}) returned a {type(value).__name__}; return a "
                           "number, the factor for that drop probability") from None
        if not math.isfinite(number):
            raise _Problem(f"{name}({p}) returned {number}; return a finite number")
        return number

    def steps(verified: list[str]) -> None:
        if not callable(lr_factor):
            raise _Problem(f"expected a function, got a {type(lr_factor).__name__}")
        for p in p_drops:
            problem = _lr_problem(float(p), value_at(float(p)))
            if problem:
                raise _Problem(problem)
        verified.append("the factor (1 - p_drop)^2 at " +
                        ", ".join(f"p_drop = {p:g}" for p in p_drops))
        at_zero = value_at(0.0)
        if not math.isclose(at_zero, 1.0, rel_tol=1e-9):
            raise _Problem(f"{name}(0.0) = {at_zero:.4g}: without dropout the twin is the "
                           "same network, so the factor must be 1")
        verified.append("the factor 1 at p_drop = 0 (no dropout, the same network)")

    return _run(name, steps)

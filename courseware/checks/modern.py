"""Checks for the exercises of ``book/05_noise_and_modern.ipynb``.

- :func:`check_gaussian_dropout`: ``gaussian_dropout(x, p_drop, rng)``, training mode.
- :func:`check_spatial_dropout`: ``spatial_dropout(x, p_drop, rng)`` on ``(N, C, H, W)``.
- :func:`check_drop_path`: ``drop_path(branch, p_drop, rng)``, one decision per example.
- :func:`check_noise_variance`: the derived variance of the Gaussian noise.

Each check calls the learner's function on fixed inputs with fixed seeds, stops at the
first problem and says what is wrong. Statistical checks use 5-sigma tolerances.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import CheckResult
from ._support import Problem, describe_error, run_steps, same_global_state

__all__ = ["check_drop_path", "check_gaussian_dropout", "check_noise_variance",
           "check_spatial_dropout"]

_SEED = 2014
_OTHER_SEED = 1207


def _inputs(shape: tuple[int, ...], seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


def _call(fn: Callable, name: str, x: np.ndarray, p_drop: float, seed: int
          ) -> tuple[np.ndarray, bool]:
    """``fn(x, p_drop, default_rng(seed))`` as an array, and whether it used np.random."""
    before, x_before = np.random.get_state(), x.copy()
    try:
        out = fn(x, p_drop, np.random.default_rng(seed))
    except NotImplementedError:
        raise Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001 - the learner's error is the message
        raise Problem(describe_error(f"{name}(x, p_drop={p_drop}, rng)", err)) from None
    finally:
        after = np.random.get_state()
        np.random.set_state(before)
    if not np.array_equal(x, x_before):
        raise Problem(f"{name} changed its input x in place; return a new array")
    if not isinstance(out, np.ndarray) or out.shape != x.shape:
        got = out.shape if isinstance(out, np.ndarray) else type(out).__name__
        raise Problem(f"{name} must return an array of the input's shape {x.shape}; "
                      f"got {got}")
    return out, not same_global_state(before, after)


def _check_rng(fn: Callable, name: str, x: np.ndarray, first: np.ndarray,
               used_global: bool, p: float, seeds: tuple[int, int]) -> None:
    if used_global:
        raise Problem(f"{name} drew from NumPy's global generator (np.random.*); draw "
                      "from the rng argument instead")
    again, _ = _call(fn, name, x, p, seeds[0])
    other, _ = _call(fn, name, x, p, seeds[1])
    if not np.array_equal(again, first) or np.array_equal(other, first):
        raise Problem(f"{name} must depend on rng only: the same seed gives the same "
                      "output, another seed another output")


def check_gaussian_dropout(gaussian_dropout: Callable, *,
                           shape: tuple[int, int] = (400, 500), p_drop: float = 0.3,
                           seeds: tuple[int, int] = (_SEED, _OTHER_SEED)
                           ) -> CheckResult:
    """Check ``gaussian_dropout(x, p_drop, rng)``: ``x * m``, ``m ~ N(1, p/(1-p))``.

    Verified: shape and no mutation; the noise has mean 1 (5 sigma) and variance
    ``p_drop / (1 - p_drop)`` within 5%; it is Gaussian, not a Bernoulli mask; it
    draws from ``rng``; ``p_drop = 0`` is the identity. The keyword arguments are the
    inputs: the defaults are the visible check, the grader draws hidden ones. Keep
    ``p_drop`` away from 0.5, where the variance is 1 and equals the std.
    """
    name = "gaussian_dropout"

    def steps(verified: list[str]) -> None:
        x = _inputs(tuple(shape))
        p = p_drop
        out, used_global = _call(gaussian_dropout, name, x, p, seeds[0])
        m = out / x
        var_want = p / (1 - p)
        if abs(m.mean() - 1) > 5 * math.sqrt(var_want / m.size):
            raise Problem(f"the noise should have mean 1 so that E[out] = x; yours has "
                          f"mean {m.mean():.3f}")
        verified.append("keeps the expected activation: the noise has mean 1")
        if np.mean(np.isclose(m, 0)) > 0.05:
            raise Problem("a fraction of the outputs is exactly 0: that is Bernoulli "
                          "dropout; multiply by Gaussian noise 1 + sigma * z instead")
        if abs(m.var() / var_want - 1) > 0.05:
            hint = (" (sigma is the standard deviation: use its square root as the "
                    "scale of z)" if abs(m.var() / var_want**2 - 1) < 0.05 else "")
            raise Problem(f"the noise should have variance p_drop / (1 - p_drop) = "
                          f"{var_want:.3f} at p_drop = {p}; yours has {m.var():.3f}{hint}")
        verified.append("matches Bernoulli dropout's variance p_drop / (1 - p_drop)")
        _check_rng(gaussian_dropout, name, x, out, used_global, p, seeds)
        verified.append("draws from the rng argument")
        same, _ = _call(gaussian_dropout, name, x, 0.0, seeds[0])
        if not np.allclose(same, x):
            raise Problem("p_drop = 0 must leave x unchanged (noise with variance 0)")
        verified.append("p_drop = 0 is the identity")

    return run_steps(name, steps)


def _per_group(out: np.ndarray, x: np.ndarray, axes: tuple[int, ...], what: str,
               name: str, p: float) -> np.ndarray:
    """The kept (True) / dropped decision of each group of ``out`` sharing ``axes``."""
    ratio = out / x
    q = 1 - p
    kept = np.isclose(ratio, 1 / q)
    dropped = np.isclose(ratio, 0)
    if not np.all(kept | dropped):
        if np.any(np.isclose(ratio, 1)):
            raise Problem(f"{name}: kept values must be scaled by 1 / (1 - p_drop) "
                          "(inverted dropout); some equal x itself")
        raise Problem(f"{name}: every output must be 0 or x / (1 - p_drop)")
    first = kept[tuple(slice(None) if a not in axes else slice(0, 1)
                       for a in range(x.ndim))]
    if not np.all(kept == first):
        raise Problem(f"{name}: one decision per {what}: every value of the same "
                      f"{what} is kept or dropped together")
    return first


def _check_fraction(decisions: np.ndarray, p: float, what: str, name: str) -> None:
    n, q = decisions.size, 1 - p
    if abs(decisions.mean() - q) > 5 * math.sqrt(q * p / n):
        raise Problem(f"{name} keeps {decisions.mean():.1%} of the {what}s; expected "
                      f"about {q:.0%} at p_drop = {p}")


def _check_shared(fn: Callable, name: str, shape: tuple[int, ...],
                  axes: tuple[int, ...], what: str, p: float,
                  seeds: tuple[int, int]) -> CheckResult:
    def steps(verified: list[str]) -> None:
        x = _inputs(shape)
        out, used_global = _call(fn, name, x, p, seeds[0])
        decisions = _per_group(out, x, axes, what, name, p)
        verified.append(f"drops whole {what}s and scales the kept ones by 1 / (1 - p_drop)")
        flat = decisions.reshape(decisions.shape[0], -1)
        if flat.shape[1] > 1 and np.all(flat == flat[:1]):
            raise Problem(f"{name}: every example got the same decisions; draw them per "
                          "example")
        _check_fraction(decisions, p, what, name)
        verified.append(f"keeps a fraction 1 - p_drop of the {what}s, per example")
        _check_rng(fn, name, x, out, used_global, p, seeds)
        verified.append("draws from the rng argument")
        same, _ = _call(fn, name, x, 0.0, seeds[0])
        if not np.allclose(same, x):
            raise Problem(f"{name}: p_drop = 0 must keep everything unchanged")
        verified.append("p_drop = 0 is the identity")

    return run_steps(name, steps)


def check_spatial_dropout(spatial_dropout: Callable, *,
                          shape: tuple[int, int, int, int] = (300, 40, 4, 4),
                          p_drop: float = 0.3,
                          seeds: tuple[int, int] = (_SEED, _OTHER_SEED)
                          ) -> CheckResult:
    """Check ``spatial_dropout(x, p_drop, rng)``: one decision per (example, channel).

    Verified: whole ``H x W`` maps are dropped, kept maps are scaled by ``1/(1-p)``,
    decisions differ across examples, the kept fraction, ``rng``, ``p_drop = 0``.
    """
    return _check_shared(spatial_dropout, "spatial_dropout", tuple(shape), (2, 3),
                         "channel map", p_drop, tuple(seeds))


def check_drop_path(drop_path: Callable, *,
                    shape: tuple[int, ...] = (2000, 6, 5), p_drop: float = 0.3,
                    seeds: tuple[int, int] = (_SEED, _OTHER_SEED)) -> CheckResult:
    """Check ``drop_path(branch, p_drop, rng)``: one decision per example.

    Verified: each example's whole branch is kept (scaled by ``1/(1-p)``) or dropped,
    the kept fraction over examples, ``rng``, ``p_drop = 0``.
    """
    axes = tuple(range(1, len(shape)))
    return _check_shared(drop_path, "drop_path", tuple(shape), axes, "example",
                         p_drop, tuple(seeds))


def check_noise_variance(noise_variance: Callable, *,
                         p_drops: tuple[float, ...] = (0.3, 0.1, 0.6)) -> CheckResult:
    """Check ``noise_variance(p_drop)``: the variance of the inverted dropout noise."""
    name = "noise_variance"

    def steps(verified: list[str]) -> None:
        for p in p_drops:
            try:
                value = float(noise_variance(p))
            except NotImplementedError:
                raise Problem(f"not implemented yet: {name} raises "
                              "NotImplementedError") from None
            except Exception as err:  # noqa: BLE001 - the learner's error is the message
                raise Problem(describe_error(f"{name}({p})", err)) from None
            want = p / (1 - p)
            if math.isclose(value, p * (1 - p), rel_tol=1e-3):
                raise Problem("p(1 - p) is the variance of the 0/1 mask; the inverted "
                              "mask m / (1 - p) has variance p / (1 - p)")
            if math.isclose(value, math.sqrt(want), rel_tol=1e-3) and not \
                    math.isclose(value, want, rel_tol=1e-3):
                raise Problem("that is the standard deviation; the question asks for "
                              "the variance")
            if not math.isclose(value, want, rel_tol=1e-3):
                raise Problem(f"{name}({p}) = {value:.4g} is not the variance of the "
                              "inverted mask: compute E[(m / (1 - p))^2] - 1 for "
                              "m ~ Bernoulli(1 - p)")
        verified.append("the variance p_drop / (1 - p_drop) at " +
                        ", ".join(f"p_drop = {p}" for p in p_drops))

    return run_steps(name, steps)

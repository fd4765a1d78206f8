"""Checks for the exercises of ``book/06_sequences_and_practice.ipynb``.

- :func:`check_locked_mask`: ``locked_mask(batch, steps, width, p_drop, rng)``, one
  inverted-dropout mask per sequence, repeated at every step.
- :func:`check_dropblock_mask`: ``dropblock_mask(shape, p_drop, block_size, rng)``, a
  boolean keep-mask that drops ``block_size x block_size`` squares.
- :func:`check_alpha_constants`: ``alpha_constants(p_drop) -> (a, b)``, the affine
  correction of alpha dropout.

Each check calls the learner's function on fixed inputs with fixed seeds, stops at the
first problem and says what is wrong. Statistical checks use 5-sigma tolerances. The
keyword arguments are the inputs: the defaults are the visible check, the grader
(:mod:`courseware.judge`) draws hidden ones.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import CheckResult
from ._support import Problem, describe_error, run_steps, same_global_state

__all__ = ["check_alpha_constants", "check_dropblock_mask", "check_locked_mask"]

_SEED = 2016
_OTHER_SEED = 1409

#: SELU's constants (Klambauer et al. 2017); a dropped unit is set to -lambda * alpha.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946
_ALPHA_PRIME = -_SELU_LAMBDA * _SELU_ALPHA


def _call(fn: Callable, name: str, args: tuple, shown: str) -> tuple[Any, bool]:
    """``fn(*args)`` and whether it drew from NumPy's global generator."""
    before = np.random.get_state()
    try:
        out = fn(*args)
    except NotImplementedError:
        raise Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001 - the learner's error is the message
        raise Problem(describe_error(f"{name}({shown})", err)) from None
    finally:
        after = np.random.get_state()
        np.random.set_state(before)
    return out, not same_global_state(before, after)


def _check_rng(fn: Callable, name: str, make_args: Callable[[int], tuple], shown: str,
               first: np.ndarray, used_global: bool, seeds: tuple[int, int]) -> None:
    if used_global:
        raise Problem(f"{name} drew from NumPy's global generator (np.random.*); draw "
                      "from the rng argument instead")
    again, _ = _call(fn, name, make_args(seeds[0]), shown)
    other, _ = _call(fn, name, make_args(seeds[1]), shown)
    if not np.array_equal(np.asarray(again), first) or \
            np.array_equal(np.asarray(other), first):
        raise Problem(f"{name} must depend on rng only: the same seed gives the same "
                      "mask, another seed another mask")


# --------------------------------------------------------------------------- locked mask


def check_locked_mask(locked_mask: Callable, *,
                      sizes: tuple[int, int, int] = (400, 12, 50), p_drop: float = 0.3,
                      seeds: tuple[int, int] = (_SEED, _OTHER_SEED)) -> CheckResult:
    """Check ``locked_mask(batch, steps, width, p_drop, rng)``.

    Expected: a float array of shape ``(batch, steps, width)`` whose entries are 0 or
    ``1 / (1 - p_drop)``, the same at every step of a sequence (one draw per sequence
    and unit), different between sequences, keeping a fraction ``1 - p_drop`` of the
    units (5 sigma), drawn from ``rng`` only; ``p_drop = 0`` keeps everything.
    """
    name = "locked_mask"
    n, t, w = (int(s) for s in sizes)
    p, q = float(p_drop), 1 - float(p_drop)

    def args(seed: int, p_value: float = p) -> tuple:
        return (n, t, w, p_value, np.random.default_rng(seed))

    shown = f"{n}, {t}, {w}, p_drop={p}, rng"

    def steps(verified: list[str]) -> None:
        out, used_global = _call(locked_mask, name, args(seeds[0]), shown)
        if not isinstance(out, np.ndarray) or out.shape != (n, t, w):
            got = out.shape if isinstance(out, np.ndarray) else type(out).__name__
            raise Problem(f"{name} must return an array of shape (batch, steps, width) "
                          f"= {(n, t, w)}; got {got}")
        m = out.astype(float)
        kept, dropped = np.isclose(m, 1 / q), np.isclose(m, 0)
        if not np.all(kept | dropped):
            if np.all(np.isclose(m, 1) | dropped):
                raise Problem(f"{name}: kept entries must be 1 / (1 - p_drop) = "
                              f"{1 / q:.3f} (inverted dropout); yours are 1")
            raise Problem(f"{name}: every entry must be 0 or 1 / (1 - p_drop) = "
                          f"{1 / q:.3f}")
        verified.append("entries are 0 or 1 / (1 - p_drop)")
        if not np.all(kept == kept[:, :1, :]):
            changes = np.mean(np.any(kept != kept[:, :1, :], axis=1))
            raise Problem(f"{name}: the mask changes from step to step for "
                          f"{changes:.0%} of the units; draw one mask per sequence "
                          "and repeat it at every step (a fresh mask per step is the "
                          "naive scheme)")
        verified.append("the same mask at every step of a sequence")
        first = kept[:, 0, :]
        if np.all(first == first[:1]):
            raise Problem(f"{name}: every sequence got the same mask; draw one per "
                          "sequence (batch row)")
        verified.append("a different mask for each sequence")
        frac, sd = first.mean(), math.sqrt(p * q / first.size)
        if abs(frac - q) > 5 * sd:
            hint = (" (your rule seems backwards: keep where the uniform draw is below "
                    "1 - p_drop)" if abs(frac - p) <= 5 * sd else "")
            raise Problem(f"{name} keeps {frac:.1%} of the units; expected about "
                          f"{q:.0%} at p_drop = {p}{hint}")
        verified.append("keeps a fraction 1 - p_drop of the units")
        _check_rng(locked_mask, name, args, shown, out, used_global, seeds)
        verified.append("draws from the rng argument")
        ones, _ = _call(locked_mask, name, args(seeds[0], 0.0), shown)
        if not np.allclose(np.asarray(ones, dtype=float), 1.0):
            raise Problem(f"{name}: p_drop = 0 must keep every unit (all ones)")
        verified.append("p_drop = 0 keeps everything")

    return run_steps(name, steps)


# --------------------------------------------------------------------------- DropBlock


def _window_all(dropped: np.ndarray, b: int) -> np.ndarray:
    """For (M, H, W) booleans: whether each b x b window (top-left corner) is all True."""
    m, h, w = dropped.shape
    c = np.zeros((m, h + 1, w + 1), dtype=np.int64)
    c[:, 1:, 1:] = dropped.astype(np.int64).cumsum(1).cumsum(2)
    s = c[:, b:, b:] - c[:, :-b, b:] - c[:, b:, :-b] + c[:, :-b, :-b]
    return s == b * b


def _cover(corners: np.ndarray, b: int, h: int, w: int) -> np.ndarray:
    """The union of the b x b squares whose top-left corners are True."""
    m = corners.shape[0]
    out = np.zeros((m, h, w), dtype=bool)
    for i in range(b):
        for j in range(b):
            out[:, i:i + corners.shape[1], j:j + corners.shape[2]] |= corners
    return out


def _is_union_of_blocks(dropped: np.ndarray, b: int) -> bool:
    """Whether every True of each (H, W) map lies in an all-True b x b square inside it."""
    _, h, w = dropped.shape
    return bool(np.array_equal(_cover(_window_all(dropped, b), b, h, w), dropped))


def _gamma(p: float, b: int, h: int, w: int) -> float:
    return p * h * w / (b * b * (h - b + 1) * (w - b + 1))


def _expected_drop(p: float, b: int, h: int, w: int) -> float:
    """Expected dropped fraction with corners in the valid region at rate gamma."""
    g = _gamma(p, b, h, w)

    def counts(size: int) -> np.ndarray:
        i = np.arange(size)
        return np.minimum(i, size - b) - np.maximum(0, i - b + 1) + 1

    return float(np.mean(1 - (1 - g) ** np.multiply.outer(counts(h), counts(w))))


def check_dropblock_mask(dropblock_mask: Callable, *,
                         shape: tuple[int, int, int, int] = (64, 8, 12, 12),
                         p_drop: float = 0.15, block_size: int = 3,
                         seeds: tuple[int, int] = (_SEED, _OTHER_SEED)) -> CheckResult:
    """Check ``dropblock_mask(shape, p_drop, block_size, rng)`` (Ghiasi et al. 2018).

    Expected: a boolean keep-mask (``True`` = kept) of shape ``(N, C, H, W)``, one per
    example and channel, whose dropped units are a union of ``block_size x block_size``
    squares lying wholly inside the map, with block corners drawn at the rate
    ``gamma`` of the paper's eq. 1, so that the dropped fraction is the one that rate
    gives (5 sigma over maps); drawn from ``rng`` only; ``block_size = 1`` is
    Bernoulli dropout; ``p_drop = 0`` keeps everything.
    """
    name = "dropblock_mask"
    shape_t = tuple(int(s) for s in shape)
    n, c, h, w = shape_t
    p, b = float(p_drop), int(block_size)

    def args(seed: int, p_value: float = p, b_value: int = b) -> tuple:
        return (shape_t, p_value, b_value, np.random.default_rng(seed))

    shown = f"{shape_t}, p_drop={p}, block_size={b}, rng"

    def get(*a: Any) -> np.ndarray:
        out, used = _call(dropblock_mask, name, a, shown)
        if not isinstance(out, np.ndarray) or out.shape != shape_t:
            got = out.shape if isinstance(out, np.ndarray) else type(out).__name__
            raise Problem(f"{name} must return an array of shape (N, C, H, W) = "
                          f"{shape_t}; got {got}")
        if out.dtype != bool:
            raise Problem(f"{name} must return a boolean keep-mask (True = kept); got "
                          f"dtype {out.dtype} (leave the scaling to the layer)")
        return out, used

    def steps(verified: list[str]) -> None:
        out, used_global = get(*args(seeds[0]))
        maps = out.reshape(n * c, h, w)
        want = _expected_drop(p, b, h, w)
        dropped = ~maps
        if not _is_union_of_blocks(dropped, b):
            if _is_union_of_blocks(maps, b) and \
                    abs(maps.mean() - want) < abs(dropped.mean() - want):
                raise Problem(f"{name}: True must mean kept; your True entries form "
                              "the blocks")
            raise Problem(f"{name}: the dropped units must form {b} x {b} squares lying "
                          "wholly inside the map (top-left corners r <= H - block_size, "
                          "c <= W - block_size); yours include units outside any such "
                          "dropped square")
        verified.append(f"drops whole {b} x {b} squares inside the map")
        if c > 1 and np.all(out == out[:, :1]):
            raise Problem(f"{name}: every channel got the same mask; draw one per example "
                          "and channel")
        per_map = dropped.reshape(n * c, -1).mean(axis=1)
        if np.all(per_map == per_map[0]) and np.all(maps == maps[:1]):
            raise Problem(f"{name}: every map got the same mask; draw one per example "
                          "and channel")
        sd = max(per_map.std(ddof=1), 1 / (h * w)) / math.sqrt(per_map.size)
        frac = per_map.mean()
        if abs(frac - want) > 5 * sd:
            g = _gamma(p, b, h, w)
            hint = (f": draw block corners at rate gamma = p_drop / block_size^2 x "
                    f"HW / ((H - block_size + 1)(W - block_size + 1)) = {g:.4f} "
                    "(eq. 1), since each corner drops block_size^2 units")
            raise Problem(f"{name} drops {frac:.1%} of the units; at p_drop = {p} and "
                          f"block_size = {b} on {h} x {w} maps the paper's rate drops "
                          f"about {want:.1%}{hint}")
        verified.append("drops the fraction that the paper's rate gamma gives")
        _check_rng(dropblock_mask, name, lambda s: args(s), shown, out, used_global,
                   seeds)
        verified.append("draws from the rng argument")
        single, _ = get(*args(seeds[0], p, 1))
        frac1 = 1 - single.mean()
        if abs(frac1 - p) > 5 * math.sqrt(p * (1 - p) / single.size):
            raise Problem(f"{name} with block_size = 1 drops {frac1:.1%} of the units; "
                          f"it should be Bernoulli dropout, about {p:.0%}")
        verified.append("block_size = 1 is Bernoulli dropout")
        none, _ = get(*args(seeds[0], 0.0))
        if not np.all(none):
            raise Problem(f"{name}: p_drop = 0 must keep every unit")
        verified.append("p_drop = 0 keeps everything")

    return run_steps(name, steps)


# --------------------------------------------------------------------------- alpha dropout


def check_alpha_constants(alpha_constants: Callable, *,
                          p_drops: tuple[float, ...] = (0.1, 0.2, 0.4)) -> CheckResult:
    """Check ``alpha_constants(p_drop) -> (a, b)``, alpha dropout's affine correction.

    With keep probability ``q = 1 - p_drop`` and ``alpha' = -lambda * alpha`` (SELU),
    ``a = (q + alpha'^2 q (1 - q))^(-1/2)`` and ``b = -a (1 - q) alpha'``, so that
    ``a (x d + alpha' (1 - d)) + b`` has mean 0 and variance 1 when ``x`` does. The
    usual wrong answers get their own message; no message gives the formula.
    """
    name = "alpha_constants"

    def steps(verified: list[str]) -> None:
        for p in p_drops:
            out, _ = _call(alpha_constants, name, (p,), str(p))
            try:
                a, b = (float(v) for v in out)
            except (TypeError, ValueError):
                raise Problem(f"{name}({p}) must return two numbers (a, b); got "
                              f"{type(out).__name__}") from None
            q = 1 - p
            a_want = (q + _ALPHA_PRIME**2 * q * p) ** -0.5
            b_want = -a_want * p * _ALPHA_PRIME
            mean = a * (p * _ALPHA_PRIME) + b
            var = a * a * (q + _ALPHA_PRIME**2 * q * p)
            if math.isclose(a, a_want, rel_tol=1e-4) and \
                    math.isclose(b, b_want, rel_tol=1e-4):
                continue
            if math.isclose(a, q ** -0.5, rel_tol=1e-4) or \
                    math.isclose(a, 1 / q, rel_tol=1e-4):
                raise Problem(f"a = {a:.4f} at p_drop = {p} leaves the output's "
                              f"variance at {var:.3f}, not 1: a dropped unit is not 0 "
                              "but alpha' = -lambda * alpha, and the spread between the "
                              "two values adds variance")
            if math.isclose(b, -b_want, rel_tol=1e-4):
                raise Problem(f"b = {b:.4f} at p_drop = {p} has the wrong sign: the mean "
                              f"becomes {mean:.3f}; alpha' is negative")
            if abs(mean) > 1e-4:
                raise Problem(f"with a = {a:.4f} and b = {b:.4f} at p_drop = {p} the "
                              f"output's mean is {mean:.3f}, not 0: b must cancel the "
                              "mean that the dropped units add")
            raise Problem(f"with a = {a:.4f} at p_drop = {p} the output's variance is "
                          f"{var:.3f}, not 1: compute Var[x d + alpha' (1 - d)] with "
                          "d ~ Bernoulli(1 - p_drop)")
        verified.append("mean 0 and variance 1 at " +
                        ", ".join(f"p_drop = {p}" for p in p_drops))
        zero, _ = _call(alpha_constants, name, (0.0,), "0.0")
        try:
            a0, b0 = (float(v) for v in zero)
        except (TypeError, ValueError):
            raise Problem(f"{name}(0.0) must return two numbers (a, b)") from None
        if not (math.isclose(a0, 1.0, rel_tol=1e-9) and abs(b0) < 1e-12):
            raise Problem(f"{name}(0.0) must be (1, 0): nothing is dropped, so nothing "
                          f"needs correcting; got ({a0:.4g}, {b0:.4g})")
        verified.append("p_drop = 0 is the identity (a, b) = (1, 0)")

    return run_steps(name, steps)

"""Checks for the exercises of ``book/04_ensembles.ipynb`` (dropout as an ensemble).

- :func:`check_enumerate_subnetworks`: ``enumerate_subnetworks(n_units, p_drop)``, every
  mask of a layer with its probability.
- :func:`check_mc_error_bars`: ``mc_error_bars(net, X, n_samples, rng)``, the MC-dropout
  predictive mean and standard deviation of a regression network.

Each check calls the learner's function on fixed inputs with fixed seeds, stops at the
first problem and returns a :class:`~courseware.checks.CheckResult` whose message says
what is wrong. The MC check compares with the *exact* mean and standard deviation,
computed by enumerating all 2**10 subnetworks of a small network, with a 5-sigma
tolerance; the seeds are fixed, so the verdict for a given function never changes.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from dropout_lib.analysis import ensembles as _ens
from dropout_lib.net import MLP
from . import CheckResult
from ._support import (
    Problem as _Problem,
    run_steps as _run,
)

__all__ = ["check_enumerate_subnetworks", "check_mc_error_bars", "reference_net"]

_SEED = 2014
_OTHER_SEED = 1207


def _call(fn: Callable, name: str, args: tuple, shown: str) -> Any:
    try:
        return fn(*args)
    except NotImplementedError:
        raise _Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001 - any error in the learner's code is reported
        text = str(err).splitlines()[0] if str(err) else ""
        raise _Problem(f"{name}({shown}) raised {type(err).__name__}"
                       f"{': ' + text if text else ''}") from None


# --------------------------------------------------------------------------- enumerate


def _get_pair(out: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    if out is None:
        raise _Problem(f"{name} returned None: did you forget the `return` statement?")
    if not isinstance(out, tuple) or len(out) != 2:
        raise _Problem(f"{name} must return a pair (masks, probs); got a "
                       f"{type(out).__name__}" + (f" of length {len(out)}"
                                                  if isinstance(out, (tuple, list)) else ""))
    masks, probs = (np.asarray(a) for a in out)
    return masks, probs


def _check_one(fn: Callable, name: str, n: int, p: float) -> None:
    masks, probs = _get_pair(_call(fn, name, (n, p), f"{n}, {p}"), name)
    q = 1.0 - p
    expected_count = 2 ** n
    if masks.ndim != 2:
        raise _Problem(f"masks must be 2-D, one row per subnetwork; got shape {masks.shape}")
    if masks.shape == (n, expected_count) and n > 1:
        raise _Problem(f"masks has shape {masks.shape}: transposed? Use one ROW per "
                       f"subnetwork, shape ({expected_count}, {n})")
    if masks.shape[1] != n:
        raise _Problem(f"each mask must have one entry per unit ({n}); got shape "
                       f"{masks.shape}")
    if masks.shape[0] != expected_count:
        raise _Problem(f"a layer of {n} units has 2**{n} = {expected_count} subnetworks "
                       f"(each unit is kept or dropped); you returned {masks.shape[0]}")
    if not (masks.dtype == bool or np.all(np.isin(masks, (0, 1)))):
        raise _Problem("masks must hold only True/False (or 1/0): 1 = kept, 0 = dropped")
    m = masks.astype(bool)
    if len({row.tobytes() for row in m}) != expected_count:
        raise _Problem(f"some masks appear twice, so some of the {expected_count} "
                       "subnetworks are missing: every on/off pattern must appear once")
    if probs.shape != (expected_count,):
        raise _Problem(f"probs must have one probability per mask, shape ({expected_count},); "
                       f"got shape {probs.shape}")
    if not np.issubdtype(probs.dtype, np.floating) and not np.issubdtype(probs.dtype,
                                                                         np.integer):
        raise _Problem(f"probs must be numbers; got dtype {probs.dtype}")
    probs = probs.astype(np.float64)
    kept = m.sum(axis=1)
    right = q ** kept * p ** (n - kept)
    if np.allclose(probs, right, rtol=1e-9, atol=1e-15):
        return
    if np.allclose(probs, p ** kept * q ** (n - kept), rtol=1e-9, atol=1e-15):
        raise _Problem(
            f"with p_drop = {p} your all-kept mask has probability {probs[kept == n][0]:.4g}, "
            f"expected (1 - p_drop)**{n} = {q ** n:.4g}: you used p_drop as the KEEP "
            "probability; a kept unit contributes a factor 1 - p_drop, a dropped one p_drop")
    if np.allclose(probs, 1.0 / expected_count):
        raise _Problem(
            f"every mask has probability 1/{expected_count}; that is only right for "
            f"p_drop = 0.5. With p_drop = {p} a mask keeping k of {n} units has probability "
            f"(1 - p_drop)**k * p_drop**({n} - k)")
    total = float(probs.sum())
    if not math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-9):
        raise _Problem(f"your probabilities sum to {total:.4g}, not 1: every subnetwork "
                       "must get the probability of its own pattern of kept and dropped units")
    i = int(np.argmax(np.abs(probs - right)))
    raise _Problem(
        f"mask {m[i].astype(int).tolist()} has probability {probs[i]:.4g}, expected "
        f"{right[i]:.4g} = (1 - p_drop)**{int(kept[i])} * p_drop**{n - int(kept[i])}; "
        "check that probs[i] belongs to masks[i]")


def check_enumerate_subnetworks(
        enumerate_subnetworks: Callable, *,
        cases: tuple[tuple[int, float], ...] = ((3, 0.25), (1, 0.5), (5, 0.1), (4, 0.0)),
) -> CheckResult:
    """Check ``enumerate_subnetworks(n_units, p_drop) -> (masks, probs)``.

    Verified, in order (the first failure is reported):

    1. it returns a pair ``(masks, probs)``;
    2. for 3 units and ``p_drop = 0.25``: ``masks`` has one row per subnetwork, shape
       (8, 3), only 0/1 values, every pattern exactly once;
    3. ``probs[i]`` is the probability of ``masks[i]``: (1 - p)**kept * p**dropped
       (the common mistakes, p as the keep probability and equal probabilities, get
       their own message);
    4. the same for 1 unit with ``p_drop = 0.5``, 5 units with ``p_drop = 0.1`` and
       ``p_drop = 0`` (one subnetwork has all the probability).

    Parameters
    ----------
    enumerate_subnetworks : callable
        The learner's function.
    cases
        The (n_units, p_drop) pairs checked, the first with its own verdict line. The
        defaults are the visible check; the grader (:mod:`courseware.judge`) draws hidden
        ones at grading time.

    Returns
    -------
    CheckResult
    """
    name = "enumerate_subnetworks"

    def steps(verified: list[str]) -> None:
        if not callable(enumerate_subnetworks):
            raise _Problem(f"expected a function, got a {type(enumerate_subnetworks).__name__}")
        (n0, p0), rest = cases[0], cases[1:]
        _check_one(enumerate_subnetworks, name, n0, p0)
        verified.append(f"{n0} units, p_drop = {p0:g}: all {2 ** n0} masks, each with its "
                        "probability")
        for n, p in rest:
            _check_one(enumerate_subnetworks, name, n, p)
        verified.append(f"{_and(sorted({n for n, _ in rest}))} units, p_drop = "
                        f"{_and([f'{p:g}' for _, p in rest])}: right masks and probabilities")

    return _run(name, steps)


# --------------------------------------------------------------------------- MC error bars


def _and(items: list) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def reference_net(seed: int = _OTHER_SEED, p_drop: float = 0.3) -> MLP:
    """A small regression network (2 x 5 droppable units) with fixed, non-trivial weights.

    Dropout on two layers makes the output nonlinear in the masks, so the MC mean differs
    from the weight-scaled prediction, and the spread is well below 1, so the variance
    cannot be mistaken for the standard deviation.
    """
    net = MLP([1, 5, 5, 1], activation="tanh", p_drop_hidden=p_drop, seed=_SEED)
    rng = np.random.default_rng(seed)
    params = net.get_params()
    params["W1"] = 2.0 * rng.normal(size=(1, 5))
    params["b1"] = rng.normal(size=5)
    params["W2"] = rng.normal(size=(5, 5))
    params["b2"] = 0.5 * rng.normal(size=5)
    params["W3"] = 0.3 * rng.normal(size=(5, 1))
    params["b3"] = np.array([0.3])
    net.set_params(params)
    return net


def _exact_moments(net: MLP, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact mean, standard deviation and kurtosis of the output over all subnetworks."""
    masks, probs = _ens.enumerate_masks(10, net.p_drop_hidden[0])
    f = _ens.subnetwork_outputs(net, X, masks)[..., 0]
    mean = probs @ f
    var = probs @ (f - mean) ** 2
    return mean, np.sqrt(var), (probs @ (f - mean) ** 4) / var ** 2


def check_mc_error_bars(mc_error_bars: Callable, *, net: MLP | None = None,
                        X: np.ndarray | None = None,
                        seeds: tuple[int, int] = (_SEED, _OTHER_SEED)) -> CheckResult:
    """Check ``mc_error_bars(net, X, n_samples, rng) -> (mean, std)`` (MC dropout).

    Verified, in order (the first failure is reported):

    1. it returns a pair of arrays of shape (N,) for N inputs;
    2. ``std`` is not zero everywhere (dropout stays on at test time);
    3. with 4000 passes the mean and the standard deviation agree with the exact
       values over all 2**10 subnetworks of a small network (5-sigma tolerance); the
       variance instead of the standard deviation, and the weight-scaled prediction
       instead of the MC mean, get their own message;
    4. it draws from the ``rng`` argument (same seed, same result; another seed,
       another result) and does not change ``X`` or the network.

    Parameters
    ----------
    mc_error_bars : callable
        The learner's function.
    net, X, seeds
        The network (:func:`reference_net`, two layers of 5 units with dropout on both;
        None: the visible check's), the inputs (shape (N, 1)) and two seeds. The defaults
        are the visible check; the grader draws hidden ones at grading time.

    Returns
    -------
    CheckResult
    """
    name = "mc_error_bars"

    def steps(verified: list[str]) -> None:
        if not callable(mc_error_bars):
            raise _Problem(f"expected a function, got a {type(mc_error_bars).__name__}")
        net_ = reference_net() if net is None else net
        params = net_.get_params()
        X_ = np.linspace(-3.0, 3.0, 13)[:, None] if X is None else np.array(X, dtype=float)
        X0 = X_.copy()
        s0, s1 = seeds
        T = 4000
        out = _call(mc_error_bars, name, (net_, X_, T, np.random.default_rng(s0)),
                    f"net, X, {T}, rng")
        if out is None:
            raise _Problem(f"{name} returned None: did you forget the `return` statement?")
        if not isinstance(out, tuple) or len(out) != 2:
            raise _Problem(f"{name} must return a pair (mean, std); got a "
                           f"{type(out).__name__}")
        mean, std = (np.asarray(a, dtype=np.float64) for a in out)
        N = X_.shape[0]
        for what, arr in (("mean", mean), ("std", std)):
            if arr.shape == (N, 1):
                raise _Problem(f"{what} has shape ({N}, 1); return 1-D arrays of shape "
                               f"({N},), e.g. samples[:, :, 0].mean(axis=0)")
            if arr.shape == (T,) or arr.shape == (T, 1):
                raise _Problem(f"{what} has one value per pass ({T}), not per input: "
                               "average over the passes (axis 0), not over the inputs")
            if arr.shape != (N,):
                raise _Problem(f"{what} must have shape ({N},), one value per input; "
                               f"got {arr.shape}")
        if not np.array_equal(X_, X0):
            raise _Problem(f"{name} changed its input X; work on a copy")
        for k, v in params.items():
            if not np.array_equal(net_.params[k], v):
                raise _Problem(f"{name} changed the network's parameter {k}; it must only "
                               "run forward passes")
        verified.append("returns mean and std of shape (N,)")
        if np.all(np.abs(std) <= 1e-12 * (1.0 + np.abs(mean))):
            raise _Problem("your std is zero everywhere: the passes are all the same. Keep "
                           "dropout ON at test time (net.forward(X, train=True, rng=rng) or "
                           "net.mc_predict), otherwise every pass is the mean network")
        exact_mean, exact_std, kurtosis = _exact_moments(net_, X_)
        ws = net_.scores(X_)[:, 0]
        tol_mean = 5 * exact_std / math.sqrt(T) + 1e-9
        if np.any(np.abs(mean - exact_mean) > tol_mean):
            if np.allclose(mean, ws, atol=1e-9):
                raise _Problem("your mean is the weight-scaled (dropout off) prediction; "
                               "MC dropout's mean is the average of the T stochastic passes")
            i = int(np.argmax(np.abs(mean - exact_mean) / tol_mean))
            raise _Problem(f"at x = {X_[i, 0]:.1f} your mean is {mean[i]:.4f}, but the exact "
                           f"average over all subnetworks is {exact_mean[i]:.4f} (allowed "
                           f"error {tol_mean[i]:.4f}): average the outputs of the passes")
        verified.append("mean agrees with the exact mean over all 1024 subnetworks")
        # The sd of a sample std is about std * sqrt((kurtosis - 1) / (4 T)): allow 5 of them.
        rel_tol = 5 * np.sqrt((kurtosis - 1) / (4 * T)) + 1e-3
        rel = np.abs(std - exact_std) / exact_std
        if np.any(rel > rel_tol):
            # a sample variance's relative error is twice a sample std's
            if np.all(np.abs(std - exact_std ** 2) <= 2 * rel_tol * exact_std ** 2):
                raise _Problem("your std looks like the variance: take the square root")
            i = int(np.argmax(rel))
            raise _Problem(f"at x = {X_[i, 0]:.1f} your std is {std[i]:.4f}, but the exact "
                           f"spread over all subnetworks is {exact_std[i]:.4f}: compute the "
                           "standard deviation of the T passes at each input (axis 0)")
        verified.append("std agrees with the exact spread over all 1024 subnetworks")
        a = _call(mc_error_bars, name, (net_, X_, 50, np.random.default_rng(s0)),
                  "net, X, 50, rng")
        b = _call(mc_error_bars, name, (net_, X_, 50, np.random.default_rng(s0)),
                  "net, X, 50, rng")
        c = _call(mc_error_bars, name, (net_, X_, 50, np.random.default_rng(s1)),
                  "net, X, 50, rng")
        same = all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))
        if not same:
            raise _Problem("the same rng seed gave different results: draw the masks from "
                           "the rng argument, not from np.random")
        if all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, c)):
            raise _Problem("two different rng seeds gave the same result: does your function "
                           "make its own generator instead of using the rng argument?")
        verified.append("reproducible with the rng argument")

    return _run(name, steps)

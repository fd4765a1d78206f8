"""Checks for the exercises of ``book/03_co_adaptation.ipynb`` (co-adaptation by experiment).

- :func:`check_knockout_accuracy`: ``knockout_accuracy(net, X, y, layer, fraction, rng)``,
  the test accuracy after removing a random fraction of one hidden layer's units.
- :func:`check_unit_damage`: ``unit_damage(net, X, y, layer)``, the increase of the test
  loss when each unit of a hidden layer is removed alone.

Each check calls the learner's function on a small network trained here (64-24-16-10,
seeded, a fraction of a second), watches which units it switches off and in which mode
it evaluates, stops at the first problem and returns a
:class:`~courseware.checks.CheckResult` that says what is wrong. The verdict for a given
function never changes between runs.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from dropout_lib.analysis.coadaptation import accuracy_and_loss
from dropout_lib.analysis.coadaptation import unit_damage as _ref_unit_damage
from dropout_lib.data import digits_splits
from dropout_lib.net import MLP
from dropout_lib.training import fit
from . import CheckResult
from ._support import (
    Problem as _Problem,
    run_steps as _run,
    describe_error as _describe_error,
)

__all__ = ["check_knockout_accuracy", "check_unit_damage", "trained_model"]

_SEED = 2012  # Hinton et al.'s co-adaptation paper
_OTHER_SEED = 1207


class _SpyMLP(MLP):
    """An MLP that records the mode and the ablation of every forward pass."""

    calls: list[tuple[bool, dict[int, np.ndarray] | None]]

    def forward(self, X, *, train, rng=None, ablate=None, **hooks):  # type: ignore[override]
        if hooks.get("from_layer", 0):  # the library's own knock-outs: not recorded
            return super().forward(X, train=train, rng=rng, ablate=ablate, **hooks)
        record = None
        if ablate is not None:
            record = {}
            for layer, units in dict(ablate).items():
                u = np.asarray(units)
                H = self.layer_sizes[int(layer)] if 1 <= int(layer) <= self.n_hidden else 0
                if u.dtype == bool and u.shape == (H,):
                    u = np.flatnonzero(u)
                record[int(layer)] = np.asarray(u).ravel()
        self.calls.append((train, record))
        return super().forward(X, train=train, rng=rng, ablate=ablate, **hooks)


@functools.lru_cache(maxsize=1)
def _trained_params() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    data = digits_splits(seed=0, n_train=300)
    net = MLP([64, 24, 16, 10], p_drop_hidden=0.2, seed=_SEED)
    fit(net, (data.X_train, data.y_train), epochs=30, batch_size=32, optimizer="adam",
          seed=_SEED)
    X, y = data.get("test")
    return net.get_params(), X[:200].copy(), y[:200].copy()


#: A network to check on: (layer sizes, parameters, test inputs, test labels).
Model = tuple[tuple[int, ...], dict[str, np.ndarray], np.ndarray, np.ndarray]


def trained_model(sizes: tuple[int, ...] = (64, 24, 16, 10), seed: int = _SEED,
                  data_seed: int = 0) -> Model:
    """Train the small network the checks use (seeded, a fraction of a second).

    The defaults are the visible check's network; the grader trains another one, with
    hidden layer sizes and seeds, at grading time.
    """
    data = digits_splits(seed=data_seed, n_train=300)
    net = MLP(list(sizes), p_drop_hidden=0.2, seed=seed)
    fit(net, (data.X_train, data.y_train), epochs=30, batch_size=32, optimizer="adam",
        seed=seed)
    X, y = data.get("test")
    return tuple(sizes), net.get_params(), X[:200].copy(), y[:200].copy()


def _spy(model: Model | None = None) -> tuple[_SpyMLP, np.ndarray, np.ndarray]:
    if model is None:
        params, X, y = _trained_params()
        sizes: tuple[int, ...] = (64, 24, 16, 10)
    else:
        sizes, params, X, y = model
    net = _SpyMLP(list(sizes), p_drop_hidden=0.2, seed=0)
    net.set_params(params)
    net.calls = []
    return net, X.copy(), y.copy()


def _call(fn: Callable, name: str, *args: Any) -> Any:
    try:
        return fn(*args)
    except NotImplementedError:
        raise _Problem(f"not implemented yet: {name} raises NotImplementedError") from None
    except Exception as err:  # noqa: BLE001 - any error in the learner's code is reported
        raise _Problem(_describe_error(name, err)) from None


def _check_eval_mode(net: _SpyMLP, name: str) -> None:
    if not net.calls:
        raise _Problem(f"{name} never ran the network: compute the predictions with "
                       "net.predict(X, ablate=...) or net.forward(X, train=False, ablate=...)")
    if any(train for train, _ in net.calls):
        raise _Problem(f"{name} ran the network with train=True, so dropout's random masks "
                       "were applied on top of your knock-out; evaluate with train=False "
                       "(net.predict does)")


def _as_float(value: Any, name: str) -> float:
    if value is None:
        raise _Problem(f"{name} returned None: did you forget the `return` statement?")
    arr = np.asarray(value)
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.number):
        raise _Problem(f"{name} must return one number (the accuracy); got "
                       f"{type(value).__name__} of shape {arr.shape}")
    return float(arr.ravel()[0])


# --------------------------------------------------------------------------- knockout_accuracy


def _check_count(units: np.ndarray, want: int, H: int, fraction: float) -> None:
    n = int(np.unique(units).size)
    if n == want:
        return
    msg = (f"with fraction = {fraction} of a layer of {H} units, {want} units should be "
           f"removed; yours removed {n}")
    if units.size != n:
        msg += (": some units were drawn twice; draw without replacement, e.g. "
                "rng.permutation(H)[:k] or rng.choice(H, k, replace=False)")
    elif n == H - want:
        msg += ": that is the kept fraction; fraction is the fraction REMOVED"
    raise _Problem(msg)


def check_knockout_accuracy(knockout_accuracy: Callable, *, model: Model | None = None,
                            seeds: tuple[int, int] = (_SEED, _OTHER_SEED),
                            layers: tuple[int, int] = (2, 1),
                            fractions: tuple[float, float] = (0.25, 0.75)) -> CheckResult:
    """Check ``knockout_accuracy(net, X, y, layer, fraction, rng) -> float``.

    Verified, in order (the first failure is reported):

    1. it returns one number and evaluates without dropout noise (``train=False``);
    2. ``fraction = 0`` gives the intact network's accuracy;
    3. ``fraction = 0.25`` removes ``round(0.25 * H)`` distinct units of the requested
       layer and of no other (not the kept fraction, not the wrong layer);
    4. the number returned is the accuracy of the network with exactly those units
       removed (not the error rate, not the intact accuracy);
    5. the units are drawn from ``rng``: same seed, same units; another seed, others;
    6. ``fraction = 1`` removes every unit, and then every example gets the same class.

    Parameters
    ----------
    knockout_accuracy : callable
        The learner's function.
    model, seeds, layers, fractions
        The network (:func:`trained_model`; None: the visible check's), two seeds, and
        the two (layer, fraction) lesions checked. The defaults are the visible check;
        the grader (:mod:`courseware.judge`) draws hidden ones at grading time.

    Returns
    -------
    CheckResult
        Never raises because of a mistake in ``knockout_accuracy``.
    """
    name = "knockout_accuracy"

    s0, s1 = seeds
    (la, lb), (fa, fb) = layers, fractions

    def call(fraction: float, seed: int, layer: int = 1):
        net, X, y = _spy(model)
        out = _call(knockout_accuracy, name, net, X, y, layer, fraction,
                    np.random.default_rng(seed))
        return _as_float(out, name), net, X, y

    def removed(net: _SpyMLP) -> dict[int, np.ndarray]:
        for _, ab in net.calls:
            if ab:
                return ab
        return {}

    def steps(verified: list[str]) -> None:
        if not callable(knockout_accuracy):
            raise _Problem(f"expected a function, got a {type(knockout_accuracy).__name__}")
        acc0, net, X, y = call(0.0, s0)
        _check_eval_mode(net, name)
        intact, _ = accuracy_and_loss(net, X, y)
        verified.append("returns one number and evaluates with train=False")
        if not np.isclose(acc0, intact):
            msg = (f"with fraction = 0 nothing is removed, so the result should be the intact "
                   f"accuracy {intact:.3f}; yours is {acc0:.3f}")
            if np.isclose(acc0, 1 - intact):
                msg += ": you return the error rate; return the fraction of correct predictions"
            elif acc0 < 0.3:
                msg += (": did you remove the units you meant to keep? fraction is the "
                        "fraction REMOVED")
            raise _Problem(msg)
        verified.append("fraction = 0 gives the intact accuracy")

        acc, net, X, y = call(fa, s0, layer=la)
        _check_eval_mode(net, name)
        ab = removed(net)
        H = net.layer_sizes[la]
        want = int(round(fa * H))
        if not ab:
            raise _Problem(f"with fraction = {fa:g} your function switched off no unit: pass "
                           f"ablate={{layer: units}} to net.predict, with {want} of the "
                           f"{H} units of the layer")
        if set(ab) != {la}:
            raise _Problem(f"asked to lesion hidden layer {la}, your function switched off "
                           f"units in layer(s) {sorted(ab)}: use the layer argument as the "
                           "key of ablate")
        units = ab[la]
        _check_count(units, want, H, fa)
        _, net75, _, _ = call(fb, s0, layer=lb)
        H1 = net75.layer_sizes[lb]
        _check_count(removed(net75).get(lb, np.array([], dtype=int)), int(round(fb * H1)),
                     H1, fb)
        expected, _ = accuracy_and_loss(net, X, y, ablate={la: units})
        if not np.isclose(acc, expected):
            intact, _ = accuracy_and_loss(net, X, y)
            msg = (f"with units {sorted(units.tolist())[:4]}... of layer {la} removed the "
                   f"accuracy is {expected:.3f}; your function returned {acc:.3f}")
            if np.isclose(acc, 1 - expected):
                msg += ": that is the error rate"
            elif np.isclose(acc, intact):
                msg += (": that is the intact accuracy; pass the same ablate dict to the "
                        "forward pass that makes the predictions")
            raise _Problem(msg)
        verified.append("removes round(fraction * H) distinct units of the requested layer "
                        "and returns the accuracy without them")

        _, net_a, _, _ = call(fa, s0, layer=la)
        a = removed(net_a).get(la)
        if a is None or not np.array_equal(np.sort(a), np.sort(units)):
            raise _Problem("the same rng seed removed different units: draw them from the "
                           "rng argument (rng.permutation or rng.choice), not np.random")
        # two seeds, on the larger lesion: two random draws agree with probability
        # 1 / C(H, k), below one in 100,000 here
        b0 = removed(call(fb, s0, layer=lb)[1]).get(lb)
        b1 = removed(call(fb, s1, layer=lb)[1]).get(lb)
        if b0 is None or b1 is None or np.array_equal(np.sort(b0), np.sort(b1)):
            raise _Problem("two different rng seeds removed the same units: draw them at "
                           "random from the rng argument (not the first k units, not a "
                           "generator you make yourself)")
        verified.append("draws the removed units from the rng argument")

        acc1, net, X, y = call(1.0, s0, layer=1)
        ab = removed(net)
        if not ab or int(np.unique(ab.get(1, [])).size) != net.layer_sizes[1]:
            raise _Problem(f"with fraction = 1 all {net.layer_sizes[1]} units of the layer "
                           "must be removed")
        pred = net.predict(X, ablate={1: np.arange(net.layer_sizes[1])})
        const = float(np.mean(y == pred[0]))
        if not np.isclose(acc1, const):
            raise _Problem(f"with every unit removed the network gives every example the same "
                           f"class, accuracy {const:.3f}; yours returned {acc1:.3f}")
        verified.append("fraction = 1 removes every unit (constant predictions)")

    return _run(name, steps)


# --------------------------------------------------------------------------- unit_damage


def check_unit_damage(unit_damage: Callable, *, model: Model | None = None,
                      layers: tuple[int, ...] = (2,)) -> CheckResult:
    """Check ``unit_damage(net, X, y, layer) -> ndarray of shape (H,)``.

    The expected value for unit ``i`` is the mean test cross-entropy with unit ``i``
    alone removed minus that of the intact network (positive = the unit helped), as in
    :func:`dropout_lib.analysis.coadaptation.unit_damage`. Verified: the shape (one value per unit
    of the requested layer), evaluation with ``train=False``, and the values (within
    1e-6), with specific messages for a flipped sign, a missing subtraction of the
    intact loss, accuracy instead of loss, and units removed cumulatively.

    Parameters
    ----------
    unit_damage : callable
        The learner's function.
    model, layers
        The network (:func:`trained_model`; None: the visible check's) and the hidden
        layers whose units are removed, checked in this order. The defaults are the
        visible check; the grader draws hidden ones at grading time.

    Returns
    -------
    CheckResult
        Never raises because of a mistake in ``unit_damage``.
    """
    name = "unit_damage"

    def one_layer(layer: int) -> int:
        net, X, y = _spy(model)
        H = net.layer_sizes[layer]
        other = 2 if layer == 1 else 1
        out = _call(unit_damage, name, net, X, y, layer)
        if out is None:
            raise _Problem(f"{name} returned None: did you forget the `return` statement?")
        d = np.asarray(out, dtype=np.float64) if np.asarray(out).dtype != object else None
        if d is None or d.shape != (H,):
            shape = np.asarray(out).shape
            msg = f"expected one value per unit of layer {layer}, shape ({H},); got {shape}"
            if shape == (net.layer_sizes[other],) and H != net.layer_sizes[other]:
                msg += (f": that is the size of layer {other}; remove the units of the layer "
                        "argument")
            raise _Problem(msg)
        _check_eval_mode(net, name)
        ref = _ref_unit_damage(net, X, y, layer=layer)
        if np.allclose(d, ref, rtol=0, atol=1e-6):
            return H
        _, loss0 = accuracy_and_loss(net, X, y)
        acc_ref = _ref_unit_damage(net, X, y, layer=layer, metric="acc")
        cumulative = np.array([accuracy_and_loss(net, X, y, ablate={layer: np.arange(i + 1)})[1]
                               for i in range(H)]) - loss0
        i = int(np.argmax(np.abs(d - ref)))
        msg = (f"for unit {i} of layer {layer} the damage should be {ref[i]:.4f} (loss "
               f"without it minus intact loss {loss0:.4f}); yours is {d[i]:.4f}")
        if np.allclose(d, -ref, atol=1e-6):
            msg += ": the sign is flipped; compute loss_without_unit - loss_intact"
        elif np.allclose(d, ref + loss0, atol=1e-6):
            msg += ": you return the loss without the unit; subtract the intact network's loss"
        elif np.allclose(np.abs(d), np.abs(acc_ref), atol=1e-6):
            msg += (": those are changes of the accuracy; measure the damage with the mean "
                    "cross-entropy loss, which also sees small changes of confidence")
        elif np.allclose(d, cumulative, atol=1e-6):
            msg += (": you removed units 0..i together; remove only unit i each time "
                    "(a fresh ablate={layer: [i]} per unit)")
        raise _Problem(msg)

    def steps(verified: list[str]) -> None:
        if not callable(unit_damage):
            raise _Problem(f"expected a function, got a {type(unit_damage).__name__}")
        sizes = [one_layer(layer) for layer in layers]
        shown = ", ".join(f"({h},)" for h in sizes)
        verified.append(f"returns one value per unit, shape {shown}, evaluated with train=False")
        verified.append("each value is the loss increase when that unit alone is removed")

    return _run(name, steps)

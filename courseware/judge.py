"""Judging that the student's code cannot reach: the kernel computes, the grader judges.

The student's notebook runs in a :class:`~courseware.sandbox.Sandbox` kernel, but no check
runs there and nothing the kernel prints or writes is read as a verdict. After the
notebook has run, the grader calls the book's check function (``courseware.checks``)
*in the grader's own process*, handing it a :class:`~courseware.remote.RemoteFunction`
instead of each of the student's functions: every call of it runs the student's function
in the kernel on the arguments the check chose and brings back its result as plain data
(:mod:`courseware.remote`).

So the check's logic and messages are the visible check's, unchanged, but they run where
the student's code cannot monkeypatch, rewrite, suppress or log anything, and on inputs
(:func:`hidden_inputs`) drawn with :mod:`secrets` at grading time: seeds, shapes, drop
probabilities, block sizes, and for chapters 3 and 4 networks (layer sizes, weights, data) that differ
from the visible check's. Whatever the kernel sends back is only data; the one way to pass
is to compute correct results for inputs one cannot know in advance.

:data:`JUDGES` says, for each chapter, which exercise is judged by which check. Every
*implement* exercise has a judge, and so has each derive exercise with a numeric answer
(chapters 2, 5 and 6); the other derive, explore and predict-then-run exercises are graded
by hand (see ``book/instructors.md``).
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import CheckResult
from .checks import coadaptation as _coad
from .checks import ensembles as _ens
from .checks import inverted as _inv
from .checks import masks as _masks
from .checks import modern as _mod
from .checks import sequences as _seq
from .remote import KernelGone, RemoteFunction, session
from .sandbox import Sandbox

__all__ = ["JUDGES", "Judge", "RemoteFunction", "hidden_inputs", "judge_exercise"]


@dataclass(frozen=True)
class Judge:
    """How one exercise is judged: the student's functions, in the order the check takes
    them, the check, and the draw of its hidden keyword arguments."""

    functions: tuple[str, ...]
    check: Callable[..., CheckResult]
    hidden: Callable[[], dict[str, Any]]

    @property
    def function(self) -> str:
        return self.functions[-1]


# --------------------------------------------------------------------------- hidden inputs


def _seeds() -> tuple[int, int]:
    a, b = secrets.randbits(63), secrets.randbits(63)
    return (a, b) if a != b else (a, b + 1)


def _between(lo: int, hi: int) -> int:
    return lo + secrets.randbelow(hi - lo + 1)


def _uniform(lo: float, hi: float) -> float:
    """A drop probability in [lo, hi], rounded to 3 decimals (readable in messages)."""
    return round(lo + (hi - lo) * secrets.randbelow(10**6) / 10**6, 3)


def _choice(options: tuple) -> Any:
    return options[secrets.randbelow(len(options))]


def _hidden_draw_mask() -> dict[str, Any]:
    # p_drop away from 0.5, where a backwards rule keeps the right fraction; the shared
    # cases are a sequence-like 3-D shape and an image-like 4-D one with fresh sizes and
    # shared axes, never the visible ((40, 30, 50), (1,)) and ((64, 12, 5, 7), (2, 3))
    three = ((_between(30, 55), _between(20, 40), _between(40, 60)),
             _choice(((0,), (1,), (2,))))
    four = ((_between(50, 80), _between(8, 14), _between(3, 6), _between(3, 7)),
            _choice(((2, 3), (1,), (1, 3), (3,))))
    if three == ((40, 30, 50), (1,)):
        three = ((41, 30, 50), (1,))
    if four == ((64, 12, 5, 7), (2, 3)):
        four = ((65, 12, 5, 7), (2, 3))
    return {"seeds": _seeds(), "shape": (_between(150, 260), _between(380, 620)),
            "p_drops": tuple(p if p not in (0.2, 0.7) else round(p + 0.001, 3)
                             for p in (_hidden_p(0.12, 0.4), _hidden_p(0.58, 0.85))),
            "cases": (three, four),
            "edge": (_between(30, 60), _between(20, 50)),
            "others": ((_between(3, 11),),)}


def _hidden_dropconnect() -> dict[str, Any]:
    # p_drop away from 0.5, where a backwards rule keeps the right fraction; D_out of at
    # least 5, so that a correct mask almost never keeps or drops a whole row of W
    dims = (_between(4, 9), _between(5, 10))
    if dims == (6, 8):                                  # never the visible check's layer
        dims = (7, 8)
    return {"seeds": _seeds(), "p_drop": _hidden_p(0.15, 0.42), "dims": dims,
            "repeats": _between(70, 130), "dense": _between(250, 450)}


def _hidden_inverted() -> dict[str, Any]:
    forward = {"seeds": _seeds(), "shape": (_between(150, 260), _between(380, 620)),
               "wide": (_between(80, 120), _between(900, 1200)),
               "p_drops": (_uniform(0.22, 0.45), _uniform(0.55, 0.68))}
    backward = {"seeds": _seeds(), "shape": (_between(4, 6), _between(5, 8)),
                "p_drop": _uniform(0.25, 0.45)}
    return {"forward": forward, "backward": backward}


def _check_inverted(dropout_forward: Callable, dropout_backward: Callable, *,
                    forward: dict[str, Any], backward: dict[str, Any]) -> CheckResult:
    """Chapter 2's one exercise: the forward pass, then the backward pass."""
    first = _inv.check_dropout_forward(dropout_forward, **forward)
    if not first.passed:
        return first
    second = _inv.check_dropout_backward(dropout_forward, dropout_backward,
                                         forward=forward, forward_checked=True, **backward)
    if not second.passed:
        return second
    return CheckResult("dropout_forward and dropout_backward", True,
                       first.messages + second.messages)


def _hidden_lr_factor() -> dict[str, Any]:
    # never 0.5, where p_drop^2 and (1 - p_drop)^2 coincide, nor a visible value
    visible = (0.2, 0.6, 0.9)

    def draw(lo: float, hi: float) -> float:
        p = _uniform(lo, hi)
        return p if p not in visible else round(p + 0.001, 3)
    return {"p_drops": (draw(0.05, 0.3), draw(0.32, 0.45), draw(0.55, 0.92))}


def _hidden_model() -> _coad.Model:
    """A network the student has never seen: hidden layer sizes, weights and data split.
    The first hidden layer is wider than the visible one's 24 units, so that removing a
    quarter or three quarters of it with replacement almost surely draws a unit twice."""
    sizes = (64, _choice((28, 32, 36, 40)), 16, 10)
    return _coad.trained_model(sizes, seed=secrets.randbits(32),
                               data_seed=1 + secrets.randbelow(10**6))


def _hidden_knockout() -> dict[str, Any]:
    # as in the visible check: part of layer 2 (16 units: a whole number of units, never
    # half, so that the kept and the removed fraction differ, and never so many that the
    # accuracy falls to the error rate's level), then three quarters of layer 1
    return {"model": _hidden_model(), "seeds": _seeds(), "layers": (2, 1),
            "fractions": (_choice((0.25, 0.375, 0.625)), 0.75)}


def _hidden_unit_damage() -> dict[str, Any]:
    return {"model": _hidden_model(), "layers": (2, 1)}


def _hidden_enumerate() -> dict[str, Any]:
    def p_away_from_half() -> float:
        return _choice((_uniform(0.05, 0.45), _uniform(0.55, 0.95)))
    return {"cases": ((_between(3, 6), _uniform(0.1, 0.45)), (1, _uniform(0.55, 0.9)),
                      (_between(4, 7), p_away_from_half()), (_between(2, 5), 0.0))}


def _hidden_mc() -> dict[str, Any]:
    n = _choice((9, 10, 11, 12, 14, 15, 16, 17))      # never the visible check's 13 inputs
    x = np.sort(np.array([_uniform(-3.0, 3.0) for _ in range(n)]))
    return {"net": _ens.reference_net(seed=secrets.randbits(32), p_drop=_uniform(0.2, 0.4)),
            "X": x[:, None], "seeds": _seeds()}


def _hidden_p(lo: float, hi: float) -> float:
    """A drop probability in [lo, hi], never the visible checks' 0.3."""
    p = _uniform(lo, hi)
    return p if p != 0.3 else round(p + 0.001, 3)


def _hidden_gaussian() -> dict[str, Any]:
    # p_drop well below 0.5: there the variance p/(1-p) is 1 and equals its square root,
    # so scaling the noise by the variance instead of the std would go unnoticed
    return {"seeds": _seeds(), "shape": (_between(300, 450), _between(400, 600)),
            "p_drop": _hidden_p(0.12, 0.4)}


def _hidden_spatial() -> dict[str, Any]:
    # below 0.45: at p_drop = 0.5 a rule that keeps p_drop instead of 1 - p_drop of
    # the maps is indistinguishable from the right one
    return {"seeds": _seeds(), "p_drop": _hidden_p(0.15, 0.4),
            "shape": (_between(250, 350), _between(30, 50), _between(3, 5),
                      _between(3, 5))}


def _hidden_drop_path() -> dict[str, Any]:
    return {"seeds": _seeds(), "p_drop": _hidden_p(0.15, 0.4),
            "shape": (_between(1500, 2500), _between(4, 8), _between(3, 6))}


def _hidden_noise_variance() -> dict[str, Any]:
    # never 0.5, where the variance p/(1-p) is 1 and equals its square root
    return {"p_drops": (_hidden_p(0.05, 0.25), _hidden_p(0.32, 0.45),
                        _hidden_p(0.62, 0.9))}


def _hidden_locked() -> dict[str, Any]:
    # p_drop away from 0.5, where a backwards rule keeps the right fraction
    sizes = (_between(300, 500), _between(8, 20), _between(30, 60))
    if sizes == (400, 12, 50):                          # never the visible check's sizes
        sizes = (401, 12, 50)
    return {"seeds": _seeds(), "p_drop": _hidden_p(0.15, 0.42), "sizes": sizes}


def _hidden_dropblock() -> dict[str, Any]:
    # the visible check is (64, 8, 12, 12), p_drop 0.15, block_size 3; gamma stays
    # below 0.1 for every draw (p_drop <= 0.25, block_size >= 2, maps >= 10 x 10)
    p = _uniform(0.08, 0.25)
    shape = (_between(40, 80), _between(5, 9), _between(10, 14), _between(10, 14))
    block = _choice((2, 3, 4, 5))
    if (shape, p, block) == ((64, 8, 12, 12), 0.15, 3):
        p = 0.151
    return {"seeds": _seeds(), "shape": shape, "p_drop": p, "block_size": block}


def _hidden_alpha() -> dict[str, Any]:
    visible = (0.1, 0.2, 0.4)

    def draw(lo: float, hi: float) -> float:
        p = _uniform(lo, hi)
        return p if p not in visible else round(p + 0.001, 3)
    return {"p_drops": (draw(0.03, 0.25), draw(0.27, 0.5), draw(0.52, 0.85))}


#: chapter -> exercise label -> Judge. The defaults of each check are the visible inputs.
JUDGES: dict[str, dict[str, Judge]] = {
    "01_masks": {
        "ex-masks-draw": Judge(("draw_mask",), _masks.check_draw_mask, _hidden_draw_mask),
        "ex-masks-dropconnect": Judge(("dropconnect",), _masks.check_dropconnect,
                                      _hidden_dropconnect),
    },
    "02_inverted_dropout": {
        "ex-inv-implement": Judge(("dropout_forward", "dropout_backward"), _check_inverted,
                                  _hidden_inverted),
        "ex-inv-lr-scale": Judge(("lr_factor",), _inv.check_lr_factor, _hidden_lr_factor),
    },
    "03_co_adaptation": {
        "ex-coad-knockout": Judge(("knockout_accuracy",), _coad.check_knockout_accuracy,
                                  _hidden_knockout),
        "ex-coad-damage": Judge(("unit_damage",), _coad.check_unit_damage,
                                _hidden_unit_damage),
    },
    "04_ensembles": {
        "ex-ens-enumerate": Judge(("enumerate_subnetworks",),
                                  _ens.check_enumerate_subnetworks, _hidden_enumerate),
        "ex-ens-bars": Judge(("mc_error_bars",), _ens.check_mc_error_bars, _hidden_mc),
    },
    "05_noise_and_modern": {
        "ex-mod-variance": Judge(("noise_variance",), _mod.check_noise_variance,
                                 _hidden_noise_variance),
        "ex-mod-gaussian": Judge(("gaussian_dropout",), _mod.check_gaussian_dropout,
                                 _hidden_gaussian),
        "ex-mod-spatial": Judge(("spatial_dropout",), _mod.check_spatial_dropout,
                                _hidden_spatial),
        "ex-mod-drop-path": Judge(("drop_path",), _mod.check_drop_path,
                                  _hidden_drop_path),
    },
    "06_sequences_and_practice": {
        "ex-seq-locked": Judge(("locked_mask",), _seq.check_locked_mask, _hidden_locked),
        "ex-seq-dropblock": Judge(("dropblock_mask",), _seq.check_dropblock_mask,
                                  _hidden_dropblock),
        "ex-seq-alpha": Judge(("alpha_constants",), _seq.check_alpha_constants,
                              _hidden_alpha),
    },
}

#: The visible inputs of the judges whose check needs keyword arguments without defaults.
_VISIBLE: dict[Callable, dict[str, Any]] = {_check_inverted: {"forward": {}, "backward": {}}}


def hidden_inputs(chapter: str, label: str) -> dict[str, Any]:
    """Fresh hidden keyword arguments for the check of ``label`` (never the visible ones)."""
    return JUDGES[chapter][label].hidden()


def judge_exercise(sandbox: Sandbox, chapter: str, label: str, *,
                   hidden: bool = True) -> CheckResult:
    """Judge one exercise of a submission whose notebook has run in ``sandbox``.

    With ``hidden=True`` the check gets fresh hidden inputs; with ``False`` it runs on the
    visible check's inputs (the student's "check my work").
    """
    judge = JUDGES[chapter][label]
    fns = [RemoteFunction(sandbox, name) for name in judge.functions]
    kwargs = judge.hidden() if hidden else dict(_VISIBLE.get(judge.check, {}))
    try:
        with session(sandbox):
            for fn in fns:
                if not fn.exists():
                    return CheckResult(fn.name, False, (
                        f"{fn.name} is not defined: did you run/keep the stub cell?",))
            state = np.random.get_state()
            try:
                return judge.check(*fns, **kwargs)
            finally:
                np.random.set_state(state)
    except KernelGone as gone:
        name = gone.function or judge.function
        return CheckResult(name, False, (f"{name}: {gone}",))

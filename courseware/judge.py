"""Judging that the student's code cannot reach: the kernel computes, the grader judges.

The student's notebook runs in a :class:`~courseware.sandbox.Sandbox` kernel, but no check
runs there and nothing the kernel prints or writes is read as a verdict. After the
notebook has run, the grader calls the book's check function (``courseware.checks``)
*in the grader's own process*, handing it a :class:`RemoteFunction` instead of the
student's function. Each call of that stand-in

1. encodes the arguments the check chose as plain data (shapes, floats, and a random
   generator as its PCG64 state);
2. asks the kernel to call the student's function on them (a fresh code snippet per call,
   with a random file name for the answer);
3. reads the answer file: a JSON document with the result as ``.npy`` bytes (loaded with
   ``allow_pickle=False``), or the name of the exception raised, and whether NumPy's
   global random state moved;
4. gives the check a plain NumPy array (or re-raises an exception of the same name).

So the check's logic and messages are the visible check's, unchanged, but they run where
the student's code cannot monkeypatch, rewrite, suppress or log anything, and on inputs
(:func:`hidden_inputs`) drawn with :mod:`secrets` at grading time: seeds, and shapes that
differ from the visible check's. Whatever the kernel sends back is only data; the one way
to pass is to return correct masks for inputs one cannot know in advance.

:data:`JUDGES` says, for each chapter, which exercise is judged by which check; a chapter
that is not listed there is not auto-graded by this module (see ``book/instructors.md``).
"""
from __future__ import annotations

import base64
import builtins
import io
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import CheckResult
from .checks import masks as _masks
from .sandbox import Sandbox

__all__ = ["JUDGES", "Judge", "RemoteFunction", "hidden_inputs", "judge_exercise"]

#: The largest answer (bytes of JSON) one call may send back.
ANSWER_LIMIT = 64 * 2**20
_BUILTIN_ERRORS = {n: getattr(builtins, n) for n in dir(builtins)
                   if isinstance(getattr(builtins, n), type)
                   and issubclass(getattr(builtins, n), Exception)}


@dataclass(frozen=True)
class Judge:
    """How one exercise is judged: the student's function and the check that judges it."""

    function: str
    check: Callable[..., CheckResult]
    hidden: Callable[[], dict[str, Any]]     # draws the hidden keyword arguments of `check`


def _seeds() -> tuple[int, int]:
    a, b = secrets.randbits(63), secrets.randbits(63)
    return (a, b) if a != b else (a, b + 1)


def _between(lo: int, hi: int) -> int:
    return lo + secrets.randbelow(hi - lo + 1)


def _hidden_draw_mask() -> dict[str, Any]:
    return {"seeds": _seeds(), "shape": (_between(150, 260), _between(380, 620)),
            "wide": (_between(80, 120), _between(900, 1200)),
            "edge": (_between(30, 60), _between(20, 50)),
            "others": ((_between(3, 11),), (_between(2, 4), _between(2, 5), _between(3, 6)))}


def _hidden_channel_mask() -> dict[str, Any]:
    return {"seeds": _seeds(),
            "shape": (_between(320, 460), _between(200, 300), _between(2, 4), _between(2, 6)),
            "edge": (_between(3, 6), _between(4, 8), _between(1, 3), _between(1, 3))}


#: chapter -> exercise label -> Judge. The defaults of each check are the visible inputs.
JUDGES: dict[str, dict[str, Judge]] = {
    "01_masks": {
        "ex-masks-draw": Judge("draw_mask", _masks.check_draw_mask, _hidden_draw_mask),
        "ex-masks-channel": Judge("channel_mask", _masks.check_channel_mask,
                                  _hidden_channel_mask),
    },
}


def hidden_inputs(chapter: str, label: str) -> dict[str, Any]:
    """Fresh hidden keyword arguments for the check of ``label`` (never the visible ones)."""
    return JUDGES[chapter][label].hidden()


# --------------------------------------------------------------------------- the protocol


def _encode(value: Any) -> Any:
    if isinstance(value, np.random.Generator):
        return {"__rng__": value.bit_generator.state}
    if isinstance(value, np.ndarray):
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"__npy__": base64.b64encode(buf.getvalue()).decode()}
    if isinstance(value, (tuple, list)):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


#: Runs in the kernel, once per call, as a fresh snippet (it defines no names). It only
#: computes: whatever it writes is parsed as data by :func:`_decode_answer`.
_SNIPPET = '''\
def __courseware_call(name, request, answer_path):
    import base64, io, json
    import numpy
    def decode(v):
        if isinstance(v, dict) and "__rng__" in v:
            g = numpy.random.Generator(numpy.random.PCG64())
            g.bit_generator.state = v["__rng__"]
            return g
        if isinstance(v, dict) and "__npy__" in v:
            return numpy.load(io.BytesIO(base64.b64decode(v["__npy__"])), allow_pickle=False)
        if isinstance(v, dict) and "__tuple__" in v:
            return tuple(decode(x) for x in v["__tuple__"])
        return v
    def encode(v):
        if v is None:
            return {"none": True}
        if isinstance(v, numpy.ndarray):
            if v.dtype.hasobject:
                return {"type": "ndarray of objects"}
            buf = io.BytesIO()
            numpy.save(buf, v, allow_pickle=False)
            return {"npy": base64.b64encode(buf.getvalue()).decode()}
        return {"type": type(v).__name__}
    fn = globals().get(name)
    if fn is None:
        answer = {"missing": True}
    elif request == "probe":
        answer = {"exists": True}
    else:
        args = [decode(a) for a in json.loads(request)]
        before = numpy.random.get_state()
        try:
            answer = {"value": encode(fn(*args))}
        except BaseException as err:
            answer = {"raised": type(err).__name__, "message": str(err)[:500]}
        after = numpy.random.get_state()
        answer["used_global"] = not (before[0] == after[0]
                                     and numpy.array_equal(before[1], after[1])
                                     and tuple(before[2:]) == tuple(after[2:]))
    with open(answer_path, "w") as f:
        json.dump(answer, f)
__courseware_call(@NAME@, @REQUEST@, @PATH@); del __courseware_call
'''


class KernelGone(BaseException):
    """The kernel died or timed out while running the student's function (a BaseException,
    so that it passes through the check's ``except Exception`` to :func:`judge_exercise`)."""


def _error_class(name: str) -> type[Exception]:
    if name in _BUILTIN_ERRORS:
        return _BUILTIN_ERRORS[name]
    return type(name, (Exception,), {})


def _stand_in(type_name: str) -> Any:
    """An object whose type has the name the student's function returned (for messages)."""
    return type(str(type_name)[:80], (), {})()


class RemoteFunction:
    """A stand-in for the student's function: each call runs it in the kernel.

    Parameters
    ----------
    sandbox : Sandbox
        The submission's kernel (its notebook has run).
    name : str
        The function's name in the kernel's namespace.
    """

    def __init__(self, sandbox: Sandbox, name: str):
        self.sandbox = sandbox
        self.name = name
        self.__name__ = name
        self.calls = 0

    def exists(self) -> bool:
        """Whether the kernel's namespace has the function (without calling it)."""
        return not self._ask(None).get("missing")

    def _ask(self, args: list | None) -> dict:
        self.calls += 1
        path = self.sandbox.work / f".answer-{uuid.uuid4().hex}.json"
        request = "probe" if args is None else json.dumps([_encode(a) for a in args])
        snippet = (_SNIPPET.replace("@NAME@", repr(self.name)).replace("@REQUEST@", repr(request))
                   .replace("@PATH@", repr(str(path))))
        status, text = self.sandbox.run(snippet)
        if status == "timeout":
            raise KernelGone(f"timed out after {self.sandbox.timeout_cell:g} s "
                             "(an infinite loop?); the kernel was restarted")
        if status == "dead":
            raise KernelGone("the kernel died while running it; it was restarted")
        try:
            if path.stat().st_size > ANSWER_LIMIT:
                raise KernelGone(f"its answer is larger than {ANSWER_LIMIT // 2**20} MB")
            answer = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise KernelGone(f"no answer came back ({text or status})") from None
        finally:
            path.unlink(missing_ok=True)
        if not isinstance(answer, dict):
            raise KernelGone("the answer was not understood")
        return answer

    def __call__(self, *args):
        answer = self._ask(list(args))
        if answer.get("missing"):
            raise NameError(f"name '{self.name}' is not defined")
        if answer.get("used_global"):
            np.random.random()   # the check compares NumPy's global state before and after
        if "raised" in answer:
            raise _error_class(str(answer["raised"]))(str(answer.get("message", "")))
        value = answer.get("value")
        if not isinstance(value, dict):
            raise KernelGone("the answer was not understood")
        if value.get("none"):
            return None
        if "npy" in value:
            try:
                return np.load(io.BytesIO(base64.b64decode(value["npy"])), allow_pickle=False)
            except (ValueError, TypeError, OSError):
                raise KernelGone("the answer was not a valid array") from None
        return _stand_in(value.get("type", "object"))


def judge_exercise(sandbox: Sandbox, chapter: str, label: str, *,
                   hidden: bool = True) -> CheckResult:
    """Judge one exercise of a submission whose notebook has run in ``sandbox``.

    With ``hidden=True`` the check gets fresh hidden inputs; with ``False`` it runs on the
    visible check's inputs (the student's "check my work").
    """
    judge = JUDGES[chapter][label]
    fn = RemoteFunction(sandbox, judge.function)
    try:
        if not fn.exists():
            return CheckResult(judge.function, False, (
                f"{judge.function} is not defined: did you run/keep the stub cell?",))
        kwargs = judge.hidden() if hidden else {}
        state = np.random.get_state()
        try:
            return judge.check(fn, **kwargs)
        finally:
            np.random.set_state(state)
    except KernelGone as gone:
        return CheckResult(judge.function, False, (f"{judge.function}: {gone}",))

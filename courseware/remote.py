"""Calling a student's function in its kernel from the grader's process, as plain data.

:class:`RemoteFunction` stands in for the student's function in a check that runs in the
grader's process (:mod:`courseware.judge`). Each call

1. encodes the arguments the check chose as plain data: arrays as ``.npy`` bytes, a
   random generator as its PCG64 state, a network (:class:`dropout_lib.net.MLP`) as its
   layer sizes, options and parameters, and an object the kernel returned earlier (a
   ``cache``) as a reference to it;
2. writes them to a request file and runs a fresh snippet in the kernel that rebuilds
   them, calls the function, and writes an answer file (random names for both);
3. reads the answer: a JSON document with the result (arrays loaded with
   ``allow_pickle=False``; a tuple or list element by element; any other object kept in
   the kernel and returned as a reference with its type's name), or the name of the
   exception raised; NumPy's global random state after the call (the grader seeded it
   just before with a number it drew, and compares the state itself); and what the
   call left in its arguments (every array argument as it is after the call, compared
   here with the grader's own copy; a network's parameters, the forward passes a
   recording network saw), applied to the grader's copies so that the check sees the
   same side effects as in the visible check.

Nothing the kernel sends back is a verdict: it is data that the check, in the grader's
process, judges like the result of a local call.
"""
from __future__ import annotations

import base64
import builtins
import io
import json
import os
import secrets
import select
import stat
import time
import uuid
from contextlib import contextmanager
from typing import Any

import numpy as np

from .sandbox import Sandbox

__all__ = ["ANSWER_LIMIT", "KernelGone", "RemoteFunction", "forget_references", "session"]

#: The largest answer (bytes of JSON) one call may send back.
ANSWER_LIMIT = 64 * 2**20
_BUILTIN_ERRORS = {n: getattr(builtins, n) for n in dir(builtins)
                   if isinstance(getattr(builtins, n), type)
                   and issubclass(getattr(builtins, n), Exception)}
_REF = "_courseware_ref"


def _npy(a: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode()


def _load(text: Any) -> np.ndarray:
    try:
        if isinstance(text, dict):       # {"raw", "dtype", "shape"} (the kernel's format)
            dtype = np.dtype(str(text["dtype"]))
            if dtype.hasobject or dtype.fields is not None:
                raise ValueError("not a plain dtype")
            shape = tuple(int(n) for n in text["shape"])
            data = base64.b64decode(str(text["raw"]))
            return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
        return np.load(io.BytesIO(base64.b64decode(str(text))), allow_pickle=False)
    except (ValueError, TypeError, OSError, EOFError, KeyError):
        raise KernelGone("the answer was not a valid array") from None


def _encode(value: Any) -> Any:
    """A check's argument as plain data for the kernel (see the module's docstring)."""
    from dropout_lib.net import MLP

    if isinstance(value, np.random.Generator):
        return {"__rng__": value.bit_generator.state}
    if hasattr(type(value), _REF):
        return {"__ref__": getattr(type(value), _REF)}
    if isinstance(value, MLP):
        from .checks.coadaptation import _SpyMLP
        return {"__mlp__": {
            "sizes": list(value.layer_sizes), "activation": list(value.activations),
            "p_drop_input": value.p_drop_input, "p_drop_hidden": list(value.p_drop_hidden),
            "dropout_mode": value.dropout_mode, "spy": isinstance(value, _SpyMLP),
            "params": {k: _npy(v) for k, v in value.params.items()}}}
    if isinstance(value, np.ndarray):
        return {"__npy__": _npy(value)}
    if isinstance(value, (tuple, list)):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


#: Runs in the kernel first, right after it starts and before any student code (again
#: after every restart): it takes private references to what the exchange relies on
#: (NumPy's real global generator and its bound ``seed``/``get_state``, ``ndarray.tobytes``,
#: ``binascii``, ``json.dumps``/``loads``, ``open``, ``os.unlink``) and keeps them in the
#: closure of the call function, registered under a random key (``sys.modules[KEY]``).
#: Replacing ``numpy.save``, ``numpy.random.mtrand._rand`` or ``numpy.array_equal``
#: afterwards changes nothing it reports. It only computes: whatever it writes is parsed
#: as data by :meth:`RemoteFunction.__call__`.
_BOOT = """\
def __courseware_boot(key):
    import base64, binascii, builtins, io, json, os, sys, uuid
    import numpy
    a2b, b2a = binascii.a2b_base64, binascii.b2a_base64
    tobytes, ndarray, generic = numpy.ndarray.tobytes, numpy.ndarray, numpy.generic
    asarray, load_npy, dtype_of = numpy.asarray, numpy.load, numpy.dtype
    rand = numpy.random.mtrand._rand
    seed, get_state = rand.seed, rand.get_state
    Generator, PCG64 = numpy.random.Generator, numpy.random.PCG64
    dumps, loads, open_, unlink = json.dumps, json.loads, builtins.open, os.unlink
    isinstance_, type_, str_, len_, int_, bool_ = (builtins.isinstance, builtins.type,
                                                   builtins.str, builtins.len,
                                                   builtins.int, builtins.bool)
    hex_ = uuid.uuid4
    refs = {}
    def raw(a):
        a = asarray(a)
        if a.dtype.fields is not None or a.dtype.hasobject:
            buf = io.BytesIO()
            numpy.save(buf, a, allow_pickle=False)
            return b2a(buf.getvalue(), newline=False).decode()
        return {"raw": b2a(tobytes(a), newline=False).decode(), "dtype": a.dtype.str,
                "shape": [int_(n) for n in a.shape]}
    def load(s):
        return load_npy(io.BytesIO(a2b(s)), allow_pickle=False)
    def decode(v):
        if isinstance_(v, dict) and "__rng__" in v:
            g = Generator(PCG64())
            g.bit_generator.state = v["__rng__"]
            return g
        if isinstance_(v, dict) and "__npy__" in v:
            return load(v["__npy__"])
        if isinstance_(v, dict) and "__tuple__" in v:
            return tuple(decode(x) for x in v["__tuple__"])
        if isinstance_(v, dict) and "__ref__" in v:
            return refs[v["__ref__"]]
        if isinstance_(v, dict) and "__mlp__" in v:
            m = v["__mlp__"]
            if m["spy"]:
                from courseware.checks.coadaptation import _SpyMLP as cls
            else:
                from dropout_lib.net import MLP as cls
            net = cls(m["sizes"], activation=m["activation"], p_drop_input=m["p_drop_input"],
                      p_drop_hidden=m["p_drop_hidden"], dropout_mode=m["dropout_mode"], seed=0)
            net.set_params({k: load(a) for k, a in m["params"].items()})
            net.calls = []
            return net
        return v
    def encode(v, top):
        if v is None:
            return {"none": True}
        if type_(v) in (bool, int, float):
            return {"py": v}
        if type_(v) is str:
            return {"py": v[:2000]}
        if isinstance_(v, ndarray) and not v.dtype.hasobject:
            return {"npy": raw(v)}
        if isinstance_(v, generic) and not isinstance_(v, numpy.object_):
            return {"scalar": raw(asarray(v))}
        if top and type_(v) in (tuple, list) and len_(v) <= 64:
            return {"seq": type_(v).__name__, "items": [encode(x, False) for x in v]}
        k = hex_().hex
        refs[k] = v
        kind = "ndarray of objects" if isinstance_(v, ndarray) else type_(v).__name__
        return {"ref": k, "type": str_(kind)[:80]}
    def same(a, b):
        a, b = asarray(a), asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and tobytes(a) == tobytes(b)
    def call(name, request_path, answer_path):
        if name is None:
            refs.clear()
            return
        fn = user.get(name)
        with open_(request_path) as f:
            request = loads(f.read())
        unlink(request_path)
        if fn is None:
            answer = {"missing": True}
        elif request == "probe":
            answer = {"exists": True}
        else:
            args = [decode(a) for a in request["args"]]
            kwargs = {k: decode(a) for k, a in request["kwargs"].items()}
            arrays = [i for i, a in enumerate(args) if isinstance_(a, ndarray)]
            nets = {i: {k: p.copy() for k, p in a.params.items()}
                    for i, a in enumerate(args) if isinstance_(request["args"][i], dict)
                    and "__mlp__" in request["args"][i]}
            # NumPy's real global generator, as it was when the kernel started
            seed(request["global_seed"])
            try:
                answer = {"value": encode(fn(*args, **kwargs), True)}
            except BaseException as err:
                answer = {"raised": type_(err).__name__, "message": str_(err)[:500]}
            state = get_state()
            answer["global_state"] = [raw(asarray(state[1])), int_(state[2])]
            back = {}
            for i in arrays:
                back[str_(i)] = {"npy": raw(args[i])}
            for i, old in nets.items():
                net = args[i]
                changed = {k: raw(p) for k, p in net.params.items()
                           if k not in old or not same(p, old[k])}
                calls = [[bool_(train), None if ab is None
                          else {str_(k): raw(u) for k, u in ab.items()}]
                         for train, ab in getattr(net, "calls", [])]
                back[str_(i)] = {"params": changed, "calls": calls}
            answer["back"] = back
        text = dumps(answer)
        with open_(answer_path, "w") as f:
            f.write(text)
    user = globals()
    sys.modules[key] = call
__courseware_boot(@KEY@); del __courseware_boot
"""

#: One call (or, with name None, forgetting the kept objects) through the bootstrap's
#: function.
_SNIPPET = '__import__("sys").modules[@KEY@](@NAME@, @REQUEST@, @PATH@)\n'

#: Runs in the kernel for the length of a :func:`session`: serves one call per line of
#: the request pipe through the bootstrap's function and says "done" on the answer pipe.
_SERVER = """\
def __courseware_serve(requests, answers):
    import json, sys
    call = sys.modules[@KEY@]
    with open(requests) as inp, open(answers, "w") as out:
        for line in inp:
            if line.strip() == "stop":
                break
            try:
                call(*json.loads(line))
            except BaseException:
                pass
            out.write("done\\n")
            out.flush()
try:
    __courseware_serve(@REQUESTS@, @ANSWERS@)
finally:
    del __courseware_serve
    __import__("sys").modules[@KEY@](None, None, None)
"""


def bootstrap_code(key: str) -> str:
    """The code :class:`~courseware.sandbox.Sandbox` runs first in every kernel it starts."""
    return _BOOT.replace("@KEY@", repr(key))


class _Channel:
    """Two named pipes in the submission's folder to a kernel running :data:`_SERVER`."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        tag = uuid.uuid4().hex
        folder = sandbox.work
        self.paths = (folder / f".calls-{tag}", folder / f".done-{tag}")
        for path in self.paths:
            os.mkfifo(path, 0o600)
            sandbox.give(path)
        # read-write opens never block, whether or not the kernel has opened its ends
        self.req = os.open(self.paths[0], os.O_RDWR)
        self.ans = os.open(self.paths[1], os.O_RDWR | os.O_NONBLOCK)
        self.restarts = sandbox.restarts
        code = (_SERVER.replace("@REQUESTS@", repr(str(self.paths[0])))
                .replace("@ANSWERS@", repr(str(self.paths[1])))
                .replace("@KEY@", repr(sandbox.key)))
        self.msg_id = sandbox.client.kc.execute(code, store_history=False, allow_stdin=False)
        self.buffer = b""

    @property
    def alive(self) -> bool:
        return self.sandbox.restarts == self.restarts and self.sandbox.client is not None

    def call(self, line: str, timeout: float) -> str:
        """Send one call; ``"ok"``, ``"timeout"``/``"dead"`` (the kernel was restarted) or
        ``"deadline"`` (the submission's deadline came first)."""
        if self.sandbox.left() <= 0:
            return "deadline"
        os.write(self.req, (line + "\n").encode())
        deadline = time.monotonic() + min(timeout, self.sandbox.left())
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                if self.sandbox.left() <= 0.5:
                    self.sandbox.stop()
                    return "deadline"
                self.sandbox.restart()
                return "timeout"
            ready, _, _ = select.select([self.ans], [], [], min(left, 0.5))
            if ready:
                self.buffer += os.read(self.ans, 4096)
            elif not self.sandbox.kernel_alive():
                self.sandbox.restart()
                return "dead" if self.sandbox.left() > 0 else "deadline"
        _, self.buffer = self.buffer.split(b"\n", 1)
        return "ok"

    def close(self) -> None:
        try:
            if self.alive and self.sandbox.left() > 0:
                os.write(self.req, b"stop\n")
                from jupyter_core.utils import run_sync

                get = run_sync(self.sandbox.client.kc.get_shell_msg)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    try:
                        reply = get(timeout=max(0.1, deadline - time.monotonic()))
                    except Exception:  # noqa: BLE001 - queue.Empty: the kernel hangs
                        break
                    if reply.get("parent_header", {}).get("msg_id") == self.msg_id:
                        return
                self.sandbox.restart()   # the server did not stop: start afresh
        finally:
            for fd in (self.req, self.ans):
                os.close(fd)
            for path in self.paths:
                path.unlink(missing_ok=True)


@contextmanager
def session(sandbox: Sandbox):
    """Serve every :class:`RemoteFunction` call on ``sandbox`` inside the block through
    one running cell (about a millisecond a call instead of a cell's tens of
    milliseconds); the kernel forgets the objects it kept for the grader afterwards."""
    channel = _Channel(sandbox)
    sandbox.channel = channel
    try:
        yield channel
    finally:
        sandbox.channel = None
        channel.close()


class KernelGone(BaseException):
    """The kernel died, timed out or answered nonsense while running the student's function
    (a BaseException, so that it passes through the check's ``except Exception`` to
    :func:`courseware.judge.judge_exercise`); ``function`` names that function."""

    function = ""


def _error_class(name: str) -> type[Exception]:
    if name in _BUILTIN_ERRORS:
        return _BUILTIN_ERRORS[name]
    return type(name, (Exception,), {})


def _reference(type_name: str, key: str) -> Any:
    """An object standing for one the kernel kept: its type has the name of the kernel
    object's type (for the check's messages) and remembers the kernel's key."""
    return type(str(type_name)[:80], (), {_REF: str(key)})()


def _decode(value: Any, top: bool = True) -> Any:
    if not isinstance(value, dict):
        raise KernelGone("the answer was not understood")
    if value.get("none"):
        return None
    if "py" in value and type(value["py"]) in (bool, int, float, str):
        return value["py"]
    if "npy" in value:
        return _load(value["npy"])
    if "scalar" in value:
        arr = _load(value["scalar"])
        return arr[()] if arr.ndim == 0 else arr
    if top and value.get("seq") in ("tuple", "list") and isinstance(value.get("items"), list):
        items = [_decode(v, False) for v in value["items"]]
        return tuple(items) if value["seq"] == "tuple" else items
    if "ref" in value:
        return _reference(value.get("type", "object"), value["ref"])
    raise KernelGone("the answer was not understood")


def _write_back(args: tuple, back: Any) -> None:
    """Apply what the call did to its arguments in the kernel to the grader's copies."""
    from dropout_lib.net import MLP

    if not isinstance(back, dict):
        raise KernelGone("the answer was not understood")
    for key, change in back.items():
        try:
            target = args[int(key)]
        except (ValueError, IndexError):
            raise KernelGone("the answer was not understood") from None
        if not isinstance(change, dict):
            raise KernelGone("the answer was not understood")
        if isinstance(target, np.ndarray) and "npy" in change:
            # the array as the call left it; compared here with the grader's own copy
            new = _load(change["npy"])
            if new.shape == target.shape:
                if not (new.dtype == target.dtype and np.array_equal(
                        new, target, equal_nan=target.dtype.kind in "fc")):
                    target[...] = new
            else:   # the shape changed (resize): make the difference visible to the check
                target[...] = np.nan if target.dtype.kind == "f" else 0
        elif isinstance(target, MLP):
            for k, a in dict(change.get("params") or {}).items():
                if k in target.params:
                    new = _load(a)
                    target.params[k] = new if new.shape == target.params[k].shape \
                        else np.full_like(target.params[k], np.nan)
            if hasattr(target, "calls"):
                for train, ab in list(change.get("calls") or []):
                    record = None if ab is None else {int(k): _load(u).ravel()
                                                      for k, u in dict(ab).items()}
                    target.calls.append((bool(train), record))


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
        #: (arguments as they were before the call, keyword arguments, result) of every
        #: call that returned (for :func:`courseware.libmatch.matches_library`)
        self.record: list[tuple[tuple, dict, Any]] = []

    def exists(self) -> bool:
        """Whether the kernel's namespace has the function (without calling it)."""
        return not self._ask("probe").get("missing")

    def _ask(self, request: Any) -> dict:
        try:
            return self._exchange(request)
        except KernelGone as gone:
            gone.function = self.name
            raise

    def _exchange(self, request: Any) -> dict:
        self.calls += 1
        tag = uuid.uuid4().hex
        path = self.sandbox.work / f".answer-{tag}.json"
        req = self.sandbox.work / f".request-{tag}.json"
        _check_disk(self.sandbox)
        try:
            fd = os.open(req, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(request))
        except OSError as err:
            req.unlink(missing_ok=True)
            raise KernelGone(f"its folder took no request ({err.strerror}; the /tmp limit "
                             f"is {self.sandbox.limits.tmp} MiB)") from None
        self.sandbox.give(req)
        channel = getattr(self.sandbox, "channel", None)
        try:
            if self.sandbox.left() <= 0 or self.sandbox.client is None:
                text, status = "", "deadline"
            elif channel is not None and channel.alive:
                text = ""
                status = channel.call(json.dumps([self.name, str(req), str(path)]),
                                      self.sandbox.timeout_cell)
            else:
                snippet = (_SNIPPET.replace("@KEY@", repr(self.sandbox.key))
                           .replace("@NAME@", repr(self.name))
                           .replace("@REQUEST@", repr(str(req)))
                           .replace("@PATH@", repr(str(path))))
                status, text = self.sandbox.run(snippet)
        finally:
            req.unlink(missing_ok=True)
        if status == "deadline":
            raise KernelGone(deadline_message(self.sandbox))
        if status == "timeout":
            raise KernelGone(f"timed out after {self.sandbox.timeout_cell:g} s "
                             "(an infinite loop?); the kernel was restarted")
        if status == "dead":
            raise KernelGone("the kernel died while running it (killed, or past a limit: "
                             f"{self.sandbox.limits.describe()}); it was restarted")
        try:
            answer = json.loads(read_answer(path).decode("utf-8"))
        except KernelGone:
            raise
        except (OSError, ValueError):
            raise KernelGone(f"no answer came back ({text or status})") from None
        except Exception as err:  # noqa: BLE001 - e.g. RecursionError on nested brackets
            raise KernelGone(f"the answer was not understood ({type(err).__name__})") \
                from None
        finally:
            path.unlink(missing_ok=True)
            _check_disk(self.sandbox)
        if not isinstance(answer, dict):
            raise KernelGone("the answer was not understood")
        return answer

    def __call__(self, *args, **kwargs):
        seed = secrets.randbits(32)
        before = _copy(args), _copy(kwargs)
        answer = self._ask({"args": [_encode(a) for a in args],
                            "kwargs": {k: _encode(v) for k, v in kwargs.items()},
                            "global_seed": seed})
        if answer.get("missing"):
            raise NameError(f"name '{self.name}' is not defined")
        try:
            moved = _moved(answer.get("global_state"), seed)
        except Exception:  # noqa: BLE001 - anything malformed: it moved
            moved = True
        if moved:
            np.random.random()   # the checks compare NumPy's global state before and after
        if "raised" in answer:
            from .limits import explain

            name, message = str(answer["raised"])[:80], str(answer.get("message", ""))
            raise _error_class(name)(explain(f"{name}: {message}", self.sandbox.limits)
                                     [len(name) + 2:])
        try:
            _write_back(args, answer.get("back", {}))
            value = _decode(answer.get("value"))
        except KernelGone:
            raise
        except Exception as err:  # noqa: BLE001 - malformed data is the kernel's fault
            raise KernelGone(f"the answer was not understood ({type(err).__name__})") \
                from None
        self.record.append((before[0], before[1], value))
        return value


def read_answer(path) -> bytes:
    """The bytes of an answer file the kernel wrote, read without trusting it: never
    through a symbolic link (``O_NOFOLLOW``), never blocking (``O_NONBLOCK``), only a
    regular file, at most :data:`ANSWER_LIMIT` bytes. Anything else is
    :class:`KernelGone` with the reason (0 points for that call)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as err:
        raise KernelGone("its answer file was not a regular file (a link, a pipe or a "
                         f"device: {err.strerror}); 0 points for this call") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise KernelGone("its answer file was not a regular file (a link, a pipe or a "
                             "device); 0 points for this call")
        chunks, size = [], 0
        while size <= ANSWER_LIMIT:
            chunk = os.read(fd, min(2**20, ANSWER_LIMIT + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > ANSWER_LIMIT:
            raise KernelGone(f"its answer is larger than {ANSWER_LIMIT // 2**20} MB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def deadline_message(sandbox: Sandbox) -> str:
    return (f"the submission's time limit of {sandbox.limits.deadline:g} s (running and "
            "judging it) was reached")


def io_over(sandbox: Sandbox) -> str:
    """If the exchange folder (the one place outside its /tmp the kernel can write; a
    tmpfs of the /tmp limit's size when grading as root) holds more than the /tmp limit
    (or, mounted, is all but full), empty it and say so; else ``""``."""
    try:
        used = sandbox.io_bytes()
    except OSError:
        return ""
    limit = sandbox.limits.tmp * 2**20
    if used <= (limit - 2**20 if getattr(sandbox, "io_mounted", False) else limit):
        return ""
    for entry in os.scandir(sandbox.work):
        if entry.name.startswith((".kernel-", ".calls-", ".done-")):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                import shutil

                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass
    return (f"it wrote {used / 2**20:.0f} MiB into its folder, reaching the /tmp "
            f"limit of {sandbox.limits.tmp} MiB; the folder was emptied")


def _check_disk(sandbox: Sandbox) -> None:
    why = io_over(sandbox)
    if why:
        raise KernelGone(why)


def _copy(value: Any) -> Any:
    """A deep copy of a call's arguments as they were before the call."""
    import copy

    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - a reference to a kernel object: kept as it is
        return value


def _moved(state: Any, seed: int) -> bool:
    """Whether NumPy's global generator, seeded by the grader with ``seed`` just before
    the call, is anywhere else after it (compared here, not in the kernel)."""
    expected = np.random.RandomState(seed).get_state()
    try:
        key, pos = state
        return not (np.array_equal(_load(key), expected[1]) and int(pos) == expected[2])
    except (TypeError, ValueError, KernelGone):
        return True


def forget_references(sandbox: Sandbox) -> None:
    """Drop the objects the kernel kept for the grader (after an exercise is judged)."""
    sandbox.run(_SNIPPET.replace("@KEY@", repr(sandbox.key))
                .replace("@NAME@", "None").replace("@REQUEST@", "None")
                .replace("@PATH@", "None"))

"""One submission's kernel: a fresh copy, a small environment, limits, and nothing left behind.

:class:`Sandbox` is what :mod:`courseware.judge` runs a student's code in. For each
submission it

- makes a fresh temporary folder (the kernel's working directory, ``HOME``, ``TMPDIR``,
  IPython's and matplotlib's folders) and deletes it afterwards;
- starts the ``dropout-book`` kernel (whose kernelspec adds the numeric pins) with an
  environment reduced to :data:`ENV_ALLOW` plus those folders: none of the instructor's
  variables (tokens, paths, ``DROPOUT_LIB_GRADE_LOG``) reach the student's code;
- runs cells with a time limit each and drops output beyond a size limit per cell;
- ends the kernel's whole process group and session afterwards and, because the grader
  process makes itself a *child subreaper* (Linux ``prctl``), also every process the
  student's code detached from it (double fork, ``setsid``): orphans are re-parented to
  the grader, which kills them;
- fingerprints the folders a later kernel or the grader imports from (the kernel's
  ``sys.path``, the repository's packages, the kernelspec) before and after, and reports
  any file created, changed or deleted there (:func:`fingerprint`).

With bubblewrap (``bwrap``, Debian's ``bubblewrap`` package; ``tools/ensure_bwrap.sh``)
the kernel runs inside it (:func:`bwrap_args`): a read-only view of the system, the
submission's folder as the only writable place, a private ``/tmp``, no network (the
kernel talks to the grader over Unix sockets in its folder), its own process and user
namespaces (``--unshare-all``), no capabilities, ``--die-with-parent``, and the book's
solutions (``book/*.ipynb``), the course folder (``nbgrader/``: sources, gradebook) and
the instructor's home not visible. A write outside the copy is then *prevented*.

Without bubblewrap (or if it does not work here, e.g. in a container that forbids user
namespaces) the kernel runs as the grader's user with the same environment and limits,
and a one-line warning says so: the student's code can then read whatever that user can
read (the book's solutions included) and write where that user can write. Such a write
is *detected* (the submission is graded 0 and the batch stops) rather than prevented.
Either way the verdicts do not depend on the kernel at all: see :mod:`courseware.judge`.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .book import ROOT

__all__ = ["ENV_ALLOW", "Sandbox", "become_subreaper", "bwrap_args", "bwrap_works",
           "fingerprint"]

KERNEL_NAME = "dropout-book"
#: The only variables of the grader's environment a kernel sees (besides its own folders).
ENV_ALLOW = ("LANG", "LC_ALL", "TZ")
_TIMEOUT_ENAME = "CoursewareCellTimeout"
_PR_SET_CHILD_SUBREAPER = 36


#: The bubblewrap executable; ``COURSEWARE_BWRAP=none`` runs without it.
BWRAP = os.environ.get("COURSEWARE_BWRAP", "bwrap")
_bwrap_state: dict[str, object] = {}


def bwrap_works() -> bool:
    """Whether bubblewrap is installed and can make a sandbox here (tried once, then
    remembered; a one-line warning on stderr if not)."""
    if "ok" not in _bwrap_state:
        exe = shutil.which(BWRAP) if BWRAP != "none" else None
        ok, why = False, "bwrap is not installed (tools/ensure_bwrap.sh installs it)"
        if BWRAP == "none":
            why = "COURSEWARE_BWRAP=none"
        if exe:
            try:
                done = subprocess.run(
                    [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                     "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc", "true"],
                    capture_output=True, text=True, timeout=20, check=False)
                ok = done.returncode == 0
                why = (done.stderr.strip().splitlines()
                       or [f"exit status {done.returncode}"])[-1]
            except (OSError, subprocess.SubprocessError) as err:
                why = str(err)
        _bwrap_state.update(ok=ok, why=why, exe=exe)
        if not ok:
            print(f"warning: no bubblewrap sandbox ({why}): submissions run as this user, "
                  "and writes outside their copy are only detected", file=sys.stderr)
    return bool(_bwrap_state["ok"])


def _hidden_paths(course: Path | None) -> list[Path]:
    """What a submission's kernel must not see: the chapters with their solutions and the
    course folders (nbgrader's sources and gradebook)."""
    hide = sorted((ROOT / "book").glob("*.ipynb"))
    hide += sorted(p for p in {ROOT / "nbgrader", *([course] if course else [])}
                   if p.exists())
    return hide


def bwrap_args(folder: Path, course: Path | None = None) -> list[str]:
    """The bubblewrap command line that runs a kernel with ``folder`` as its only writable
    place (see the module's docstring); the kernel's command follows it."""
    home = Path(os.path.expanduser("~")).resolve()
    args = [str(_bwrap_state.get("exe") or BWRAP), "--unshare-all", "--die-with-parent",
            "--new-session", "--cap-drop", "ALL", "--ro-bind", "/", "/", "--dev", "/dev",
            "--proc", "/proc"]
    masked = [Path("/tmp").resolve()]
    if home != Path("/") and home.is_dir():
        masked.append(home)
    for place in masked:
        args += ["--tmpfs", str(place)]
    # what the kernel needs from inside /tmp or the home, read-only: Python, the virtual
    # environment and the repository (courseware and dropout_lib are editable installs)
    need = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(sys.executable).resolve().parent.parent, ROOT.resolve()}
    for path in sorted(need):
        if any(path.is_relative_to(place) and path != place for place in masked):
            args += ["--ro-bind", str(path), str(path)]
    for path in _hidden_paths(course):
        path = path.resolve()
        args += ["--tmpfs", str(path)] if path.is_dir() else \
            ["--ro-bind", "/dev/null", str(path)]
    folder = folder.resolve()
    args += ["--bind", str(folder), str(folder), "--chdir", str(folder / "work"),
             # the kernel's parent is bwrap's init (pid 1) in its own namespace: ipykernel
             # must not poll the grader's pid (--die-with-parent ends it with the grader)
             "--setenv", "JPY_PARENT_PID", "1", "--"]
    return args


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux); False elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, pgid, sid) for every process (Linux /proc); empty elsewhere."""
    table = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), int(fields[2]), int(fields[3]))
    return table


def kill_tree(pgid: int | None, known_children: set[int]) -> int:
    """Kill the kernel's process group and session, and every orphan re-parented to us.

    ``known_children`` are this process's children that are not the student's (started
    before the kernel). Returns how many processes were killed.
    """
    me = os.getpid()
    killed = 0
    for _ in range(20):
        victims = [pid for pid, (ppid, pg, sid) in _proc_table().items()
                   if pid != me and ((pgid is not None and (pg == pgid or sid == pgid))
                                     or (ppid == me and pid not in known_children))]
        if not victims:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.05)
        _reap()
    _reap()
    return killed


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _children() -> set[int]:
    me = os.getpid()
    return {pid for pid, (ppid, _, _) in _proc_table().items() if ppid == me}


def _watched() -> tuple[list[Path], list[Path]]:
    """(folders walked in full, folders whose top level only is listed).

    In full: the repository's packages, the kernelspecs and the packages every kernel
    imports (numpy, ipykernel). Top level only: every folder of the kernel's ``sys.path``
    (a new ``sitecustomize.py``, ``.pth`` file or ``numpy.py`` there would shadow an import).
    A full walk of site-packages and the standard library takes seconds; this takes ~0.1 s.
    """
    out = subprocess.run([sys.executable, "-c", "import sys; print('\\n'.join(sys.path))"],
                         capture_output=True, text=True, check=True, cwd="/",
                         env={"PATH": os.environ.get("PATH", "")})
    top = sorted({Path(p) for p in out.stdout.splitlines() if p and Path(p).is_dir()})
    site = [d for d in top if d.name == "site-packages"]
    full = [ROOT / "courseware", ROOT / "dropout_lib", ROOT / "tools",
            Path(sys.prefix) / "share" / "jupyter" / "kernels"]
    full += [d / name for d in site for name in ("numpy", "ipykernel", "IPython")]
    return [d for d in full if d.is_dir()], top


def fingerprint(extra: list[Path] = (), only_extra: bool = False) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of the watched files (see :func:`_watched`) and ``extra``
    (only ``extra`` if ``only_extra``)."""
    full, top = ([], []) if only_extra else _watched()
    prints: dict[str, tuple[int, int]] = {}
    for folder in top:
        for entry in os.scandir(folder):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            prints[entry.path] = (st.st_size, 0 if entry.is_dir() else st.st_mtime_ns)
    stack = [str(d) for d in [*full, *extra]]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                else:
                    st = entry.stat(follow_symlinks=False)
                    prints[entry.path] = (st.st_size, st.st_mtime_ns)
            except OSError:
                continue
    return prints


def changed(before: dict, after: dict) -> list[str]:
    """Paths created, changed or deleted between two fingerprints."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


class _Client(NotebookClient):
    """nbclient with an output budget per cell: output beyond it is dropped and flagged."""

    output_limit = 100_000
    _used = 0
    overflow = False

    def output(self, outs, msg, display_id, cell_index):
        size = len(str(msg.get("content", "")))
        self._used += size
        if self._used > self.output_limit:
            self.overflow = True
            return None
        return super().output(outs, msg, display_id, cell_index)


class Sandbox:
    """A kernel for one submission in a fresh temporary folder; use as a context manager.

    Parameters
    ----------
    timeout_cell : float
        Seconds a cell (or one call of the student's function) may run.
    output_limit : int
        Characters of output a cell may produce; the rest is dropped.
    bwrap : bool, optional
        Run the kernel inside bubblewrap; default: if :func:`bwrap_works`.
    course : Path, optional
        A course folder the kernel must not see (besides the repository's ``nbgrader/``).
    """

    def __init__(self, timeout_cell: float = 30, output_limit: int = 100_000, *,
                 bwrap: bool | None = None, course: Path | None = None):
        self.timeout_cell = timeout_cell
        self.output_limit = output_limit
        self.bwrap = bwrap_works() if bwrap is None else bwrap
        self.course = course
        self.dir: Path | None = None
        self.client: _Client | None = None
        self.restarts = 0
        self.killed = 0
        self.channel = None        # a courseware.remote session, while one is open
        self._known: set[int] = set()

    # ------------------------------------------------------------------ life cycle
    def __enter__(self) -> Sandbox:
        self.dir = Path(tempfile.mkdtemp(prefix="courseware-sub-"))
        for sub in ("home", "tmp", "work"):
            (self.dir / sub).mkdir()
        self._known = _children()
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            if self.dir is not None:
                for _ in range(3):      # a process killed a moment ago may still write
                    shutil.rmtree(self.dir, ignore_errors=True)
                    if not self.dir.exists():
                        break
                    time.sleep(0.1)

    @property
    def work(self) -> Path:
        assert self.dir is not None
        return self.dir / "work"

    def env(self) -> dict[str, str]:
        assert self.dir is not None
        home = self.dir / "home"
        env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
        env.update({
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": str(home), "TMPDIR": str(self.dir / "tmp"),
            "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".mpl"),
            "JUPYTER_RUNTIME_DIR": str(home / ".runtime"), "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        })
        return env

    def start(self) -> None:
        nb = nbformat.v4.new_notebook()
        self.client = _Client(
            nb, timeout=int(self.timeout_cell), kernel_name=KERNEL_NAME, allow_errors=False,
            interrupt_on_timeout=True, record_timing=False, shutdown_kernel="immediate",
            iopub_timeout=1,
            error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "", "traceback": []},
            resources={"metadata": {"path": str(self.work)}})
        self.client.output_limit = self.output_limit
        km = self.client.create_kernel_manager()
        if self.bwrap:
            # Unix sockets in the submission's folder: the kernel has no network
            km.transport = "ipc"
            km.ip = str(self.dir / "home" / f".kernel-{self.restarts}")
            km.connection_file = str(self.dir / "home" / f".kernel-{self.restarts}.json")
            prefix = bwrap_args(self.dir, self.course)
            plain = km.format_kernel_cmd
            km.format_kernel_cmd = lambda extra_arguments=None: prefix + plain(extra_arguments)
        self.client.start_new_kernel(env=self.env(), stderr=subprocess.DEVNULL,
                                     cwd=str(self.work))
        self.client.start_new_kernel_client()

    def kernel_alive(self) -> bool:
        km = self.client.km if self.client else None
        try:
            from jupyter_core.utils import run_sync
            return bool(km is not None and run_sync(km.is_alive)())
        except Exception:  # noqa: BLE001
            return False

    def _pgid(self) -> int | None:
        km = self.client.km if self.client else None
        prov = getattr(km, "provisioner", None)
        return getattr(prov, "pgid", None)

    def stop(self) -> None:
        pgid = self._pgid()
        if self.client is not None and self.client.km is not None:
            try:
                self.client._cleanup_kernel()
            except Exception:  # noqa: BLE001 - the kernel may already be gone
                pass
        self.killed += kill_tree(pgid, self._known)
        self.client = None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    # ------------------------------------------------------------------ running code
    def run(self, source: str, timeout: float | None = None) -> tuple[str, str]:
        """Run code: ``("ok", "")``, ``("error", "Name: value")``, ``("timeout", "")``,
        ``("dead", "")`` or ``("output", "")`` (ran, but exceeded the output limit).

        After ``"timeout"`` or ``"dead"`` the kernel has been restarted: the caller replays
        what it needs.
        """
        assert self.client is not None
        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells = [cell]
        self.client.timeout = max(1, int(round(timeout or self.timeout_cell)))
        self.client._used = 0
        self.client.overflow = False
        try:
            self.client.execute_cell(cell, 0)
        except CellExecutionError as err:
            if err.ename == _TIMEOUT_ENAME:
                self.restart()
                return "timeout", ""
            value = (err.evalue or "").strip().splitlines()
            return "error", f"{err.ename}: {value[0]}" if value else err.ename
        except CellTimeoutError:
            self.restart()
            return "timeout", ""
        except DeadKernelError:
            self.restart()
            return "dead", ""
        if self.client.overflow:
            return "output", ""
        return "ok", ""

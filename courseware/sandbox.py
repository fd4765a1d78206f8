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

What it does not do: the kernel runs as the grader's user (no separate user, no
namespaces; ``bwrap`` is not installed on the reference machine), so the student's code
can read whatever that user can read (the book's solutions included) and write where
that user can write. Such a write is *detected* (the submission is graded 0 and the
batch stops) rather than prevented; run the grader in a container or as a throwaway user
for a class you do not trust. The verdicts do not depend on the kernel at all: see
:mod:`courseware.judge`.
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

__all__ = ["ENV_ALLOW", "Sandbox", "become_subreaper", "fingerprint"]

KERNEL_NAME = "dropout-book"
#: The only variables of the grader's environment a kernel sees (besides its own folders).
ENV_ALLOW = ("LANG", "LC_ALL", "TZ")
_TIMEOUT_ENAME = "CoursewareCellTimeout"
_PR_SET_CHILD_SUBREAPER = 36


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


def fingerprint(extra: list[Path] = ()) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of the watched files (see :func:`_watched`) and ``extra``."""
    full, top = _watched()
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
    """

    def __init__(self, timeout_cell: float = 30, output_limit: int = 100_000):
        self.timeout_cell = timeout_cell
        self.output_limit = output_limit
        self.dir: Path | None = None
        self.client: _Client | None = None
        self.restarts = 0
        self.killed = 0
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
        self.client.create_kernel_manager()
        self.client.start_new_kernel(env=self.env(), stderr=subprocess.DEVNULL,
                                     cwd=str(self.work))
        self.client.start_new_kernel_client()

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

"""One submission's kernel: a fresh folder, a small environment, limits, nothing left behind.

:class:`Sandbox` is what :mod:`courseware.judge` runs a student's code in. For each
submission it

- makes a fresh temporary folder and deletes it afterwards;
- starts the ``dropout-book`` kernel (whose kernelspec adds the numeric pins) with an
  environment reduced to :data:`ENV_ALLOW` plus its own folders: none of the
  instructor's variables (tokens, paths) reach the student's code;
- applies the submission's :class:`~courseware.limits.Limits` to the kernel (memory,
  CPU time, file size, processes; :mod:`courseware.limits` is put in front of its
  command), and one wall-clock *deadline* to everything it runs: a cell or a call gets
  at most the time left until the deadline, and after it nothing runs ("deadline");
- runs cells with a time limit each and drops output beyond a size limit per cell;
- ends the kernel's whole process group and session afterwards and, because the grader
  process makes itself a *child subreaper* (Linux ``prctl``), also every process the
  student's code detached from it (double fork, ``setsid``).

With bubblewrap (``bwrap``, Debian's ``bubblewrap`` package; ``tools/ensure_bwrap.sh``)
the kernel runs inside it (:func:`bwrap_args`), as an unprivileged user (when the grader
runs as root, a user id of its own, :data:`UID_BASE` + the grading process's id;
otherwise the grader's own, never root), in a root file system built from nothing: read-only ``/usr``, ``/etc``,
Python, the virtual environment and the two packages it imports (``courseware`` and
``dropout_lib``); a private ``/tmp`` of limited size (its home and working folder); no
network (it talks to the grader over Unix sockets in an exchange folder, the only
place of the machine it can write to); its own process, user, IPC and host-name
namespaces, no capabilities, ``--die-with-parent``. The repository's ``.git``,
``book/``, ``_build``, other checkouts, the course folder (gradebook, collected
submissions) and every home folder are simply not there.

Without bubblewrap the kernel runs as the grader's user and sees what that user sees;
``make autograde`` refuses to grade that way unless told ``--unsafe-no-sandbox``. Then
the folders a later kernel or the grader imports from are fingerprinted before and after
(:func:`fingerprint`), and a change is *detected* rather than prevented. Either way the
verdicts do not depend on the kernel's word: see :mod:`courseware.judge`.
"""
from __future__ import annotations

import ctypes
import os
import secrets
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

from .limits import Limits

__all__ = ["ENV_ALLOW", "UID_BASE", "Sandbox", "become_subreaper", "bwrap_args", "is_subreaper",
           "bwrap_works", "fingerprint"]

KERNEL_NAME = "dropout-book"
#: The only variables of the grader's environment a kernel sees (besides its own folders).
ENV_ALLOW = ("LANG", "LC_ALL", "TZ")
#: When the grader runs as root, a kernel runs as user ``UID_BASE + p``, ``p`` the process
#: id of the grading process that starts it: no two submissions graded at the same time
#: on this machine, even by two batches, share a user (and so a process limit). No such
#: user exists: it owns nothing but its own folders.
UID_BASE = int(os.environ.get("COURSEWARE_UID_BASE", "100000"))
_TIMEOUT_ENAME = "CoursewareCellTimeout"
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37


#: Further folders the kernel sees, read-only (``os.pathsep``-separated; for the tests).
SHOW_ENV = "COURSEWARE_SANDBOX_SHOW"

#: The bubblewrap executable; ``COURSEWARE_BWRAP=none`` runs without it.
BWRAP = os.environ.get("COURSEWARE_BWRAP", "bwrap")
_bwrap_state: dict[str, object] = {}


def bwrap_works() -> bool:
    """Whether bubblewrap is installed and can make a sandbox here, as the kernel's
    unprivileged user (tried once, then remembered; the reason is kept for messages)."""
    if "ok" not in _bwrap_state:
        exe = shutil.which(BWRAP) if BWRAP != "none" else None
        ok, why = False, "bwrap is not installed (tools/ensure_bwrap.sh installs it)"
        if BWRAP == "none":
            why = "COURSEWARE_BWRAP=none"
        if exe:
            try:
                uid = UID_BASE + os.getpid() if os.geteuid() == 0 else None
                done = subprocess.run(
                    [exe, *_namespaces(), "--die-with-parent", "--ro-bind", "/usr", "/usr",
                     *_system_links(), *_tmpfs(1), "--dev", "/dev", "--proc", "/proc",
                     *_bind_visible(),
                     *Limits(memory=1024, cpu=20, file_size=16).launcher(uid), "true"],
                    capture_output=True, text=True, timeout=20, check=False, cwd="/")
                ok = done.returncode == 0
                why = (done.stderr.strip().splitlines()
                       or [f"exit status {done.returncode}"])[-1]
            except (OSError, subprocess.SubprocessError) as err:
                why = str(err)
        _bwrap_state.update(ok=ok, why=why, exe=exe)
    return bool(_bwrap_state["ok"])


def bwrap_problem() -> str:
    """Why :func:`bwrap_works` is False (empty if it is True)."""
    return "" if bwrap_works() else str(_bwrap_state.get("why", ""))


def _namespaces() -> list[str]:
    """As root, bubblewrap makes no user namespace (the kernel's user is switched inside,
    by :mod:`courseware.limits`); as another user, it needs one."""
    if os.geteuid() == 0:
        return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try"]
    return ["--unshare-all", "--cap-drop", "ALL"]


def _tmpfs(mib: int) -> list[str]:
    """A private /tmp of ``mib`` MiB with the kernel's home and working folder."""
    return ["--perms", "1777", "--size", str(mib * 2**20), "--tmpfs", "/tmp",
            "--perms", "0777", "--dir", "/tmp/home", "--perms", "0777", "--dir", "/tmp/work"]


def _system_links() -> list[str]:
    """``/bin``, ``/lib``... as on the host: symbolic links into /usr, or read-only binds."""
    args = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def visible_paths() -> list[Path]:
    """What the kernel sees of the machine besides ``/usr``, ``/etc``, ``/dev``, its own
    ``/proc`` and ``/tmp``: Python, the virtual environment, and the repository's two
    packages (``courseware``, ``dropout_lib``) with ``_toc.yml`` (how courseware finds
    them); read-only."""
    need = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(sys.executable).resolve().parent.parent,
            ROOT / "courseware", ROOT / "dropout_lib", ROOT / "_toc.yml"}
    # the courseware tests load their reference solutions and typical mistakes in the
    # kernel: they show their folder (never set this when grading students)
    need |= {Path(p).resolve() for p in os.environ.get(SHOW_ENV, "").split(os.pathsep) if p}
    out = []
    for path in sorted(need):
        if any(path.is_relative_to(p) for p in (Path("/usr"), Path("/etc"))):
            continue
        out.append(path)
    # a parent already in the list covers its children
    return [p for p in out if not any(p != q and p.is_relative_to(q) for q in out)]


def _bind_visible(rw: Path | None = None) -> list[str]:
    """Read-only binds of :func:`visible_paths` (and a read-write one of ``rw``), their
    parent folders made traversable (bubblewrap would create them private to root)."""
    args, made = [], {Path("/"), Path("/tmp")}
    for path in [*visible_paths(), *([rw] if rw else [])]:
        for parent in reversed(path.parents):
            if parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--bind" if path == rw else "--ro-bind", str(path), str(path)]
    return args


def bwrap_args(folder: Path, course: Path | None = None, limits: Limits | None = None
               ) -> list[str]:
    """The bubblewrap command line that runs a kernel whose exchange folder is
    ``folder / "io"`` (see the module's docstring); the kernel's command follows it.
    ``course`` is hidden even if it lies inside a visible path."""
    limits = limits or Limits()
    args = [str(_bwrap_state.get("exe") or BWRAP), *_namespaces(), "--die-with-parent",
            "--new-session", "--ro-bind", "/usr", "/usr", *_system_links(),
            "--ro-bind", "/etc", "/etc", "--dev", "/dev", "--proc", "/proc",
            *_tmpfs(limits.tmp)]
    io = (folder / "io").resolve()
    args += _bind_visible(io)
    hide = [p.resolve() for p in ([course] if course else []) if p.exists()]
    hide += [p for p in (ROOT / ".git", ROOT / "book", ROOT / "nbgrader", ROOT / "_build")
             if p.exists()]
    for path in hide:
        if any(path.is_relative_to(v) for v in visible_paths()):
            args += ["--tmpfs", str(path)] if path.is_dir() else \
                ["--ro-bind", "/dev/null", str(path)]
    args += ["--chdir", "/tmp/work",
             # the kernel's parent is bwrap's init (pid 1) in its own namespace: ipykernel
             # must not poll the grader's pid (--die-with-parent ends it with the grader)
             "--setenv", "JPY_PARENT_PID", "1", "--"]
    return args


def python_path(exe: str) -> str:
    """``exe`` with its folders' symbolic links resolved (a symlinked virtual environment
    is shown to the kernel at its real place) but not the last one, so that a virtual
    environment's ``bin/python`` stays in its environment."""
    path = Path(exe)
    if not path.is_absolute():
        return exe
    return str(path.parent.resolve() / path.name)


_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 2, 4, 2


def _mount_tmpfs(folder: Path, mib: int) -> bool:
    """Mount a tmpfs of ``mib`` MiB on ``folder`` (root only); False if that failed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                          f"size={int(mib)}m,mode=0755".encode()) == 0
    except (OSError, AttributeError):
        return False


def _unmount(folder: Path) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).umount2(str(folder).encode(), _MNT_DETACH)
    except (OSError, AttributeError):
        pass


def unmount_leftovers(pid: int) -> None:
    """Unmount the exchange folders a grading process ``pid`` left mounted (it was killed
    before its sandbox closed) and delete its sandbox folders."""
    prefix = os.path.join(tempfile.gettempdir(), f"courseware-sub-{pid}-")
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        mounts = []
    for line in mounts:
        fields = line.split()
        if len(fields) > 1 and fields[1].startswith(prefix):
            _unmount(Path(fields[1]))
    for folder in Path(tempfile.gettempdir()).glob(f"courseware-sub-{pid}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def become_subreaper(on: bool = True) -> bool:
    """Make this process the reaper of its orphaned descendants (Linux), or (``on=False``)
    no longer; False if that failed or is not possible here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def is_subreaper() -> bool:
    """Whether orphaned descendants of this process are re-parented to it (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        flag = ctypes.c_int(0)
        return libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 \
            and flag.value != 0
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


def kill_tree(pgid: int | None, known_children: set[int], pids: set[int] = frozenset()
              ) -> int:
    """Kill the kernel's process group and session, ``pids`` (the kernel's own process,
    which may have left its group), and, if this process is a subreaper
    (:func:`become_subreaper`), every orphan re-parented to it.

    ``known_children`` are this process's children that are not the student's (started
    before the kernel). A process that is no subreaper (the tests' own, which start the
    grading batches from other threads) gets no orphans, so its other children, started
    after ``known_children`` was taken, are left alone. Returns how many processes were
    killed.
    """
    me = os.getpid()
    orphans = is_subreaper()
    killed = 0
    for _ in range(20):
        victims = [pid for pid, (ppid, pg, sid) in _proc_table().items()
                   if pid != me and ((pgid is not None and (pg == pgid or sid == pgid))
                                     or (pid in pids and ppid == me)
                                     or (orphans and ppid == me
                                         and pid not in known_children))]
        if not victims:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.05)
        _reap(victims)
    return killed


def _reap(pids) -> None:
    """Collect the exit status of those of ``pids`` that are our children and have ended.

    Never ``waitpid(-1)``: that would also take the status of children this process
    started elsewhere (a batch the tests run in the background), and their
    ``subprocess.Popen`` would then report exit status 0."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue


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
        Seconds a cell (or one call of the student's function) may run (``limits.cell``
        if ``limits`` is given).
    output_limit : int
        Characters of output a cell may produce; the rest is dropped.
    bwrap : bool, optional
        Run the kernel inside bubblewrap; default: if :func:`bwrap_works`.
    course : Path, optional
        A course folder the kernel must not see.
    limits : Limits, optional
        The submission's limits (:mod:`courseware.limits`; default: its defaults).
    deadline : float, optional
        ``time.monotonic()`` after which nothing more runs (default: ``limits.deadline``
        seconds after the sandbox starts).
    slot : int
        The job's slot (0, 1, ...) in its batch.
    """

    def __init__(self, timeout_cell: float | None = None, output_limit: int = 100_000, *,
                 bwrap: bool | None = None, course: Path | None = None,
                 limits: Limits | None = None, deadline: float | None = None,
                 slot: int = 0):
        self.limits = limits or Limits()
        self.timeout_cell = timeout_cell if timeout_cell is not None else self.limits.cell
        self.output_limit = output_limit
        self.bwrap = bwrap_works() if bwrap is None else bwrap
        self.course = course
        self.deadline = deadline
        self.uid = UID_BASE + os.getpid() if self.bwrap and os.geteuid() == 0 else None
        self.dir: Path | None = None
        self.client: _Client | None = None
        self.restarts = 0
        self.killed = 0
        self.channel = None        # a courseware.remote session, while one is open
        self._known: set[int] = set()
        #: where the kernel's exchange code is registered (see courseware.remote._BOOT)
        self.key = f"_courseware_{secrets.token_hex(16)}"
        self.io_mounted = False

    # ------------------------------------------------------------------ life cycle
    def __enter__(self) -> Sandbox:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limits.deadline
        self.dir = Path(tempfile.mkdtemp(prefix=f"courseware-sub-{os.getpid()}-"))
        try:
            for sub in ("io",) if self.bwrap else ("io", "home", "tmp", "work"):
                (self.dir / sub).mkdir()
            # as root, the exchange folder is a tmpfs of the /tmp limit's size: the
            # kernel's one writable place on the machine cannot fill its disk
            self.io_mounted = self.bwrap and os.geteuid() == 0 and _mount_tmpfs(
                self.dir / "io", self.limits.tmp)
            self.give(self.dir / "io")
            self._known = _children()
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            if self.dir is not None:
                if self.io_mounted:
                    _unmount(self.dir / "io")
                    self.io_mounted = False
                for _ in range(3):      # a process killed a moment ago may still write
                    shutil.rmtree(self.dir, ignore_errors=True)
                    if not self.dir.exists():
                        break
                    time.sleep(0.1)

    @property
    def work(self) -> Path:
        """The exchange folder: requests and answers of :mod:`courseware.remote`."""
        assert self.dir is not None
        return self.dir / "io"

    def give(self, path: Path) -> None:
        """Hand a file or folder the grader made to the kernel's user (root only)."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def left(self) -> float:
        """Seconds until the submission's deadline."""
        return (self.deadline or float("inf")) - time.monotonic()

    def io_bytes(self) -> int:
        """Bytes in the exchange folder (the one place outside its /tmp it can write), its
        sub-folders included (at most 100,000 entries are looked at)."""
        if self.io_mounted:
            st = os.statvfs(self.work)
            return (st.f_blocks - st.f_bfree) * st.f_frsize
        total, seen, stack = 0, 0, [str(self.work)]
        while stack and seen < 100_000:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for entry in entries:
                seen += 1
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
        return total

    def env(self) -> dict[str, str]:
        assert self.dir is not None
        if self.bwrap:
            home, tmp = Path("/tmp/home"), Path("/tmp")
        else:
            home, tmp = self.dir / "home", self.dir / "tmp"
        env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
        env.update({
            "PATH": f"{Path(python_path(sys.executable)).parent}:/usr/bin:/bin",
            "HOME": str(home), "TMPDIR": str(tmp), "USER": "student", "LOGNAME": "student",
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
        # Unix sockets in the exchange folder: in bubblewrap the kernel has no network
        km.transport = "ipc"
        km.ip = str(self.work / f".kernel-{self.restarts}")
        km.connection_file = str(self.work / f".kernel-{self.restarts}.json")
        prefix = self.limits.launcher(self.uid)
        if self.bwrap:      # bubblewrap first; the limits and the user switch inside it
            prefix = bwrap_args(self.dir, self.course, self.limits) + prefix
        plain = km.format_kernel_cmd

        def command(extra_arguments=None):
            self.give(Path(km.connection_file))      # written just before this is called
            cmd = plain(extra_arguments)
            return prefix + [python_path(cmd[0]), *cmd[1:]]

        km.format_kernel_cmd = command
        self.client.start_new_kernel(env=self.env(), stderr=subprocess.DEVNULL,
                                     cwd=str(self.work if self.bwrap else self.dir / "work"))
        self.client.start_new_kernel_client()
        # before any student code: the exchange's private references (courseware.remote)
        from .remote import bootstrap_code

        cell = nbformat.v4.new_code_cell(bootstrap_code(self.key))
        self.client.nb.cells = [cell]
        self.client.timeout = 60
        self.client.execute_cell(cell, 0)

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
        prov = getattr(self.client.km if self.client else None, "provisioner", None)
        kernel = {getattr(prov, "pid", None)} - {None}
        if self.client is not None and self.client.km is not None:
            try:
                self.client._cleanup_kernel()
            except Exception:  # noqa: BLE001 - the kernel may already be gone
                pass
        self.killed += kill_tree(pgid, self._known, kernel)
        self.client = None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        if self.left() > 0:
            self.start()

    # ------------------------------------------------------------------ running code
    def run(self, source: str, timeout: float | None = None) -> tuple[str, str]:
        """Run code: ``("ok", "")``, ``("error", "Name: value")``, ``("timeout", "")``,
        ``("dead", "")``, ``("output", "")`` (ran, but exceeded the output limit) or
        ``("deadline", "")`` (the submission's deadline came first; nothing more runs).

        After ``"timeout"`` or ``"dead"`` the kernel has been restarted: the caller replays
        what it needs.
        """
        left = self.left()
        if left <= 0 or self.client is None:
            return "deadline", ""
        limit = min(timeout or self.timeout_cell, left)
        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells = [cell]
        self.client.timeout = max(1, int(round(limit)))
        self.client._used = 0
        self.client.overflow = False
        try:
            self.client.execute_cell(cell, 0)
        except CellExecutionError as err:
            if err.ename == _TIMEOUT_ENAME:
                return self._timed_out()
            value = (err.evalue or "").strip().splitlines()
            return "error", f"{err.ename}: {value[0]}" if value else err.ename
        except CellTimeoutError:
            return self._timed_out()
        except DeadKernelError:
            self.restart()
            return ("dead", "") if self.left() > 0 else ("deadline", "")
        if self.client.overflow:
            return "output", ""
        return "ok", ""

    def _timed_out(self) -> tuple[str, str]:
        if self.left() <= 0.5:
            self.stop()
            return "deadline", ""
        self.restart()
        return "timeout", ""

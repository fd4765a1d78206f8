"""The limits of one submission, and the launcher that applies them to its kernel.

Every submission graded by ``make autograde`` (or ``python -m courseware.autograde
autograde``) gets, by default:

=================  ===========  =====================================================
limit              default      what happens when it is hit
=================  ===========  =====================================================
``deadline``       300 s        wall clock for the whole submission, running its cells
                                *and* judging them; what was being judged, and what
                                was not judged yet, scores 0 ("the submission's time
                                limit of 300 s was reached")
``cell``           30 s         one cell, or one call of the student's function
``memory``         2 GiB        address space of the kernel (``RLIMIT_AS``): the
                                student's code gets ``MemoryError``
``cpu``            300 s        CPU seconds of the kernel process (``RLIMIT_CPU``)
``file_size``      256 MiB      one file written (``RLIMIT_FSIZE``): ``OSError``
``processes``      64           processes and threads of the kernel's user
                                (``RLIMIT_NPROC``; each submission graded at a time has
                                its own user id, so one cannot starve another)
``tmp``            512 MiB      the kernel's private ``/tmp`` (its home and working
                                folder live there; bubblewrap's ``--size`` tmpfs)
=================  ===========  =====================================================

Change them on the command line (``--deadline 600 --memory 4096`` ...; ``make
autograde LIMITS='--deadline 600'``) or with environment variables
``COURSEWARE_LIMIT_<NAME>`` (``COURSEWARE_LIMIT_MEMORY=4096``, in MiB; seconds for
``deadline``, ``cell`` and ``cpu``).

``python -m courseware.limits --memory M --cpu S --file-size F --processes N [--uid U]
-- COMMAND ...`` sets the limits, forbids new privileges, switches to user id ``U`` (when
run as root: the kernel never runs as root) and executes ``COMMAND``:
:class:`courseware.sandbox.Sandbox` runs it inside ``bwrap``, in front of the kernel.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, fields

__all__ = ["Limits", "explain", "main"]

_MIB = 2**20


@dataclass(frozen=True)
class Limits:
    """Per-submission limits (see the module's docstring); sizes in MiB, times in s."""

    deadline: float = 300
    cell: float = 30
    memory: int = 2048
    cpu: int = 300
    file_size: int = 256
    processes: int = 64
    tmp: int = 512

    @classmethod
    def from_env(cls, **overrides) -> Limits:
        """The defaults, overridden by ``COURSEWARE_LIMIT_<NAME>`` and then by
        ``overrides`` whose value is not None."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"COURSEWARE_LIMIT_{f.name.upper()}")
            if raw:
                values[f.name] = float(raw) if f.type == "float" else int(float(raw))
            if overrides.get(f.name) is not None:
                values[f.name] = overrides[f.name]
        return cls(**values)

    def describe(self) -> str:
        return (f"{self.deadline:g} s per submission, {self.cell:g} s per cell or call, "
                f"memory {self.memory} MiB, CPU {self.cpu} s, files {self.file_size} MiB, "
                f"{self.processes} processes, /tmp {self.tmp} MiB")

    def launcher(self, uid: int | None) -> list[str]:
        """The command prefix that applies the limits (and the user id) to a kernel."""
        from pathlib import Path

        exe = Path(sys.executable)      # its folders resolved, as the sandbox shows them
        cmd = [str(exe.parent.resolve() / exe.name), "-m", "courseware.limits", "--memory", str(self.memory),
               "--cpu", str(self.cpu), "--file-size", str(self.file_size),
               "--processes", str(self.processes)]
        if uid is not None:
            cmd += ["--uid", str(uid)]
        return cmd + ["--"]


#: What an error raised in the kernel says when a limit was hit -> the limit's name.
_SIGNS = [
    (re.compile(r"^MemoryError|Unable to allocate|Cannot allocate memory"), "memory"),
    (re.compile(r"File too large|Errno 27\b"), "file_size"),
    (re.compile(r"No space left on device|Errno 28\b"), "tmp"),
    (re.compile(r"Resource temporarily unavailable|can't start new thread|Errno 11\b"),
     "processes"),
]
_NAMES = {"memory": "the memory limit of {memory} MiB",
          "file_size": "the file size limit of {file_size} MiB",
          "tmp": "the /tmp limit of {tmp} MiB",
          "processes": "the limit of {processes} processes"}


def explain(text: str, limits: Limits) -> str:
    """``text`` (an error as ``"Name: message"``) followed by the limit it shows was hit,
    if any: ``"MemoryError: ... (the memory limit of 2048 MiB was reached)"``."""
    for sign, name in _SIGNS:
        if sign.search(text):
            return f"{text} ({_NAMES[name].format(**limits.__dict__)} was reached)"
    return text


def _no_new_privileges() -> None:
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)   # PR_SET_NO_NEW_PRIVS
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    import resource

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        print("usage: python -m courseware.limits [options] -- COMMAND ...", file=sys.stderr)
        return 2
    cut = argv.index("--")
    parser = argparse.ArgumentParser(prog="python -m courseware.limits")
    parser.add_argument("--memory", type=int, required=True, help="MiB of address space")
    parser.add_argument("--cpu", type=int, required=True, help="CPU seconds")
    parser.add_argument("--file-size", type=int, required=True, help="MiB per file")
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--uid", type=int, default=None)
    args = parser.parse_args(argv[:cut])
    command = argv[cut + 1:]
    resource.setrlimit(resource.RLIMIT_AS, (args.memory * _MIB,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (args.cpu, args.cpu + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_size * _MIB,) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (args.processes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _no_new_privileges()      # no set-user-id program (su, mount) can make it root again
    if args.uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)       # from root to a user: every capability goes
    os.execvp(command[0], command)
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main())

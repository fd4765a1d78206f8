"""The book's reference numeric environment, defined in this one place.

Stored notebook outputs reproduce bit for bit only if matrix products are
summed in the same order. NumPy's OpenBLAS picks its kernel from the CPU
(SkylakeX on AVX-512 machines, Haswell on most others), and the kernels sum
in different orders; training amplifies the last-bit difference until runs
diverge. So everything that runs a notebook pins:

- ``OPENBLAS_CORETYPE=Haswell`` on x86-64 CPUs with AVX2 and FMA (every
  Intel CPU since 2013, every AMD CPU since 2015). Older x86-64 CPUs cannot
  run that kernel (illegal instruction), so there the kernel is left alone
  and the run is reported as not exactly reproducible;
- one thread for OpenBLAS, OpenMP and MKL (thread count changes the order);
- ``PYDEVD_DISABLE_FILE_VALIDATION=1``, which keeps the debugger's
  frozen-modules warning out of the stderr that nbval compares.

arm64 machines (Apple Silicon with Accelerate, Linux on ARM) and NumPy builds
on MKL cannot use the reference kernel at all: there, training results can
differ in late digits, and the tests say so in one line instead of comparing.

Usage::

    python tools/numeric_env.py status          # one line: exact or why not
    python tools/numeric_env.py env             # the pins, VAR=VALUE
    python tools/numeric_env.py run -- CMD ...  # CMD with the pins winning
    python tools/numeric_env.py install-kernel  # the notebooks' kernelspec

``install-kernel`` writes the ``dropout-book`` kernelspec into this Python's
prefix (the project's ``.venv``), with the pins in its ``env``. Jupyter gives
a kernelspec's ``env`` precedence over the environment of whoever starts the
kernel, so every notebook (whose metadata names this kernel) runs pinned,
whether nbval, ``make execute``, JupyterLab or an editor starts it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

KERNEL_NAME = "dropout-book"
KERNEL_DISPLAY_NAME = "Python 3 (dropout book)"
REFERENCE_CORETYPE = "Haswell"
ALWAYS = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}
#: Set by a test to check the behaviour of a machine that cannot be pinned.
FORCE_INEXACT = "DROPOUT_BOOK_FORCE_INEXACT"


@dataclass(frozen=True)
class Platform:
    """What decides whether the reference kernel can run here."""

    machine: str
    blas: str
    avx2_fma: bool


@dataclass(frozen=True)
class Status:
    """The pins for a platform, and whether stored outputs reproduce exactly."""

    exact: bool
    reason: str
    pins: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        """One line a learner can read."""
        if self.exact:
            return (
                f"numeric environment: reference (OpenBLAS {REFERENCE_CORETYPE} "
                "kernel, 1 thread): stored outputs are compared exactly"
            )
        return (
            f"numeric environment: not the reference ({self.reason}): "
            "training results can differ in late digits here, so notebooks "
            "are run and must not fail, but their stored outputs are not "
            "compared"
        )


def _detect_here() -> dict[str, object]:
    """Read the machine, NumPy's BLAS and the CPU's vector features."""
    import numpy as np

    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as feats
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = str(blas.get("name", "unknown"))
    except (KeyError, TypeError, ValueError):
        name = "unknown"
    avx2_fma = bool(feats.get("AVX2") and feats.get("FMA3"))
    return {"machine": platform.machine().lower(), "blas": name.lower(),
            "avx2_fma": avx2_fma}


def detect() -> Platform:
    """:class:`Platform` of this machine, read in a child process.

    A child, because loading NumPy here would start OpenBLAS before the
    pins are in ``os.environ``.
    """
    out = subprocess.run(
        [sys.executable, __file__, "_detect"], check=True,
        capture_output=True, text=True,
    ).stdout
    return Platform(**json.loads(out))


def status(plat: Platform, environ: dict[str, str] | None = None) -> Status:
    """The pins for ``plat``, and whether the reference kernel applies."""
    environ = os.environ if environ is None else environ
    pins = dict(ALWAYS)
    if environ.get(FORCE_INEXACT):
        return Status(False, f"forced by {FORCE_INEXACT}", pins)
    if plat.machine not in ("x86_64", "amd64"):
        why = f"{plat.machine} CPU, {plat.blas} BLAS"
        return Status(False, why, pins)
    if "openblas" not in plat.blas:
        why = f"NumPy uses {plat.blas}, not OpenBLAS"
        return Status(False, why, pins)
    if not plat.avx2_fma:
        why = "this CPU lacks AVX2/FMA, which the Haswell kernel needs"
        return Status(False, why, pins)
    pins["OPENBLAS_CORETYPE"] = REFERENCE_CORETYPE
    return Status(True, "", pins)


def current() -> Status:
    """:func:`status` of this machine."""
    return status(detect())


def pinned_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with the pins winning."""
    base = dict(os.environ if base is None else base)
    return {**base, **current().pins}


def kernel_dir(prefix: str | Path = sys.prefix) -> Path:
    """Where :func:`install_kernel` writes the kernelspec."""
    return Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def install_kernel(prefix: str | Path = sys.prefix) -> Path:
    """Install the ``dropout-book`` kernelspec, with the pins in its env."""
    cmd = [
        sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix),
        "--name", KERNEL_NAME, "--display-name", KERNEL_DISPLAY_NAME,
    ]
    for var, value in sorted(current().pins.items()):
        cmd += ["--env", var, value]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return kernel_dir(prefix)


def kernel_env(prefix: str | Path = sys.prefix) -> dict[str, str] | None:
    """The ``env`` of the installed kernelspec, or None if not installed."""
    spec = kernel_dir(prefix) / "kernel.json"
    if not spec.exists():
        return None
    return json.loads(spec.read_text(encoding="utf-8")).get("env", {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="one line: exact or why not")
    sub.add_parser("_detect")
    sub.add_parser("env", help="print the pins as VAR=VALUE")
    run = sub.add_parser("run", help="run a command with the pins")
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    inst = sub.add_parser("install-kernel", help="install the kernelspec")
    inst.add_argument("--prefix", default=sys.prefix)
    args = parser.parse_args(argv)
    if args.command == "_detect":
        print(json.dumps(_detect_here()))
    elif args.command == "status":
        print(current().line())
    elif args.command == "env":
        for var, value in sorted(current().pins.items()):
            print(f"{var}={value}")
    elif args.command == "install-kernel":
        where = install_kernel(args.prefix)
        print(f"installed kernel {KERNEL_NAME!r} in {where}")
    else:
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            parser.error("run needs a command: run -- CMD ...")
        env = pinned_environ()
        os.execvpe(cmd[0], cmd, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

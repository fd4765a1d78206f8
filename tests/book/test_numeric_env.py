"""The reference numeric environment (tools/numeric_env.py) and portable nbval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import numeric_env as ne  # noqa: E402

X86 = ne.Platform("x86_64", "scipy-openblas", True)


# --------------------------------------------------------------------------- the rules


def test_x86_with_avx2_and_openblas_is_pinned_to_haswell_and_one_thread():
    status = ne.status(X86, environ={})
    assert status.exact
    assert status.pins["OPENBLAS_CORETYPE"] == "Haswell"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert status.pins[var] == "1"
    assert "compared exactly" in status.line()


@pytest.mark.parametrize(
    "plat, reason",
    [
        (ne.Platform("arm64", "accelerate", False), "arm64 CPU, accelerate BLAS"),
        (ne.Platform("aarch64", "scipy-openblas", False), "aarch64 CPU"),
        (ne.Platform("x86_64", "mkl-sdl", True), "NumPy uses mkl-sdl"),
        (ne.Platform("x86_64", "openblas", False), "lacks AVX2/FMA"),
    ],
)
def test_other_platforms_keep_their_kernel_and_say_why_in_one_line(plat, reason):
    status = ne.status(plat, environ={})
    assert not status.exact
    assert "OPENBLAS_CORETYPE" not in status.pins  # Haswell would crash or not apply
    assert status.pins["OPENBLAS_NUM_THREADS"] == "1"
    line = status.line()
    assert reason in line and "\n" not in line
    assert "not compared" in line


def test_pins_win_over_the_callers_environment():
    caller = {"OPENBLAS_CORETYPE": "Sandybridge", "OPENBLAS_NUM_THREADS": "2", "HOME": "/x"}
    env = ne.pinned_environ(caller)
    assert env["HOME"] == "/x"
    for var, value in ne.current().pins.items():
        assert env[var] == value


def test_run_applies_the_pins_to_the_command():
    env = {**os.environ, "OPENBLAS_CORETYPE": "Sandybridge", "OMP_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "numeric_env.py"), "run", "--",
         sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    seen = json.loads(out)
    for var, value in ne.current().pins.items():
        assert seen[var] == value


def test_the_installed_kernelspec_carries_this_machines_pins():
    env = ne.kernel_env()
    assert env is not None, "run `make setup`: the dropout-book kernel is missing"
    for var, value in ne.current().pins.items():
        assert env.get(var) == value, var


# --------------------------------------------------------------------------- it matters


def _gemm_digest(coretype: str) -> str:
    code = (
        "import hashlib, numpy as np\n"
        "rng = np.random.default_rng(0)\n"
        "A, B = rng.standard_normal((64, 64)), rng.standard_normal((64, 128))\n"
        "print(hashlib.sha1((A @ B).tobytes()).hexdigest())\n"
    )
    env = {**os.environ, "OPENBLAS_CORETYPE": coretype, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


needs_reference = pytest.mark.skipif(
    not ne.current().exact, reason="this machine cannot run the reference kernel"
)


@needs_reference
def test_the_other_kernel_really_computes_different_bits():
    # Otherwise the next test could pass without the pin doing anything.
    assert _gemm_digest("Sandybridge") != _gemm_digest("Haswell")


@needs_reference
def test_nbval_passes_when_the_caller_asks_for_another_kernel():
    # The caller's environment says Sandybridge and two threads; no conftest runs
    # (--noconftest), so only the kernelspec's env can pin the kernel. Without that
    # pin the co-adaptation chapter fails 8 cells (measured on 2026-12-01).
    env = {**os.environ, "OPENBLAS_CORETYPE": "Sandybridge", "OPENBLAS_NUM_THREADS": "2",
           "OMP_NUM_THREADS": "2"}
    notebooks = ["book/quickstart.ipynb", "book/03_co_adaptation.ipynb"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--noconftest", "-p", "no:cacheprovider", "-q",
         "--nbval", f"--nbval-kernel-name={ne.KERNEL_NAME}", *notebooks],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    tail = proc.stdout[-3000:]
    assert proc.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail


# --------------------------------------------------------------------------- elsewhere


def _notebook_with_a_wrong_output(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": ne.KERNEL_NAME, "display_name": "x",
                                 "language": "python"}
    cell = nbformat.v4.new_code_cell("print(0.1 + 0.2)", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.3\n")]
    nb.cells = [cell]
    nbformat.write(nb, path)


def _nbval_with_root_conftest(tmp_path: Path, inexact: bool) -> subprocess.CompletedProcess:
    nb = tmp_path / "late_digits.ipynb"
    _notebook_with_a_wrong_output(nb)
    env = {k: v for k, v in os.environ.items() if k != ne.FORCE_INEXACT}
    if inexact:
        env[ne.FORCE_INEXACT] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "--nbval", f"--nbval-kernel-name={ne.KERNEL_NAME}",
         str(nb)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@needs_reference
def test_the_reference_machine_compares_outputs(tmp_path):
    proc = _nbval_with_root_conftest(tmp_path, inexact=False)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "0.30000000000000004" in proc.stdout


def test_a_machine_without_the_reference_gets_one_line_not_diffs(tmp_path):
    # The wrong stored output stands for late digits that differ on such a machine.
    proc = _nbval_with_root_conftest(tmp_path, inexact=True)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert proc.stdout.count("numeric environment: not the reference") == 2  # header, end
    assert "0.30000000000000004" not in proc.stdout  # no diff printed

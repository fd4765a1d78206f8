"""Session set-up for every test run: tests/ and the nbval run over book/.

It puts the reference numeric environment (tools/numeric_env.py) in place
before NumPy is first imported, so the unit tests and the notebooks' kernel
compute with the same BLAS kernel and thread count, whatever the caller's
environment says. On a machine that cannot use the reference kernel it
says so in one line and runs nbval without comparing outputs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
import numeric_env  # noqa: E402

STATUS = numeric_env.current()
_NUMPY_FIRST = "numpy" in sys.modules
os.environ.update(STATUS.pins)


def _loaded_coretype() -> str | None:
    """The architecture of the OpenBLAS this process loaded, if any."""
    from threadpoolctl import threadpool_info

    import numpy  # noqa: F401  (loads OpenBLAS)

    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas":
            return str(lib.get("architecture"))
    return None


def pytest_configure(config: pytest.Config) -> None:
    if STATUS.exact:
        loaded = _loaded_coretype()
        if loaded != numeric_env.REFERENCE_CORETYPE:
            raise pytest.UsageError(
                f"NumPy was loaded with the OpenBLAS {loaded} kernel before "
                "the pins applied (numpy imported first: "
                f"{_NUMPY_FIRST}); run the tests with `make test` or "
                "`python tools/numeric_env.py run -- pytest ...`"
            )
    nbval_on = config.getoption("nbval", False) or config.getoption(
        "nbval_lax", False
    )
    if not nbval_on:
        return
    if config.getoption("nbval_current_env", False):
        raise pytest.UsageError(
            "--nbval-current-env runs notebooks without the pinned kernel; "
            f"use --nbval-kernel-name={numeric_env.KERNEL_NAME}"
        )
    env = numeric_env.kernel_env()
    if env is None or any(env.get(k) != v for k, v in STATUS.pins.items()):
        raise pytest.UsageError(
            f"the notebooks' kernel {numeric_env.KERNEL_NAME!r} is missing "
            "or does not carry this machine's pins: run `make setup`"
        )
    if not STATUS.exact:
        config.option.nbval_lax = True


def pytest_report_header(config: pytest.Config) -> str:
    return STATUS.line()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not STATUS.exact:
        terminalreporter.write_line(STATUS.line(), yellow=True)


@pytest.fixture(scope="session")
def numerics_exact() -> bool:
    """True where the book's numbers reproduce bit for bit (the reference)."""
    return STATUS.exact

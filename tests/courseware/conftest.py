"""Fixtures of the courseware tests: course folders with a ready, empty nbgrader gradebook.

nbgrader creates a gradebook by asking ``alembic`` (a subprocess) for its schema version,
seconds each time; the tests create one empty gradebook per session this way and copy it
into each course folder, where ``make assignment`` (nbgrader's ``generate_assignment``)
then adds the assignment to it as it would to a new one.
"""
from __future__ import annotations

import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

# The batches and test_judges load the checks' tests (reference solutions, typical
# mistakes) in the sandboxed kernel, which sees only Python and the packages otherwise.
os.environ["COURSEWARE_SANDBOX_SHOW"] = str(Path(__file__).resolve().parent)


@pytest.fixture(scope="session")
def empty_gradebook(tmp_path_factory) -> Path:
    from nbgrader.api import Gradebook

    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{old}"   # nbgrader runs alembic
    try:
        with Gradebook(f"sqlite:///{path}"):
            pass
    finally:
        os.environ["PATH"] = old
    return path


@pytest.fixture(scope="session")
def new_course(tmp_path_factory, empty_gradebook):
    """``new_course(name)``: a fresh course folder holding an empty gradebook."""
    def make(name: str) -> Path:
        course = tmp_path_factory.mktemp(name)
        shutil.copy(empty_gradebook, course / "gradebook.db")
        return course
    return make


# The batches (`make autograde` over a folder of crafted submissions) of
# test_autograde.py and test_autograde_chapters.py take most of this folder's time, and
# most of it waiting for kernels: they are started in the background by the first test
# of the session, and the tests that read their results run last.
_BATCH_MODULES = ("test_autograde", "test_autograde_chapters")


def _module(item) -> str | None:
    """The test module's name; None for items without one (nbval's notebook cells)."""
    return getattr(getattr(item, "module", None), "__name__", None)


def pytest_collection_modifyitems(session, config, items):
    batch = [it for it in items if _module(it) in _BATCH_MODULES]
    if batch:
        config.stash[_WANTED] = {_module(it) for it in batch}
        items[:] = [it for it in items if _module(it) not in _BATCH_MODULES] + batch


#: The batch modules this session runs tests of: only their batches are started.
_WANTED = pytest.StashKey[set]()


@pytest.fixture(scope="session")
def _launcher():
    pool = ThreadPoolExecutor(2)        # releases are nbgrader processes: no test waits
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def chapter_batches(tmp_path_factory, new_course, _launcher):
    """Chapters 2-4's batches of ``test_autograde_chapters.py`` (see its ``launch``),
    being started: a future of ``{chapter: (course, process)}``."""
    import test_autograde_chapters

    future = _launcher.submit(test_autograde_chapters.launch, tmp_path_factory, new_course)
    yield future
    for _, proc in future.result().values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="session")
def chapter_one_batch(tmp_path_factory, new_course, _launcher):
    """Chapter 1's batch of ``test_autograde.py`` (see its ``launch``), being started."""
    import test_autograde

    future = _launcher.submit(test_autograde.launch, tmp_path_factory, new_course)
    yield future
    run = future.result()
    if run["proc"].poll() is None:
        run["proc"].kill()
        run["proc"].communicate()
    run["finished"].set()


@pytest.fixture(scope="session", autouse=True)
def _batches_in_the_background(request):
    """Start the batches with the first test, if any test of the session reads them."""
    wanted = request.config.stash.get(_WANTED, set())
    if "test_autograde" in wanted:
        request.getfixturevalue("chapter_one_batch")
    if "test_autograde_chapters" in wanted:
        request.getfixturevalue("chapter_batches")

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
from pathlib import Path

import pytest


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


@pytest.fixture(scope="session")
def chapter_batches(tmp_path_factory, new_course):
    """Chapters 2-4's batches of ``test_autograde_chapters.py``, started (see its
    ``launch``); whoever needs them first starts them, the module waits for them."""
    import test_autograde_chapters

    runs = test_autograde_chapters.launch(tmp_path_factory, new_course)
    yield runs
    for _, proc in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

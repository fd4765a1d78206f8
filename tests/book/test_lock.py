"""requirements.lock agrees with requirements.txt, and the check notices when not."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lock", ROOT / "tools" / "lock.py")
lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock)


def test_the_lock_agrees_with_requirements():
    assert lock.problems() == []


@pytest.fixture
def copy(tmp_path, monkeypatch):
    for name in ("REQUIREMENTS", "PROJECT", "LOCK"):
        src = getattr(lock, name)
        dst = tmp_path / src.name
        dst.write_bytes(src.read_bytes())
        monkeypatch.setattr(lock, name, dst)
    return tmp_path


def test_an_edited_requirements_file_needs_a_new_lock(copy):
    req = copy / "requirements.txt"
    req.write_text(req.read_text() + "\nrich>=13\n")
    found = lock.problems()
    assert any("changed after the lock" in p for p in found)
    assert any("rich is in requirements.txt but not locked" in p for p in found)


def test_a_lock_outside_the_ranges_is_refused(copy):
    lk = copy / "requirements.lock"
    text = lk.read_text()
    version = lock.pins(text)["numpy"]
    lk.write_text(text.replace(f"numpy=={version}", "numpy==1.20.0"))
    assert any("numpy==1.20.0 in the lock does not satisfy" in p
               for p in lock.problems())


def test_every_locked_package_has_a_hash():
    import re
    text = lock.LOCK.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 3)[3])
    pinned = [e for e in entries if "==" in e.split("\n", 1)[0]]
    assert len(pinned) == len(lock.pins(text)) > 100
    for entry in pinned:
        assert "--hash=sha256:" in entry, entry.split("\n", 1)[0]
    assert {"numpy", "jupyterlab-myst"} <= set(lock.pins(text))

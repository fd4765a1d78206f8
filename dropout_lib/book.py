"""The book's table of contents: which pages and chapters exist, in reading order.

One reader of ``_toc.yml`` for the tests, the tools (notebook execution, benchmarks) and
the student edition. It works in a clone of the repository, where ``dropout_lib`` is
installed in editable mode and the book sits beside it.
"""
from __future__ import annotations

from pathlib import Path

#: The repository root: the folder holding ``_toc.yml``, ``book/`` and ``dropout_lib/``.
ROOT = Path(__file__).resolve().parents[1]
TOC = ROOT / "_toc.yml"


def toc_entries() -> list[str]:
    """Every ``file:`` entry of ``_toc.yml``, root first, as written there (no suffix)."""
    import yaml

    toc = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    entries = [toc["root"]]

    def walk(items):
        for item in items or []:
            if "file" in item:
                entries.append(item["file"])
            walk(item.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return entries


def resolve(entry: str) -> Path | None:
    """The source file of a toc entry (``.ipynb`` or ``.md``), or None if neither exists."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{entry}{suffix}"
        if path.exists():
            return path
    return None


def toc_notebooks() -> list[Path]:
    """The book's notebooks, in reading order."""
    paths = [resolve(e) for e in toc_entries()]
    return [p for p in paths if p is not None and p.suffix == ".ipynb"]

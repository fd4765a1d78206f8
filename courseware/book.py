"""The book's table of contents: which pages and chapters exist, in reading order.

One reader of ``_toc.yml`` for the tests, the tools (notebook execution, benchmarks) and
the student edition. It works only in a clone of the repository (courseware is installed
in editable mode there, and the book sits beside it): :data:`ROOT` is the nearest folder
above this module that holds ``_toc.yml``, and importing this module raises
``FileNotFoundError`` if there is none (e.g. a non-editable install in site-packages).
"""
from __future__ import annotations

from pathlib import Path


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: this module's folder) that holds
    ``_toc.yml``: the repository root. Raises ``FileNotFoundError`` if there is none."""
    start = (start or Path(__file__).parent).resolve()
    for folder in [start, *start.parents]:
        if (folder / "_toc.yml").is_file():
            return folder
    raise FileNotFoundError(
        f"no _toc.yml in {start} or any folder above it: courseware runs only from a clone "
        "of the book's repository (install it there with `pip install -e .[courseware]`)"
    )


#: The repository root: the folder holding ``_toc.yml``, ``book/``, ``dropout_lib/`` and
#: ``courseware/``, found by walking up from this module (see :func:`find_root`).
ROOT = find_root()
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

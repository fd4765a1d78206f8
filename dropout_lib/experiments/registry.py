"""One registry of the book's studies, one command line, one JSON format.

A study is a module of :mod:`dropout_lib.experiments` that defines

- ``NAME``: the study's name on the command line;
- ``CACHE_FILE``: where the book keeps its full-size results, relative to
  the repository (``book/data/<name>.json``);
- ``FORMAT``: the version of its JSON layout, bumped when it changes;
- ``run_study(scale, *, progress=False)``: run it and return JSON-ready
  results (start them with :func:`envelope`).

Every such module is found and registered here; there is nothing else to
edit. The command line::

    python -m dropout_lib.experiments list
    python -m dropout_lib.experiments run NAME --scale full   # the book's file
    python -m dropout_lib.experiments run NAME --scale small --out FILE

See Also
--------
CONTRIBUTING.md : "Experiments a referee would accept".
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["SCALES", "Study", "envelope", "load", "main", "provenance",
           "studies"]

#: The sizes every study offers: "full" for the book, "small" for tests.
SCALES = ("small", "full")


@dataclass(frozen=True)
class Study:
    """A registered study: its name, module, cache file and JSON version."""

    name: str
    module: ModuleType
    cache_file: Path
    format: int

    @property
    def summary(self) -> str:
        """The first line of the module's docstring."""
        doc = (self.module.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def run(self, scale: str, *, progress: bool = False) -> dict[str, Any]:
        """Run the study at ``scale`` and return its results."""
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}; got {scale!r}")
        return self.module.run_study(scale, progress=progress)


def studies() -> dict[str, Study]:
    """Every study module of the package, by name (sorted)."""
    from . import __path__ as pkg_path

    found: dict[str, Study] = {}
    for info in pkgutil.iter_modules(pkg_path):
        if info.name.startswith("_") or info.name == "registry":
            continue
        mod = importlib.import_module(f"{__package__}.{info.name}")
        if all(hasattr(mod, a) for a in ("NAME", "CACHE_FILE", "FORMAT",
                                         "run_study")):
            if mod.NAME in found:
                raise RuntimeError(f"two studies are called {mod.NAME!r}")
            found[mod.NAME] = Study(mod.NAME, mod, Path(mod.CACHE_FILE),
                                    int(mod.FORMAT))
    return dict(sorted(found.items()))


def _study(name: str) -> Study:
    known = studies()
    if name not in known:
        raise ValueError(f"name must be one of {sorted(known)}; got {name!r}")
    return known[name]


def provenance() -> dict[str, Any]:
    """What produced a result: versions and the numeric pins in force."""
    import numpy

    from .. import __version__

    return {"library": __version__, "numpy": numpy.__version__,
            "numeric_env": {k: os.environ.get(k) for k in (
                "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS")}}


def envelope(name: str, scale: str, *, split_seeds: Sequence[int],
             seeds: Sequence[int], config: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """The fields every study's JSON starts with.

    ``format`` and ``study`` name the layout and the study, ``scale`` its
    size, ``split_seeds`` the data splits and ``seeds`` the training seeds
    used within each split, ``config`` what else defines the runs, then
    the library and NumPy versions and the numeric pins.
    """
    study = _study(name)
    return {"format": study.format, "study": name, "scale": scale,
            "rerun": f"python -m dropout_lib.experiments run {name} "
                     f"--scale {scale}",
            "split_seeds": [int(s) for s in split_seeds],
            "seeds": [int(s) for s in seeds], "config": config or {},
            **provenance()}


def load(name: str, path: str | Path | None = None) -> dict[str, Any]:
    """Read a study's results (default: its cache file, from the current
    folder); refuses a layout version other than the study's."""
    study = _study(name)
    path = Path(path) if path is not None else study.cache_file
    results = json.loads(path.read_text(encoding="utf-8"))
    if results.get("format") != study.format:
        raise ValueError(
            f"{path} has format {results.get('format')!r}; this library "
            f"reads format {study.format}: re-run python -m "
            f"dropout_lib.experiments run {name} --scale full")
    return results


def _list(out) -> int:
    rows = []
    for name, st in studies().items():
        path = st.cache_file
        if path.exists():
            try:
                res = json.loads(path.read_text(encoding="utf-8"))
                state = (f"format {res.get('format')}, "
                         f"{len(res.get('split_seeds', [])) or '?'} split(s)")
            except ValueError:
                state = "unreadable"
        else:
            state = "not run"
        rows.append((name, str(path), state, st.summary))
    if not rows:
        print("no studies are registered", file=out)
        return 0
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}",
              file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``list`` the studies, or ``run`` one and write its JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m dropout_lib.experiments",
        description="The book's studies: list them, or run one.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every study, its file and its state")
    run = sub.add_parser("run", help="run one study and write its JSON")
    run.add_argument("name", help="a study from `list`")
    run.add_argument("--scale", choices=SCALES, default="full",
                     help="full: the book's results (minutes, the default); "
                          "small: seconds, for tests")
    run.add_argument("--out", type=Path, default=None,
                     help="output JSON (default for --scale full: the "
                          "study's file under book/data)")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list(sys.stdout)
    try:
        study = _study(args.name)
    except ValueError as err:
        parser.error(str(err))
    if args.out is None and args.scale != "full":
        parser.error("--scale small needs --out (the book's file holds the "
                     "full-size results)")
    path = args.out or study.cache_file
    results = study.run(args.scale, progress=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0

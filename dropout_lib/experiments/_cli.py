"""The command line and JSON cache shared by the chapters' cached studies."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def provenance() -> dict[str, Any]:
    """What produced a cached result: versions and the numeric pins in force."""
    import numpy

    from .. import __version__

    return {"library": __version__, "numpy": numpy.__version__,
            "numeric_env": {k: os.environ.get(k) for k in (
                "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}}


def load(path: str | Path, fmt: int, rerun: str) -> dict[str, Any]:
    """Read a study's JSON; refuse a layout version other than ``fmt``."""
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    if results.get("format") != fmt:
        raise ValueError(f"{path} has format {results.get('format')!r}; this "
                         f"library reads format {fmt}: re-run {rerun}")
    return results


def main(argv: Sequence[str] | None, *, prog: str, description: str,
         cache_file: Path, run_study: Callable[..., dict[str, Any]]) -> int:
    """``--full`` (default, writes ``cache_file``) or ``--small --out FILE``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_const", const="full",
                      dest="scale", help="full size (minutes; the default)")
    size.add_argument("--small", action="store_const", const="small",
                      dest="scale", help="small size (seconds)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output JSON (default for --full: {cache_file})")
    args = parser.parse_args(argv)
    scale = args.scale or "full"
    if args.out is None and scale != "full":
        parser.error("--small needs --out (the cache holds full-size results)")
    path = args.out or cache_file
    results = run_study(scale, progress=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0

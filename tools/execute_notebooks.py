"""Re-execute the book's notebooks in place, from a fresh kernel, top to bottom.

Usage (or `make execute`, or `make execute NB=book/01_masks.ipynb`):

    .venv/bin/python tools/execute_notebooks.py [NOTEBOOK ...]

With no arguments it runs every notebook listed in _toc.yml, in the book's kernel
(`dropout-book`, whose kernelspec pins the reference numeric environment, see
tools/numeric_env.py). Unlike
`jupyter execute --inplace`, it writes no timestamps into cell metadata, so a notebook
whose outputs did not change produces no diff. Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from courseware.book import toc_notebooks

import numeric_env  # (tools/ is this script's folder)


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=numeric_env.KERNEL_NAME,  # its kernelspec carries the pins
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=numeric_env.pinned_environ())
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)
    paths = args.notebooks or toc_notebooks()
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] executing {path} ...", file=sys.stderr, flush=True)
        elapsed = execute(Path(path), args.timeout)
        print(f"[{i}/{len(paths)}] {path}: done in {elapsed:.1f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

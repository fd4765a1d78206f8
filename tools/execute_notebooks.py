"""Re-execute the book's notebooks in place, from a fresh kernel, top to bottom.

Usage (or `make execute`, or `make execute NB=book/01_masks.ipynb`):

    .venv/bin/python tools/execute_notebooks.py [--no-execute] [NOTEBOOK ...]

With no arguments it runs every notebook listed in _toc.yml, in the book's kernel
(`dropout-book`, whose kernelspec pins the reference numeric environment, see
tools/numeric_env.py). Unlike
`jupyter execute --inplace`, it writes no timestamps into cell metadata, so a notebook
whose outputs did not change produces no diff. Progress goes to stderr.

After running, it prepares the notebook for JupyterLab as the site shows it
(courseware/lab_view.py): every number of the prose is written in from the fresh glue()
outputs (``{glue:text}`name``` becomes ``<!--num:name-->value<!--/num-->``), and the
cells the site folds or removes (tags hide-input, remove-input, hide-output, hide-cell,
remove-cell, ...) are collapsed. `--no-execute` does only that, from the stored outputs
(after editing prose, a quicker step than a full run). A number it cannot write (no
glue() output of that name, or one starting a paragraph) is left as it is and reported;
the exit status is then 1.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from courseware import lab_view
from courseware.book import toc_notebooks

import numeric_env  # (tools/ is this script's folder)


def prepare(nb) -> list[str]:
    """Write the prose's numbers from ``nb``'s glue outputs and collapse its folded
    cells, in place; return the numbers that could not be written."""
    values = lab_view.glued(nb)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source, found = lab_view.write_numbers(cell.source, values, f"cell {i}")
            problems += found
    lab_view.collapse(nb)
    return problems


def execute(path: Path, timeout: int = 600, run: bool = True) -> tuple[float, list[str]]:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    if run:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name=numeric_env.KERNEL_NAME,  # its kernelspec carries the pins
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute(env=numeric_env.pinned_environ())
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    problems = prepare(nb)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in _toc.yml")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--no-execute", action="store_true",
                        help="do not run: only write the numbers and folds from the stored outputs")
    args = parser.parse_args(argv)
    paths = args.notebooks or toc_notebooks()
    failed = 0
    verb = "preparing" if args.no_execute else "executing"
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {verb} {path} ...", file=sys.stderr, flush=True)
        elapsed, problems = execute(Path(path), args.timeout, run=not args.no_execute)
        print(f"[{i}/{len(paths)}] {path}: done in {elapsed:.1f} s", file=sys.stderr, flush=True)
        for problem in problems:
            print(f"error: {path}: {problem}", file=sys.stderr, flush=True)
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

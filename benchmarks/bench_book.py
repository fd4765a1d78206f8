"""How long the book takes: nbval per chapter, and the site build.

How to run (from the repository root, after `make book`)::

    .venv/bin/python benchmarks/bench_book.py            # nbval per chapter + site build
    .venv/bin/python benchmarks/bench_book.py --no-site  # chapters only

(``make bench`` runs it after the dropout benchmark.) It prints a table and asserts
nothing: speed goals are benchmarks, never timed tests. The goals (issue 10) are printed
beside each measurement: masks and inverted dropout under 20 s each, co-adaptation and
ensembles under 60 s each, the whole nbval run under 90 s, and the site build on a set-up
environment under 60 s. Each chapter runs in its own pytest process, exactly as
`make nbval` runs it (one BLAS thread, full comparison). Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from courseware.book import ROOT, toc_notebooks

GOALS = {"01_masks": 20, "02_inverted_dropout": 20, "03_co_adaptation": 60, "04_ensembles": 60,
         "05_noise_and_modern": 60, "06_sequences_and_practice": 45}
TOTAL_GOAL, SITE_GOAL = 90, 60
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-site", action="store_true", help="skip timing the site build")
    args = parser.parse_args(argv)

    rows = []
    notebooks = toc_notebooks()
    for i, path in enumerate(notebooks, 1):
        print(f"[{i}/{len(notebooks)}] nbval {path.name} ...", file=sys.stderr, flush=True)
        seconds, rc = run([sys.executable, "-m", "pytest", str(path.relative_to(ROOT)), "--nbval",
                           "--nbval-kernel-name=dropout-book", "-p", "no:cacheprovider",
                           "-q"])
        rows.append((f"nbval {path.stem}", seconds, GOALS.get(path.stem), rc))
    total = sum(r[1] for r in rows)
    rows.append(("nbval, all chapters (sum)", total, TOTAL_GOAL, max((r[3] for r in rows), default=0)))

    if not args.no_site:
        print("site build ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as out:
            jb = str(Path(sys.executable).with_name("jupyter-book"))
            seconds, rc = run([jb, "build", ".", "--builder", "html", "-W", "-n", "--keep-going",
                               "--path-output", out])
            shutil.rmtree(out, ignore_errors=True)
        rows.append(("site build (-W -n, fresh output dir)", seconds, SITE_GOAL, rc))

    print(f"\n{'what':<40} {'seconds':>8} {'goal':>6}  result")
    for name, seconds, goal, rc in rows:
        goal_txt = f"< {goal}" if goal else "-"
        verdict = "FAILED (exit code {})".format(rc) if rc else (
            "within goal" if goal is None or seconds < goal else "OVER GOAL")
        print(f"{name:<40} {seconds:>8.1f} {goal_txt:>6}  {verdict}")
    print(f"\n{os.cpu_count()} CPU cores; one BLAS thread per process.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How long `make autograde` takes per submission: N synthetic students of one chapter.

Usage::

    python benchmarks/bench_grading.py [--chapter 01_masks] [--n 6] [--jobs 2]
                                       [--deadline 120] [--keep DIR]

It releases the chapter into a temporary course folder (``make assignment``), writes N
submissions cycling through four kinds, grades them with ``courseware.autograde`` (the
same code as ``make autograde``: bubblewrap, limits, one process per submission, ``jobs``
at a time) and prints the seconds of each submission, the mean per kind, the points each
kind got, and the total wall time. It asserts nothing.

- *honest*: the book's solutions (nbgrader's source notebook);
- *wrong*: the release as handed out (every function raises NotImplementedError);
- *slow*: the solutions, each judged function sleeping 1 s per call;
- *hostile*: the solutions behind a function that loops forever on its first call,
  a cell that asks for 3 GiB and a fork bomb.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat

KINDS = ("honest", "wrong", "slow", "hostile")


def _wrapper(names: tuple[str, ...], body: str) -> str:
    """A student cell that replaces each judged function by a wrapper around it."""
    out = ["import time as _time, os as _os"]
    for name in names:
        out += [f"_real_{name} = {name}", f"def {name}(*args, **kwargs):",
                textwrap.indent(body, "    "),
                f"    return _real_{name}(*args, **kwargs)"]
    return "\n".join(out) + "\n"


def submissions(chapter: str, course: Path, n: int) -> dict[str, nbformat.NotebookNode]:
    from courseware.judge import JUDGES

    source = nbformat.read(course / "source" / chapter / f"{chapter}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    for cell in source.cells:       # the solution regions without nbgrader's markers
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.splitlines()
                                    if "### BEGIN SOLUTION" not in line
                                    and "### END SOLUTION" not in line)
    names = tuple(dict.fromkeys(f for j in JUDGES[chapter].values() for f in j.functions))
    made = {}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        nb = copy.deepcopy(release if kind == "wrong" else source)
        if kind == "slow":
            nb.cells.append(nbformat.v4.new_code_cell(_wrapper(names, "_time.sleep(1)")))
        elif kind == "hostile":
            nb.cells.append(nbformat.v4.new_code_cell(_wrapper(names[:1], "while True:\n    pass")))
            nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent("""\
                import numpy as _np, os as _os
                try:
                    _hog = _np.ones(3 * 2**30 // 8)
                except MemoryError:
                    pass
                for _ in range(200):
                    try:
                        if _os.fork() == 0:
                            import time; time.sleep(60); _os._exit(0)
                    except OSError:
                        break
                """)))
        made[f"s{i:03d}-{kind}"] = nb
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_grading.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", default="01_masks")
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=120)
    parser.add_argument("--keep", type=Path, default=None, help="keep the course folder here")
    args = parser.parse_args(argv)

    from courseware.assignment import release
    from courseware.autograde import autograde
    from courseware.limits import Limits
    from courseware.sandbox import bwrap_works

    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    course, subs = work / "course", work / "subs"
    subs.mkdir()
    try:
        t0 = time.monotonic()
        release(args.chapter, course)
        t_release = time.monotonic() - t0
        for name, nb in submissions(args.chapter, course, args.n).items():
            nbformat.write(nb, subs / f"{name}.ipynb")
        limits = Limits.from_env(deadline=args.deadline)
        t0 = time.monotonic()
        results = autograde(args.chapter, subs, course, limits=limits, jobs=args.jobs,
                            unsafe=True, log=lambda line: None)
        wall = time.monotonic() - t0
        print(f"chapter {args.chapter}: {args.n} submissions, {args.jobs} at a time, "
              f"bubblewrap: {'yes' if bwrap_works() else 'NO'}, {os.cpu_count()} cores; "
              f"release {t_release:.1f} s; limits: {limits.describe()}")
        by_kind: dict[str, list] = {}
        for res in sorted(results, key=lambda r: r.student):
            kind = res.student.split("-", 1)[1]
            points = sum(s.score or 0 for s in res.scores.values())
            auto = sum(s.points for s in res.scores.values() if s.auto)
            by_kind.setdefault(kind, []).append((res.elapsed_s, points, auto))
            print(f"  {res.student:<16} {res.elapsed_s:6.1f} s  {points:g}/{auto:g} points"
                  + (f"  [{res.grader_error}]" if res.grader_error else ""))
        for kind, rows in by_kind.items():
            print(f"  {kind:<8} mean {statistics.mean(r[0] for r in rows):6.1f} s per submission"
                  f" (n = {len(rows)}), points {sorted({r[1] for r in rows})}")
        print(f"total wall time {wall:.1f} s: {wall / args.n:.1f} s per submission "
              f"({args.jobs} at a time); for 200 such submissions about "
              f"{wall / args.n * 200 / 60:.0f} min")
        summary = {"chapter": args.chapter, "n": args.n, "jobs": args.jobs,
                   "wall_s": round(wall, 1),
                   "per_kind_s": {k: round(statistics.mean(r[0] for r in v), 1)
                                  for k, v in by_kind.items()}}
        print(json.dumps(summary))
    finally:
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every test as three pytest processes side by side: what `make test` calls.

Most of the suite waits: on notebook kernels (nbval, the grading batches), on headless
Chromium (the site's tests) or on sandboxed grader processes. One pytest process used
about one of the two cores, so the suite is cut into groups that run at once, each in
the pinned numeric environment of the caller (`make test` runs this under
``tools/numeric_env.py run``):

- the library, the notebooks' hygiene and the courseware (whose grading batches
  already run in the background of their own process);
- the site in headless Chromium;
- the studies (their small runs) and nbval over every chapter.

Measured on the 2-core machine: one process took 9-11 minutes for 2,436 tests, three
take about 6 1/2.

The first group prints as it goes; the others' output is kept and printed when they
end. The exit status is the first non-zero status (0 when every group passes).

Usage::

    python tools/run_tests.py [extra pytest arguments, e.g. -x or -k name]
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBVAL = ["--nbval", "--nbval-kernel-name=dropout-book"]
GROUPS = {
    "the library, the notebooks' hygiene and the courseware":
        ["tests/lib", "tests/book", "tests/courseware"],
    "the site in headless Chromium": ["tests/browser"],
    "the studies and nbval over every chapter": ["tests/experiments", "book", *NBVAL],
}


def command(paths: list[str], extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *paths, "-p", "no:cacheprovider", *extra]


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    (first, first_paths), *others = GROUPS.items()
    start = time.monotonic()
    kept = {name: tempfile.TemporaryFile("w+", encoding="utf-8") for name, _ in others}
    running = {}
    try:
        for name, paths in others:
            print(f"==> in the background: {name}", flush=True)
            running[name] = subprocess.Popen(command(paths, extra), cwd=ROOT,
                                             stdout=kept[name], stderr=subprocess.STDOUT,
                                             text=True)
        print(f"==> now: {first}", flush=True)
        statuses = {first: subprocess.call(command(first_paths, extra), cwd=ROOT)}
        for name, proc in running.items():
            print(f"==> waiting for: {name}", flush=True)
            statuses[name] = proc.wait()
    finally:
        for proc in running.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for name, out in kept.items():
        out.seek(0)
        print(f"==> {name} (run alongside):", flush=True)
        sys.stdout.write(out.read())
        out.close()
    minutes, seconds = divmod(round(time.monotonic() - start), 60)
    print("==> " + "; ".join(f"{name}: exit {code}" for name, code in statuses.items())
          + f" ({minutes} min {seconds} s in all)", flush=True)
    return next((code for code in statuses.values() if code), 0)


if __name__ == "__main__":
    sys.exit(main())

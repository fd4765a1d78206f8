"""Grade students' notebooks: run each in a fresh kernel and report pass/fail per exercise.

Usage (or ``make grade NB=...``)::

    python -m courseware.grade STUDENT.ipynb [MORE.ipynb ...] [--json out.json]
        [--csv out.csv] [--timeout-cell 60] [--timeout-total 600]

Each notebook runs top to bottom in its own Jupyter kernel (a separate process), cell by
cell, with a time limit per cell and one for the whole notebook. The verdicts come from
the book's check functions: the kernel runs with ``DROPOUT_LIB_GRADE_LOG`` set, so every
``report(...)`` in a check cell also appends its :class:`~courseware.checks.CheckResult`
to a file the grader reads. A student's mistake never stops the grader:

- an exception in the student's code is recorded against that exercise;
- a cell that runs past its time limit is interrupted and recorded as "timed out after
  N s" against its exercise; if the kernel does not respond to the interrupt, it is
  restarted;
- a missing function (``NameError`` in the check) is reported as "draw_mask is not
  defined: did you run/keep the stub cell?";
- if the kernel dies (``os._exit``, out of memory, ...), it is restarted, the cells that
  had run are replayed silently, the death is recorded and grading continues;
- exercises without a check cell (predict-then-run, derive, explore) are listed as
  "not auto-graded".

When the notebook is a student edition of a chapter of this book (``python -m
courseware.student`` records the chapter in its metadata), the check cells are taken
from the book's chapter, not from the student's copy, so an edited or deleted check cell
cannot change the verdict (``--own-checks`` turns this off).

Output: a table on stdout; ``--json`` and ``--csv`` write one row per exercise (notebook,
chapter, label, type, passed, message) for a gradebook. The exit status is 0 whenever the
notebooks could be graded, even if exercises fail; 2 means a tool error (an unreadable
notebook, a kernel that cannot start).
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from .checks import GRADE_LOG_ENV
from .student import META_KEY, ROOT, Chapter, parse_chapter

__all__ = ["ExerciseGrade", "GradeError", "NotebookGrade", "grade_notebook", "main"]

#: Fixed thread counts: the same float sums on every run, and graders share machines.
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
_TIMEOUT_ENAME = "DropoutLibCellTimeout"
_PROBE_TIMEOUT = 3          # seconds an interrupted kernel gets to answer again
_CSV_FIELDS = ("notebook", "chapter", "label", "type", "passed", "message")


class GradeError(Exception):
    """The grader itself could not do its job (not a student's mistake)."""


@dataclass
class ExerciseGrade:
    """One row of the gradebook. ``passed`` is None for exercises that are not auto-graded."""

    notebook: str
    chapter: str
    label: str
    type: str
    passed: bool | None
    message: str
    checks: list[dict] = field(default_factory=list)   # the CheckResults reported


@dataclass
class NotebookGrade:
    notebook: str
    chapter: str
    exercises: list[ExerciseGrade]
    other_problems: list[str]        # errors outside exercises (cells that depend on them...)
    kernel_restarts: int
    elapsed_s: float
    timeout_cell: float
    timeout_total: float

    @property
    def auto_graded(self) -> list[ExerciseGrade]:
        return [e for e in self.exercises if e.passed is not None]


@dataclass
class _Event:
    """What happened when one cell of an exercise ran."""

    role: str                # "stub", "check", "solution", "exercise"
    kind: str                # "error", "timeout", "dead", "not-run"
    text: str


def _first_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text or "")
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def _describe(ename: str, evalue: str) -> str:
    value = _first_line(evalue)
    return f"{ename}: {value}" if value else ename


# --------------------------------------------------------------------------- the kernel


class _Runner:
    """A notebook client whose kernel can be restarted, with per-cell time limits."""

    def __init__(self, nb: NotebookNode, cwd: Path, env: dict[str, str], kernel_name: str):
        self.client = NotebookClient(
            nb, timeout=60, kernel_name=kernel_name, allow_errors=False,
            interrupt_on_timeout=True, record_timing=False, shutdown_kernel="immediate",
            # After a reply, wait at most 1 s for the cell's last outputs: verdicts come from
            # the log file, and a kernel stuck after an interrupt would cost the default 4 s.
            iopub_timeout=1,
            error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "", "traceback": []},
            resources={"metadata": {"path": str(cwd)}})
        self.env = env
        self.restarts = 0

    def start(self) -> None:
        self.client.create_kernel_manager()
        try:
            # The kernel's own stderr (ipykernel's start-up warnings) is not the student's.
            self.client.start_new_kernel(env=self.env, stderr=subprocess.DEVNULL)
            self.client.start_new_kernel_client()
        except Exception as err:
            raise GradeError(f"could not start a Jupyter kernel: {err}") from err

    def stop(self) -> None:
        if self.client.km is not None:
            try:
                self.client._cleanup_kernel()
            except Exception:
                self.client.km = None
                self.client.kc = None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def run(self, cell: NotebookNode, index: int, timeout: float) -> tuple[str, str]:
        """Run one cell: ``("ok", "")``, ``("error", text)``, ``("timeout", "")`` or ``("dead", "")``.

        After a timeout the kernel has been interrupted and answers again (or, if it did
        not, has been restarted: the caller sees ``"dead"`` then).
        """
        self.client.timeout = max(1, int(round(timeout)))
        try:
            self.client.execute_cell(cell, index)
        except CellExecutionError as err:
            if err.ename == _TIMEOUT_ENAME:
                return ("timeout", "") if self._responsive(index) else ("timeout-dead", "")
            return "error", _describe(err.ename, err.evalue)
        except CellTimeoutError:
            return ("timeout", "") if self._responsive(index) else ("timeout-dead", "")
        except DeadKernelError:
            return "dead", ""
        return "ok", ""

    def _responsive(self, index: int) -> bool:
        probe = nbformat.v4.new_code_cell("pass")
        self.client.timeout = _PROBE_TIMEOUT
        try:
            self.client.execute_cell(probe, index)
        except (CellExecutionError, CellTimeoutError, DeadKernelError):
            return False
        return True


# --------------------------------------------------------------------------- grading


def _trusted_checks(nb: NotebookNode, chapter: Chapter) -> list[str]:
    """Replace the notebook's check cells by the book's (in place); return notes."""
    meta = nb.metadata.get(META_KEY, {}) or {}
    source = meta.get("source")
    if not source or not (ROOT / source).is_file():
        return []
    book_nb = nbformat.read(ROOT / source, as_version=4)   # ROOT / absolute = absolute
    book = parse_chapter(book_nb, source, strict=False)
    notes = []
    for ex in book.exercises:
        if not ex.checks:
            continue
        book_sources = [book_nb.cells[i].source for i in ex.checks]
        try:
            mine = chapter.exercise(ex.label)
        except KeyError:
            continue    # the exercise cell itself is gone: reported as missing later
        for k, src in enumerate(book_sources):
            if k < len(mine.checks):
                nb.cells[mine.checks[k]].source = src
            else:       # the student deleted a check cell: put the book's back
                after = max([mine.cell, *mine.stubs, *mine.checks])
                cell = nbformat.v4.new_code_cell(src)
                cell.metadata["tags"] = ["check"]
                cell.pop("id", None)
                nb.cells.insert(after + 1, cell)
                notes.append(f"{ex.label}: the check cell was missing; the book's was used")
                chapter = parse_chapter(nb, chapter.name, strict=False)
                mine = chapter.exercise(ex.label)
    return notes


def _expected_reports(source: str) -> int:
    return max(1, len(re.findall(r"\breport\s*\(", source)))


def _name_error(text: str) -> str | None:
    match = re.search(r"NameError: name '([^']+)' is not defined", text)
    return match.group(1) if match else None


def _verdict(events: list[_Event], results: list[dict], expected: int) -> tuple[bool, str]:
    """Passed or not, and the message that says what is wrong (most useful first)."""
    msgs: list[str] = []
    for ev in events:
        where = ("your code cell" if ev.role in ("stub", "solution")
                 else "the check (which calls your function)")
        if ev.kind == "timeout":
            msgs.append(f"timed out after {ev.text} s in {where} (an infinite loop?); "
                        "the kernel was interrupted")
        elif ev.kind == "timeout-dead":
            msgs.append(f"timed out after {ev.text} s in {where} and did not stop when "
                        "interrupted; the kernel was restarted")
        elif ev.kind == "dead":
            msgs.append(f"the kernel died while running {where} (os._exit, a crash or "
                        "running out of memory?); it was restarted")
    failing = [r for r in results if not r["passed"]]
    for r in failing:
        first = r["messages"][0] if r["messages"] else "failed"
        msgs.append(f"{r['exercise']}: {first}")
    stub_errors = [ev for ev in events if ev.kind == "error" and ev.role in ("stub", "solution")]
    for ev in stub_errors:
        msgs.append(f"your code cell raised {ev.text}")
    for ev in events:
        if ev.kind == "error" and ev.role == "check":
            name = _name_error(ev.text)
            if name and not stub_errors:
                msgs.append(f"{name} is not defined: did you run/keep the stub cell?")
            elif name:
                msgs.append(f"so {name} is not defined")
            elif results:
                msgs.append(f"the check cell raised {ev.text} after the checks ran")
            else:
                msgs.append(f"the check cell raised {ev.text}")
        elif ev.kind == "not-run":
            msgs.append(ev.text)
    if not results and not msgs:
        msgs.append("the check reported nothing: was the check cell edited?")
    elif results and len(results) < expected and not msgs:
        msgs.append(f"only {len(results)} of {expected} checks reported")
    if msgs:
        return False, "; ".join(dict.fromkeys(msgs))
    summary = "; ".join(f"{r['exercise']}: {len(r['messages'])} of {len(r['messages'])} "
                        "checks passed" for r in results)
    return True, summary


def _read_log(path: Path, offset: int) -> tuple[list[dict], int]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], offset
    results = []
    for line in data[offset:].decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict) and {"exercise", "passed", "messages"} <= set(item):
            results.append(item)
    return results, len(data)


def grade_notebook(path: str | Path, *, timeout_cell: float = 60, timeout_total: float = 600,
                   own_checks: bool = False, kernel_name: str = "dropout-book") -> NotebookGrade:
    """Run one notebook in a fresh kernel and grade every exercise in it.

    Raises :class:`GradeError` only for tool errors (unreadable notebook, no kernel).
    """
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:
        raise GradeError(f"cannot read {path} as a notebook: {err}") from err
    meta = nb.metadata.get(META_KEY, {}) or {}
    chapter_name = meta.get("chapter") or path.stem
    chapter = parse_chapter(nb, chapter_name, strict=False)
    other: list[str] = []
    if not own_checks:
        other += _trusted_checks(nb, chapter)
        chapter = parse_chapter(nb, chapter_name, strict=False)
    for label in [e.get("label") for e in meta.get("exercises", [])]:
        if label and label not in {ex.label for ex in chapter.exercises}:
            other.append(f"{label}: the exercise cell is missing from the notebook")

    events: dict[str, list[_Event]] = {ex.label: [] for ex in chapter.exercises}
    results: dict[str, list[dict]] = {ex.label: [] for ex in chapter.exercises}
    log_fd, log_name = tempfile.mkstemp(prefix="dropout-grade-", suffix=".jsonl")
    os.close(log_fd)
    log_path = Path(log_name)
    env = {**os.environ, **KERNEL_ENV, GRADE_LOG_ENV: str(log_path)}
    runner = _Runner(nb, path.resolve().parent, env, kernel_name)
    start = time.monotonic()
    deadline = start + timeout_total
    ran_ok: list[int] = []
    offset = 0
    try:
        runner.start()
        code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        for pos, i in enumerate(code_cells):
            cell = nb.cells[i]
            role, label = chapter.roles[i], chapter.owner[i]
            remaining = deadline - time.monotonic()
            if remaining < 1:
                text = (f"not graded: the total time limit of {timeout_total:g} s was "
                        "reached before this exercise's check ran")
                for j in code_cells[pos:]:
                    if chapter.roles[j] == "check" and chapter.owner[j] in events:
                        events[chapter.owner[j]].append(_Event("check", "not-run", text))
                other.append(f"the total time limit of {timeout_total:g} s was reached at "
                             f"cell {i}; the remaining cells were not run")
                break
            limit = min(timeout_cell, remaining)
            _, offset = _read_log(log_path, offset)     # ignore reports from other cells
            status, text = runner.run(cell, i, limit)
            if role == "check" and label in results:
                found, offset = _read_log(log_path, offset)
                results[label].extend(found)
            if status in ("timeout", "timeout-dead"):
                text = f"{limit:.0f}"
            if status in ("dead", "timeout-dead"):
                replay_budget = deadline - time.monotonic()
                runner.restart()
                _replay(runner, nb, [j for j in ran_ok if chapter.roles[j] != "check"],
                        replay_budget, timeout_cell)
                _, offset = _read_log(log_path, offset)
            if status == "ok":
                ran_ok.append(i)
                continue
            if label in events:
                events[label].append(_Event(role or "cell", status, text))
            else:
                what = {"error": f"raised {text}",
                        "timeout": f"timed out after {text} s and was interrupted",
                        "timeout-dead": f"timed out after {text} s; the kernel was restarted",
                        "dead": "killed the kernel; it was restarted"}[status]
                other.append(f"cell {i} (outside the exercises) {what}")
    finally:
        runner.stop()
        elapsed = time.monotonic() - start
        log_path.unlink(missing_ok=True)

    rows = []
    for ex in chapter.exercises:
        if not ex.checks:
            notes = [ev for ev in events[ex.label] if ev.kind != "not-run"]
            message = f"not auto-graded ({ex.type})"
            if notes:
                message += "; note: your code cell " + (
                    f"raised {notes[0].text}" if notes[0].kind == "error"
                    else "timed out" if notes[0].kind.startswith("timeout")
                    else "killed the kernel")
            rows.append(ExerciseGrade(str(path), chapter_name, ex.label, ex.type, None, message))
            continue
        expected = sum(_expected_reports(nb.cells[i].source) for i in ex.checks)
        passed, message = _verdict(events[ex.label], results[ex.label], expected)
        rows.append(ExerciseGrade(str(path), chapter_name, ex.label, ex.type, passed, message,
                                  results[ex.label]))
    for label in [e.get("label") for e in meta.get("exercises", [])]:
        if label and label not in {ex.label for ex in chapter.exercises}:
            info = next(e for e in meta["exercises"] if e.get("label") == label)
            rows.append(ExerciseGrade(
                str(path), chapter_name, label, info.get("type", ""),
                False if info.get("auto_graded") else None,
                "the exercise cell is missing from the notebook"))
    return NotebookGrade(str(path), chapter_name, rows, other, runner.restarts,
                         round(elapsed, 1), timeout_cell, timeout_total)


def _replay(runner: _Runner, nb: NotebookNode, cells: list[int], budget: float,
            timeout_cell: float) -> None:
    """Re-run, after a restart, the cells that had run without error (outputs discarded).

    The caller leaves out check cells: their verdicts are already recorded.
    """
    stop = time.monotonic() + budget
    for i in cells:
        remaining = stop - time.monotonic()
        if remaining < 1:
            return
        status, _ = runner.run(copy.deepcopy(nb.cells[i]), i, min(timeout_cell, remaining))
        if status in ("dead", "timeout-dead"):
            runner.restart()
            return


# --------------------------------------------------------------------------- output


def _mark(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: " -- "}[passed]


def format_table(grade: NotebookGrade, width: int = 100) -> str:
    rows = grade.exercises
    lw = max([len("exercise")] + [len(r.label) for r in rows])
    tw = max([len("type")] + [len(r.type) for r in rows])
    indent = 2 + 4 + 2 + lw + 2 + tw + 2
    lines = [f"{grade.notebook} (chapter {grade.chapter}): run in a fresh kernel, "
             f"{grade.timeout_cell:g} s per cell, {grade.timeout_total:g} s in all",
             "",
             f"  {'':4}  {'exercise':<{lw}}  {'type':<{tw}}  result"]
    for r in rows:
        wrapped = textwrap.wrap(r.message, max(30, width - indent)) or [""]
        lines.append(f"  {_mark(r.passed)}  {r.label:<{lw}}  {r.type:<{tw}}  {wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    graded = grade.auto_graded
    n_pass = sum(r.passed for r in graded)
    lines += ["", f"auto-graded: {n_pass} of {len(graded)} passed; "
              f"not auto-graded: {len(rows) - len(graded)}; "
              f"kernel restarts: {grade.kernel_restarts}; time: {grade.elapsed_s:.0f} s"]
    if grade.other_problems:
        lines.append("other problems (they do not change the grades above):")
        shown = grade.other_problems[:8]
        lines += [f"  - {p}" for p in shown]
        if len(grade.other_problems) > len(shown):
            lines.append(f"  ... and {len(grade.other_problems) - len(shown)} more (see --json)")
    return "\n".join(lines)


def write_json(grades: list[NotebookGrade], path: Path) -> None:
    data = {"notebooks": [asdict(g) for g in grades],
            "rows": [{k: v for k, v in asdict(r).items() if k != "checks"}
                     for g in grades for r in g.exercises]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_csv(grades: list[NotebookGrade], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=_CSV_FIELDS)
        writer.writeheader()
        for g in grades:
            for r in g.exercises:
                row = {k: getattr(r, k) for k in _CSV_FIELDS}
                row["passed"] = {True: "true", False: "false", None: ""}[r.passed]
                writer.writerow(row)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m courseware.grade",
        description="Grade students' notebooks: pass/fail per exercise, with what is wrong.")
    parser.add_argument("notebooks", nargs="+", type=Path, help="the students' notebooks")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--csv", type=Path, help="write one row per exercise as CSV here")
    parser.add_argument("--timeout-cell", type=float, default=60,
                        help="seconds a cell may run before it is interrupted (default 60)")
    parser.add_argument("--timeout-total", type=float, default=600,
                        help="seconds a whole notebook may run (default 600)")
    parser.add_argument("--own-checks", action="store_true",
                        help="run the notebook's own check cells instead of the book's")
    args = parser.parse_args(argv)
    grades = []
    status = 0
    for nb_path in args.notebooks:
        try:
            grade = grade_notebook(nb_path, timeout_cell=args.timeout_cell,
                                   timeout_total=args.timeout_total, own_checks=args.own_checks)
        except GradeError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 2
            continue
        grades.append(grade)
        print(format_table(grade))
        print()
    if args.json:
        write_json(grades, args.json)
    if args.csv:
        write_csv(grades, args.csv)
    return status


if __name__ == "__main__":
    raise SystemExit(main())

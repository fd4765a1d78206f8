"""Turn a chapter into an nbgrader assignment, and release it (``make assignment CH=01_masks``).

Usage::

    python -m courseware.assignment 01_masks [--course nbgrader/]

The chapter in ``book/`` stays the single source. :func:`source_notebook` converts its
tagged cells (CONTRIBUTING.md, "Exercises") into an nbgrader *source* notebook:

- a ``stub`` cell becomes an nbgrader solution cell (``grade_id: <label>-code``) whose
  solution region is the book's solution code, so the release shows the stub's
  signature and docstring followed by ``raise NotImplementedError``;
- a ``check`` cell becomes a locked, graded cell (``grade_id: <label>``, points = the
  exercise's difficulty), with ``from courseware.checks import report`` added if the
  cell uses ``report`` without importing it;
- a derive, explore or predict-then-run exercise gets a manually graded answer cell
  (``grade_id: <label>``) right after it; the chapter's solution text is its rubric,
  written to ``rubric.md`` beside the source notebook;
- every other cell (prose, set-up, figures) is locked: nbgrader restores it from the
  source if a student edits it;
- solution cells are dropped, outputs cleared, and every number of the prose is written
  as its bare value from the chapter's stored glue outputs, outside the solutions
  (:func:`courseware.lab_view.plain_numbers`), and the MyST of the prose (exercise
  directives, roles) is rewritten as plain Markdown (:mod:`courseware.readable`), so the
  notebook reads well in JupyterLab.

Then ``nbgrader generate_assignment`` writes ``<course>/release/<ch>/<ch>.ipynb`` for
students and records the graded cells in nbgrader's gradebook (``<course>/gradebook.db``).
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from . import lab_view
from .readable import plain
from .book import ROOT
from .student import META_KEY, Chapter, Exercise, parse_chapter

__all__ = ["COURSE", "glue_values", "handout", "release", "source_notebook", "write_config"]

COURSE = ROOT / "nbgrader"
META = META_KEY    # notebook metadata: {"chapter": ..., "exercises": {label: {...}}}
_NOT_IMPLEMENTED = re.compile(r"^\s*raise NotImplementedError\b")


def glue_values(nb: NotebookNode) -> dict[str, str]:
    """name -> text of every glued value of a chapter, outside its solutions (as
    ``{glue:text}`name``` shows it)."""
    roles = parse_chapter(nb, strict=False).roles
    values = lab_view.glued(nb, skip={i for i, r in enumerate(roles) if r == "solution"})
    return {name: lab_view.format_text(text, "s") for name, text in values.items()}


def _nbgrader(cell: NotebookNode, grade_id: str, *, solution=False, grade=False,
              locked=False, points: float | None = None, task=False) -> NotebookNode:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def _solution_code(stub: str, solution: str) -> str:
    """The stub with each ``raise NotImplementedError`` replaced by the body of the same
    function in the book's solution, inside nbgrader's solution markers (so the release
    shows every signature, docstring and comment of the stub)."""
    stub_lines = stub.rstrip("\n").splitlines()
    sol_lines = solution.rstrip("\n").splitlines()
    try:
        spans = {node.lineno - 1: node.end_lineno for node in ast.walk(ast.parse(stub))
                 if isinstance(node, ast.Raise) and _NOT_IMPLEMENTED.match(
                     stub_lines[node.lineno - 1])}
    except SyntaxError:
        spans = {}
    out, n = [], 0
    while n < len(stub_lines):
        line = stub_lines[n]
        if n not in spans:
            out.append(line)
            n += 1
            continue
        body = _function_body(stub_lines[:n], sol_lines)
        if body is None:
            return _solution_code_prefix(stub, solution)
        indent = re.match(r"\s*", line).group(0)
        out += [f"{indent}### BEGIN SOLUTION", *body, f"{indent}### END SOLUTION"]
        n = spans[n]
    return "\n".join(out) if spans else _solution_code_prefix(stub, solution)


def _function_body(before: list[str], sol_lines: list[str]) -> list[str] | None:
    """The solution's lines of the function whose ``def`` is the last one in ``before``,
    after the lines (docstring, comments) the stub already shows; None if not found."""
    defs = [i for i, line in enumerate(before) if line.lstrip().startswith("def ")]
    if not defs:
        return None
    d = defs[-1]
    try:
        j = sol_lines.index(before[d])
    except ValueError:
        return None
    shown = before[d + 1:]
    k = 0
    while k < len(shown) and j + 1 + k < len(sol_lines) and shown[k] == sol_lines[j + 1 + k]:
        k += 1
    width = len(before[d]) - len(before[d].lstrip())
    body = []
    for line in sol_lines[j + 1 + k:]:
        if line.strip() and len(line) - len(line.lstrip()) <= width:
            break
        body.append(line)
    while body and not body[-1].strip():
        body.pop()
    return body


def _solution_code_prefix(stub: str, solution: str) -> str:
    """Fallback: the stub's lines up to its ``raise NotImplementedError``, then the rest
    of the solution (what differs from the stub) inside nbgrader's solution markers."""
    stub_lines = stub.rstrip("\n").splitlines()
    sol_lines = solution.rstrip("\n").splitlines()
    cut = next((i for i, line in enumerate(stub_lines) if _NOT_IMPLEMENTED.match(line)),
               len(stub_lines))
    common = 0
    while (common < cut and common < len(sol_lines)
           and stub_lines[common] == sol_lines[common]):
        common += 1
    body = sol_lines[common:]
    indent = re.match(r"\s*", stub_lines[cut]).group(0) if cut < len(stub_lines) else ""
    return "\n".join([*sol_lines[:common], f"{indent}### BEGIN SOLUTION", *body,
                      f"{indent}### END SOLUTION"])


def _points(ex: Exercise) -> int:
    return int(ex.difficulty or 1)


def _check_source(source: str) -> str:
    """The check cell with every import it needs: in the book, the first check cell of a
    chapter (or its set-up cell) imports ``report`` and the check functions for all of
    them, so a restarted kernel or a reordered notebook would fail with a NameError."""
    from . import checks
    from .checks import coadaptation, ensembles, inverted, masks

    needed = []
    for name in dict.fromkeys(re.findall(r"\b(report|check_\w+)\(", source)):
        if re.search(rf"^\s*from\s+courseware\.checks(\.\w+)?\s+import\s[^#\n]*\b{name}\b",
                     source, re.MULTILINE):
            continue
        for module in (checks, masks, inverted, coadaptation, ensembles):
            if name in getattr(module, "__all__", ()):
                needed.append(f"from {module.__name__} import {name}")
                break
    return "\n".join(needed + [source]) if needed else source


def source_notebook(chapter_path: Path) -> tuple[NotebookNode, str]:
    """The nbgrader source notebook for a chapter, and its rubric (markdown).

    Raises :class:`courseware.student.EditionError` if the chapter breaks the exercise
    convention.
    """
    book = nbformat.read(chapter_path, as_version=4)
    chapter = parse_chapter(book, chapter_path.name)
    return handout(book, chapter_path.stem, chapter, solutions=True)


#: The text of an empty hand-graded answer (what nbgrader's release shows in its place).
ANSWER_STUB = "YOUR ANSWER HERE"


def handout(book: NotebookNode, name: str, chapter: Chapter, *, solutions: bool
            ) -> tuple[NotebookNode, str]:
    """The cells every handout of a chapter shares, and the rubric (markdown).

    With ``solutions`` this is nbgrader's source notebook (a header cell, the book's
    solutions inside nbgrader's solution regions); without, it is what the release shows
    in those cells (the book's stubs, empty answers) and has no header: the student
    edition (:func:`courseware.student.student_notebook`) adds its own. Either way every
    cell carries the release's ``grade_id``, so the grader reads both alike.
    ``chapter`` is ``parse_chapter(book)``, which the caller has validated.
    """
    values = lab_view.glued(book, skip={i for i, r in enumerate(chapter.roles)
                                        if r == "solution"})
    all_values = lab_view.glued(book)          # the rubric may quote the solutions' numbers
    by_cell = {ex.cell: ex for ex in chapter.exercises}
    out = nbformat.v4.new_notebook(metadata={k: v for k, v in book.metadata.items()
                                             if k in ("kernelspec", "language_info")})
    rubric = [f"# Rubric: {chapter.title}\n",
              "Solutions of the hand-graded exercises, from the book's chapter.\n"]
    if solutions:
        header = nbformat.v4.new_markdown_cell(
            f"**Assignment: {chapter.title}.** Write your code in the cells that end in "
            "`raise NotImplementedError` and your answers in the cells that say "
            "*YOUR ANSWER HERE*; run each check cell to see what, if anything, is wrong "
            "(or `make check NB=<this notebook>`). Other cells are locked. Before handing "
            "in: *Kernel → Restart & Run All*. Your grade is decided on inputs other than "
            "the visible checks', so make your functions right, not the checks pass.")
        out.cells.append(_nbgrader(header, "header", locked=True))
    exercises = {}
    for i, cell in enumerate(book.cells):
        role, owner = chapter.roles[i], chapter.owner[i]
        if role == "solution":
            continue
        new = nbformat.v4.new_code_cell(cell.source) if cell.cell_type == "code" \
            else nbformat.v4.new_markdown_cell(plain(lab_view.plain_numbers(cell.source,
                                                                            values)))
        new.metadata = {k: v for k, v in cell.metadata.items()
                        if k in ("tags", "exercise", "jupyter")}     # jupyter: folds
        ex = chapter.exercise(owner) if owner else None
        if role == "stub" and ex is not None:
            defs = re.findall(r"^\s*def (\w+)\(", cell.source, re.MULTILINE)
            solution = [book.cells[j] for j in ex.solution if book.cells[j].cell_type == "code"
                        and all(re.search(rf"^\s*def {d}\(", book.cells[j].source, re.MULTILINE)
                                for d in defs)] if defs else []
            if solutions and solution:
                new.source = _solution_code(cell.source, solution[0].source)
            out.cells.append(_nbgrader(new, f"{ex.label}-code", solution=True))
        elif role == "check" and ex is not None:
            new.source = _check_source(cell.source)
            out.cells.append(_nbgrader(new, ex.label, grade=True, locked=True,
                                       points=_points(ex)))
            exercises[ex.label] = {"type": ex.type, "points": _points(ex), "auto": True}
        else:
            out.cells.append(_nbgrader(new, f"locked-{i:03d}", locked=True))
        if i in by_cell and not by_cell[i].auto_graded:
            ex = by_cell[i]
            text = "\n\n".join(lab_view.plain_numbers(book.cells[j].source, all_values)
                               for j in ex.solution)
            answer = nbformat.v4.new_markdown_cell(
                f"**Your answer ({ex.label}).**\n\n### BEGIN SOLUTION\n"
                f"See rubric.md, {ex.label}.\n### END SOLUTION" if solutions else
                f"**Your answer ({ex.label}).**\n\n{ANSWER_STUB}")
            out.cells.append(_nbgrader(answer, ex.label, solution=True, grade=True,
                                       points=_points(ex)))
            exercises[ex.label] = {"type": ex.type, "points": _points(ex), "auto": False}
            rubric.append(f"## {ex.label} ({ex.type}, {_points(ex)} points): {ex.title}\n\n"
                          f"{text}\n")
    out.metadata[META] = {"chapter": name, "exercises": exercises}
    return out, "\n".join(rubric)


#: What ``nbgrader autograde`` and formgrader's *Autograde* button say in a course folder
#: of ``make assignment``: they would run the students' code unsandboxed and take the
#: verdicts of the check cells from the student's kernel.
REFUSAL = ("nbgrader's own autograde is switched off in this course: it would run the "
           "students' code outside the sandbox and take its verdicts from the student's "
           "kernel. Grade with `make autograde CH=<chapter> SUBMISSIONS=<folder>` (see "
           "book/instructors.md); formgrader stays the place for hand grading.")

_REFUSE = """
# No second door: nbgrader's autograde (command line and formgrader's button) refuses.
import sys as _sys
_REFUSAL = {refusal!r}
if _sys.argv[1:2] == ["autograde"]:
    print("error: " + _REFUSAL, file=_sys.stderr)
    raise SystemExit(2)


def _refuse(*args, **kwargs):
    raise RuntimeError(_REFUSAL)


c.Autograde.pre_convert_hook = _refuse
try:
    from nbgrader.converters.autograde import Autograde as _Autograde

    def _start(self, *args, **kwargs):
        self.log.error(_REFUSAL)
        raise RuntimeError(_REFUSAL)

    _Autograde.start = _start
except ImportError:
    pass
"""


def write_config(course: Path) -> None:
    """nbgrader's configuration for the course folder (its gradebook lives inside it),
    with nbgrader's own autograde switched off (:data:`REFUSAL`)."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        "# Written by `python -m courseware.assignment`; the course folder of `make assignment`.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course.resolve())!r}\n"
        f"c.CourseDirectory.db_url = {('sqlite:///' + str((course / 'gradebook.db').resolve()))!r}\n"
        "c.ClearSolutions.code_stub = {'python': 'raise NotImplementedError'}\n"
        "c.ClearSolutions.text_stub = 'YOUR ANSWER HERE'\n"
        + _REFUSE.format(refusal=REFUSAL),
        encoding="utf-8")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course folder (raises with its output on failure)."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    # nbgrader runs `alembic` from PATH: put this Python's scripts first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    done = subprocess.run(cmd, cwd=course, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed:\n{done.stdout}\n{done.stderr}")
    return done


def release(chapter: str, course: Path = COURSE) -> Path:
    """Write the source and the release notebook of a chapter; return the release's path."""
    path = ROOT / "book" / f"{chapter}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"no chapter {path}")
    nb, rubric = source_notebook(path)
    write_config(course)
    src = course / "source" / chapter
    src.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, src / f"{chapter}.ipynb")
    (course / f"rubric-{chapter}.md").write_text(rubric, encoding="utf-8")
    # generate_assignment also adds the assignment to the gradebook (creating it if needed)
    nbgrader(course, "generate_assignment", chapter, "--force")
    return course / "release" / chapter / f"{chapter}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m courseware.assignment",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("chapter", help="a chapter's file name without .ipynb, e.g. 01_masks")
    parser.add_argument("--course", type=Path, default=COURSE, help="nbgrader's course folder")
    args = parser.parse_args(argv)
    out = release(args.chapter, args.course)
    nb = nbformat.read(out, as_version=4)
    exercises = nb.metadata.get(META, {}).get("exercises", {})
    auto = sum(1 for e in exercises.values() if e["auto"])
    print(f"{out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}: "
          f"{len(exercises)} graded exercises ({auto} auto-graded, {len(exercises) - auto} "
          f"by hand, rubric in {args.course}/rubric-{args.chapter}.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

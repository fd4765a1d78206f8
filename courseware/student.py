"""Write the student edition of the book: every chapter as a notebook without solutions.

Usage (or ``make student``)::

    python -m courseware.student [--out student/] [NOTEBOOK ...]

With no notebooks it takes every notebook listed in ``_toc.yml``. For each chapter it
writes ``<out>/<chapter>.ipynb`` in which

- every solution cell is removed: each cell from a ``{solution-start}`` markdown cell
  through its ``{solution-end}`` cell, and every cell tagged ``solution``;
- outputs and execution counts are cleared, every number of the prose is written as its
  bare value from the chapter's stored glue outputs (:mod:`courseware.lab_view`, the
  book's own way of writing them in), the MyST of the prose is rewritten as plain
  Markdown (:mod:`courseware.readable`), and the cells the site folds are collapsed;
- exercises, stubs (code ending in ``raise NotImplementedError``), checks and the prose
  are kept, with their tags, and a hand-graded exercise gets an answer cell;
- a header cell says that this is the student edition and how to check one's work.

It is the handout: the cells are those of nbgrader's release (``make assignment``,
:func:`courseware.assignment.handout`), with the same ``grade_id`` s and the same notebook
metadata (``courseware``), so ``make check`` and ``make autograde`` read a completed
student edition as they read the release.

The student edition is a set of plain notebooks, not a website: students have to run the
notebooks anyway (outputs are cleared, and the checks only mean something when run), and
the book's prose shows numbers computed in cells (glue), some of them in solutions, which
a site without outputs or solutions could not show. The instructor guide
(``book/instructors.md``) explains the choice.

The tool refuses (exit status 1, nothing written for that chapter) a chapter whose
exercise cells break the convention of CONTRIBUTING.md ("Exercises"): unbalanced
``{solution-start}``/``{solution-end}`` cells, a stub or check cell with no exercise before
it, a solution for an unknown exercise, an exercise without a label, a ``solution`` tag
outside a solution, or a stub that does not raise ``NotImplementedError``. After writing a
notebook it searches it for every distinctive line of the chapter's solutions
(:func:`find_leaks`) and refuses if one is found.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .book import ROOT, toc_notebooks

__all__ = ["Chapter", "EditionError", "Exercise", "find_leaks", "main", "parse_chapter",
           "solution_lines", "student_notebook", "write_edition"]


_FENCE = r"^[ \t]*(?:`{3,}|~{3,})[ \t]*"
_SOLUTION_START = re.compile(_FENCE + r"\{solution-start\}[ \t]*(\S*)", re.MULTILINE)
_SOLUTION_END = re.compile(_FENCE + r"\{solution-end\}", re.MULTILINE)
_EXERCISE = re.compile(_FENCE + r"\{exercise\}[ \t]*(.*)$", re.MULTILINE)
_LABEL = re.compile(r"^[ \t]*:label:[ \t]*(\S+)", re.MULTILINE)
_TYPE = re.compile(r"\*\*Type:\*\*[ \t]*([A-Za-z-]+)")
_DIFFICULTY = re.compile(r"\*\*Difficulty:\*\*[ \t]*(★*)")

#: The tag of the header cell that the student edition puts first.
HEADER_TAG = "student-header"
#: The notebook metadata key of every handout (the student edition and nbgrader's release):
#: ``{"chapter": ..., "exercises": {label: {"type", "points", "auto"}}}``, plus
#: ``"edition": "student"`` and ``"source"`` (the chapter's path) in the student edition.
META_KEY = "courseware"


class EditionError(ValueError):
    """A chapter breaks the exercise convention, or its student edition would leak."""


@dataclass
class Exercise:
    """One exercise of a chapter."""

    label: str
    type: str
    difficulty: int | None
    title: str
    cell: int                                   # index of the exercise cell
    stubs: list[int] = field(default_factory=list)
    checks: list[int] = field(default_factory=list)
    solution: list[int] = field(default_factory=list)

    @property
    def auto_graded(self) -> bool:
        return bool(self.checks)

    def stars(self) -> str:
        if not self.difficulty:
            return ""
        return "★" * self.difficulty + "☆" * max(0, 3 - self.difficulty)


@dataclass
class Chapter:
    """The exercise structure of one notebook.

    ``roles[i]`` is ``"exercise"``, ``"stub"``, ``"solution"``, ``"check"`` or ``None``;
    ``owner[i]`` is the label of the exercise that cell belongs to (or ``None``).
    ``problems`` lists every violation of the convention found (empty when the chapter
    is well formed); :func:`parse_chapter` raises on them unless ``strict=False``.
    """

    name: str
    title: str
    exercises: list[Exercise]
    roles: list[str | None]
    owner: list[str | None]
    problems: list[str]

    def exercise(self, label: str) -> Exercise:
        for ex in self.exercises:
            if ex.label == label:
                return ex
        raise KeyError(label)


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _title(nb: NotebookNode, default: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#[ \t]+(.+?)[ \t]*$", cell.source, re.MULTILINE)
            if match:
                return match.group(1)
    return default


def parse_chapter(nb: NotebookNode, name: str = "notebook", *, strict: bool = True) -> Chapter:
    """Find the exercises, stubs, solutions and checks of a notebook and validate them.

    Parameters
    ----------
    nb : NotebookNode
        The chapter (or a student's copy of it).
    name : str
        Used in messages (the chapter's file name).
    strict : bool
        If True, raise :class:`EditionError` listing every problem; if False, return the
        best reading of the notebook with the problems in ``Chapter.problems`` (the grader
        uses this on students' notebooks, whose tags may have been damaged).
    """
    roles: list[str | None] = [None] * len(nb.cells)
    owner: list[str | None] = [None] * len(nb.cells)
    problems: list[str] = []
    exercises: list[Exercise] = []
    by_label: dict[str, Exercise] = {}
    current: Exercise | None = None          # the last exercise seen
    open_solution: tuple[str, int] | None = None   # (label, cell index of its start)

    for i, cell in enumerate(nb.cells):
        tags = _tags(cell)
        where = f"{name}, cell {i}"
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        is_md = cell.cell_type == "markdown"
        start = _SOLUTION_START.search(source) if is_md else None
        end = _SOLUTION_END.search(source) if is_md else None

        if start:
            label = start.group(1)
            if open_solution is not None:
                problems.append(f"{where}: {{solution-start}} {label} opens before the solution "
                                f"of {open_solution[0]} (cell {open_solution[1]}) has its "
                                "{solution-end}")
            if label not in by_label:
                problems.append(f"{where}: {{solution-start}} names {label or '(no label)'}, "
                                "which is not the label of an exercise before it")
            open_solution = (label, i)
        if open_solution is not None:
            roles[i] = "solution"
            owner[i] = open_solution[0]
            if open_solution[0] in by_label:
                by_label[open_solution[0]].solution.append(i)
            clash = {"exercise", "stub", "check"} & set(tags)
            if clash:
                problems.append(f"{where}: a cell inside the solution of {open_solution[0]} "
                                f"is tagged {sorted(clash)[0]!r}; it would be removed from the "
                                "student edition")
            elif "solution" not in tags:
                problems.append(f"{where}: this cell is inside the solution of "
                                f"{open_solution[0]} but is not tagged 'solution'")
            if end and (not start or end.start() > start.start()):
                open_solution = None
            continue
        if end:
            problems.append(f"{where}: {{solution-end}} without a {{solution-start}} before it")
            roles[i] = "solution"
            continue
        if "solution" in tags:
            problems.append(f"{where}: tagged 'solution' but not between a {{solution-start}} "
                            "and a {solution-end} cell")
            roles[i] = "solution"
            continue

        directive = _EXERCISE.search(source) if is_md else None
        if "exercise" in tags or directive:
            meta = dict(cell.get("metadata", {}).get("exercise", {}) or {})
            label_match = _LABEL.search(source)
            label = meta.get("label") or (label_match.group(1) if label_match else "")
            if not directive:
                problems.append(f"{where}: tagged 'exercise' but has no {{exercise}} directive")
            elif "exercise" not in tags:
                problems.append(f"{where}: an {{exercise}} directive in a cell not tagged "
                                "'exercise'")
            if not label:
                problems.append(f"{where}: exercise without a label (:label: ex-...)")
                label = f"(unlabelled exercise, cell {i})"
            elif label_match and meta.get("label") and label_match.group(1) != meta["label"]:
                problems.append(f"{where}: the directive's label {label_match.group(1)} differs "
                                f"from the cell metadata's {meta['label']}")
            if label in by_label:
                problems.append(f"{where}: a second exercise labelled {label}")
            type_match = _TYPE.search(source)
            ex_type = meta.get("type") or (type_match.group(1) if type_match else "")
            if not ex_type:
                problems.append(f"{where}: exercise {label} has no type (metadata "
                                "exercise.type or **Type:** line)")
            difficulty = meta.get("difficulty")
            if difficulty is None:
                stars = _DIFFICULTY.search(source)
                difficulty = len(stars.group(1)) if stars and stars.group(1) else None
            title = directive.group(1).strip() if directive else ""
            current = Exercise(label, ex_type or "unknown", difficulty, title, i)
            exercises.append(current)
            by_label.setdefault(label, current)
            roles[i], owner[i] = "exercise", label
            continue

        for role in ("stub", "check"):
            if role in tags:
                if cell.cell_type != "code":
                    problems.append(f"{where}: a {cell.cell_type} cell tagged {role!r}; "
                                    f"{role} cells are code cells")
                if current is None:
                    problems.append(f"{where}: a {role} cell with no exercise before it")
                    roles[i] = role
                    break
                roles[i], owner[i] = role, current.label
                (current.stubs if role == "stub" else current.checks).append(i)
                if role == "stub" and "NotImplementedError" not in source:
                    problems.append(f"{where}: the stub of {current.label} does not raise "
                                    "NotImplementedError (is it a solution?)")
                break

    if open_solution is not None:
        problems.append(f"{name}, cell {open_solution[1]}: the {{solution-start}} of "
                        f"{open_solution[0]} has no {{solution-end}}")
    for ex in exercises:
        if not ex.solution and ex.label in by_label and by_label[ex.label] is ex:
            problems.append(f"{name}: exercise {ex.label} has no solution "
                            "({solution-start} ... {solution-end})")
    if strict and problems:
        raise EditionError(f"{name} breaks the exercise convention of CONTRIBUTING.md:\n  "
                           + "\n  ".join(problems))
    return Chapter(name, _title(nb, name), exercises, roles, owner, problems)


# --------------------------------------------------------------------------- leaks

_TRIVIAL = re.compile(r"^[\W_]*$")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def _distinctive(line: str) -> bool:
    if len(line) < 12 or _TRIVIAL.match(line):
        return False
    if line.startswith(":") or _SOLUTION_START.match(line) or _SOLUTION_END.match(line):
        return False        # directive options (:class: dropdown) and fences
    return True


def _solution_cells(nb: NotebookNode) -> dict[int, str]:
    """Cell index -> exercise label of every solution cell, found independently of
    :func:`parse_chapter` (so a bug there cannot hide a leak): every cell tagged
    ``solution`` and every cell from a ``{solution-start}`` through the next
    ``{solution-end}``, or to the end of the notebook if there is none."""
    found: dict[int, str] = {}
    label = None
    for i, cell in enumerate(nb.cells):
        source = cell.source if cell.cell_type == "markdown" else ""
        start = _SOLUTION_START.search(source)
        if start:
            label = start.group(1) or "?"
        if label is not None or "solution" in _tags(cell):
            found[i] = label or "?"
        end = _SOLUTION_END.search(source)
        if end and (not start or end.start() > start.start()):
            label = None
    return found


def solution_lines(nb: NotebookNode, chapter: Chapter | None = None) -> list[tuple[str, str]]:
    """The distinctive lines of a chapter's solutions, as ``(exercise label, line)``.

    Every line of every solution cell (code and markdown), stripped, at least 12
    characters long and not only punctuation, that appears nowhere in the cells the
    student edition keeps, not even as part of a line (the stub's ``def`` line and
    docstring are not a leak). ``chapter`` is accepted for compatibility and ignored:
    solution cells are found by :func:`_solution_cells`, independently of the parser.
    """
    solutions = _solution_cells(nb)
    kept = "\n".join(cell.source for i, cell in enumerate(nb.cells) if i not in solutions)
    found: list[tuple[str, str]] = []
    seen = set()
    for i, label in solutions.items():
        for line in _lines(nb.cells[i].source):
            if _distinctive(line) and line not in kept and line not in seen:
                seen.add(line)
                found.append((label, line))
    return found


def _student_text(student: NotebookNode) -> str:
    """Everything a student can see in a notebook: sources, outputs, attachments, metadata."""
    parts = []
    for cell in student.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") if isinstance(output.get("text", ""), str)
                         else "".join(output["text"]))
            for value in output.get("data", {}).values():
                parts.append(value if isinstance(value, str) else json.dumps(value))
        parts.append(json.dumps(cell.get("attachments", {}), ensure_ascii=False))
        parts.append(json.dumps(cell.get("metadata", {}), ensure_ascii=False))
    parts.append(json.dumps(student.metadata, ensure_ascii=False))
    return "\n".join(parts)


def find_leaks(source: NotebookNode, student: NotebookNode | str | Path) -> list[tuple[str, str]]:
    """The solution lines of ``source`` that appear in ``student`` (a notebook or a path).

    Searches every cell's source, outputs, attachments and metadata of the student
    notebook, and its raw file text when given a path. Returns ``(label, line)`` pairs;
    an empty list means no solution leaked.
    """
    raw = ""
    if isinstance(student, (str, Path)):
        raw = Path(student).read_text(encoding="utf-8")
        student = nbformat.reads(raw, as_version=4)
    text = _student_text(student) + "\n" + raw
    return [(label, line) for label, line in solution_lines(source) if line in text]


# --------------------------------------------------------------------------- edition


def _header(chapter: Chapter, file_name: str) -> str:
    graded = [ex for ex in chapter.exercises if ex.auto_graded]
    items = "\n".join(
        f"> - `{ex.label}`: {ex.title or ex.type} ({ex.type}"
        f"{', ' + ex.stars() if ex.stars() else ''}"
        f"{', auto-graded' if ex.auto_graded else ''})"
        for ex in chapter.exercises)
    return (
        f"> **Student edition** of *{chapter.title}*. The solutions are removed and no cell "
        "has been run yet.\n>\n"
        "> Run the notebook from the top. In an **implement** exercise, replace "
        "`raise NotImplementedError` in the code cell under the exercise with your code, "
        "then run the check cell that follows: `✓` means every check passed, `✗` says "
        "what is wrong. Predict-then-run, derive and explore exercises are answered in "
        "the cell *Your answer* under them (add cells as you need); they are graded by "
        "hand. Do not delete or split the answer, code and check cells.\n>\n"
        "> To check the whole notebook the way your instructor's grader runs it (in a "
        "fresh, sandboxed kernel, on the visible checks' inputs; your grade uses other "
        f"inputs):\n> `make check NB={file_name}`\n>\n"
        f"> This chapter has {len(chapter.exercises)} exercise(s), {len(graded)} of them "
        f"auto-graded:\n>\n{items}"
    )


def student_notebook(nb: NotebookNode, name: str, source: str | None = None
                     ) -> tuple[NotebookNode, Chapter]:
    """The student edition of one chapter (raises :class:`EditionError` if it cannot be made).

    Parameters
    ----------
    nb : NotebookNode
        The chapter, with solutions (not modified).
    name : str
        The chapter's short name (file stem), e.g. ``"01_masks"``.
    source : str, optional
        The chapter's path (relative to the repository, or absolute), recorded in the
        notebook's metadata so the grader can take the check cells from the book.
    """
    from .assignment import handout   # assignment imports this module

    chapter = parse_chapter(nb, name, strict=True)
    out, _ = handout(nb, name, chapter, solutions=False)
    header = nbformat.v4.new_markdown_cell(_header(chapter, f"{name}.ipynb"))
    header.metadata["tags"] = [HEADER_TAG]      # no grade_id: the grader ignores it
    out.cells.insert(0, header)
    out.metadata[META_KEY].update(edition="student", source=source)
    for i, cell in enumerate(out.cells):
        cell["id"] = f"student-{i}"
    nbformat.validate(out)
    leaks = find_leaks(nb, out)
    if leaks:
        raise EditionError(f"{name}: the student edition would contain solution lines:\n  "
                           + "\n  ".join(f"{label}: {line}" for label, line in leaks[:10]))
    return out, chapter


def write_edition(notebooks: list[Path], out: Path, log=print) -> list[Chapter]:
    """Write the student edition of ``notebooks`` into ``out``; return their chapters.

    Every chapter is validated before anything is written; if one is refused, the error
    lists every problem of every refused chapter and nothing is written.
    """
    made: list[tuple[Path, NotebookNode, Chapter]] = []
    errors: list[str] = []
    for path in notebooks:
        path = Path(path)
        try:
            rel = str(path.resolve().relative_to(ROOT))
        except ValueError:
            rel = str(path.resolve())
        try:
            nb = nbformat.read(path, as_version=4)
            student, chapter = student_notebook(nb, path.stem, rel)
        except EditionError as err:
            errors.append(str(err))
            continue
        made.append((path, student, chapter))
    if errors:
        raise EditionError("\n".join(errors))
    out.mkdir(parents=True, exist_ok=True)
    for path, student, chapter in made:
        target = out / f"{path.stem}.ipynb"
        nbformat.write(student, target)
        leaks = find_leaks(nbformat.read(path, as_version=4), target)
        if leaks:  # pragma: no cover - student_notebook already refused these
            target.unlink()
            raise EditionError(f"{target}: solution lines leaked: {leaks[:3]}")
        kinds: dict[str, int] = {}
        for ex in chapter.exercises:
            kinds[ex.type] = kinds.get(ex.type, 0) + 1
        detail = " (" + ", ".join(f"{n} {kind}" for kind, n in kinds.items()) + ")" if kinds else ""
        graded = sum(ex.auto_graded for ex in chapter.exercises)
        log(f"{_show(path)} -> {_show(target)}: {len(chapter.exercises)} exercises{detail}, "
            f"{graded} auto-graded")
    return [chapter for _, _, chapter in made]


def _show(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m courseware.student",
        description="Write the student edition: every chapter without its solutions.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="chapters (default: every notebook in _toc.yml)")
    parser.add_argument("--out", type=Path, default=Path("student"),
                        help="output folder (default: student/)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or toc_notebooks()
    try:
        chapters = write_edition(notebooks, args.out)
    except EditionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (OSError, nbformat.reader.NotJSONError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    total = sum(len(ch.exercises) for ch in chapters)
    graded = sum(ex.auto_graded for ch in chapters for ex in ch.exercises)
    print(f"student edition: {len(chapters)} notebooks, {total} exercises "
          f"({graded} auto-graded) in {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Grade a folder of submissions for credit; feedback; the gradebook; "check my work".

Usage (or the Makefile targets of the same names)::

    python -m courseware.autograde autograde 01_masks submissions/   # every <student_id>.ipynb
    python -m courseware.autograde feedback 01_masks                 # HTML per student
    python -m courseware.autograde gradebook [--out gradebook.csv]   # one row per student
    python -m courseware.autograde check my.ipynb                    # visible checks only

``autograde`` needs the release of ``make assignment CH=...`` (the course folder
``nbgrader/``). For each submission, in a fresh :class:`~courseware.sandbox.Sandbox`:

1. the notebook to run is rebuilt from the release: every locked cell (prose, set-up,
   checks) comes from the release, whatever the student did to it; the student's solution
   cells (found by their nbgrader ``grade_id``) and any cells the student added are kept;
   a solution cell that is missing makes its exercise "exercise X not found" (0 points);
2. the code the answers need runs in the kernel (:func:`needed_code`: the student's
   cells, and of the locked cells only the statements that define a name the student's
   code uses; never the check cells, since nothing the kernel says is a verdict), with a
   time and output limit per cell; a cell that times out or kills the kernel is
   recorded, the kernel is restarted and the earlier cells are replayed;
3. each auto-graded exercise is judged by :func:`courseware.judge.judge_exercise` with
   hidden inputs, in this process;
4. the kernel's process tree is killed and its folder deleted. In bubblewrap
   (:func:`courseware.sandbox.bwrap_works`) nothing outside the folder was writable, and
   two submissions are graded at a time; without it, one at a time, and the watched
   folders are compared with their state before the batch
   (:func:`courseware.sandbox.fingerprint`): a submission that changed them gets 0 points
   and the batch stops.

The scores go into nbgrader's gradebook (``nbgrader/gradebook.db``: ``auto_score`` of each
check cell; hand-graded cells wait for formgrader), and an autograded notebook per student
(``nbgrader/autograded/<id>/<ch>/``), whose check cells show the judge's messages, is what
``nbgrader generate_feedback`` and formgrader read.
"""
from __future__ import annotations

import argparse
import ast
import copy
import csv
import multiprocessing
import symtable
import sys
import time
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .assignment import COURSE, META, nbgrader, source_notebook
from .book import ROOT
from .judge import JUDGES, judge_exercise
from .sandbox import Sandbox, become_subreaper, bwrap_works, changed, fingerprint

__all__ = ["ExerciseScore", "Submission", "grade_notebook", "main"]

_MAX_RESTARTS = 3


class GradeError(Exception):
    """The grader could not do its job (not a student's mistake)."""


@dataclass
class ExerciseScore:
    label: str
    points: float
    auto: bool
    score: float | None          # None: waits for a human (hand-graded exercise)
    messages: list[str] = field(default_factory=list)


@dataclass
class Submission:
    student: str
    chapter: str
    scores: dict[str, ExerciseScore]
    problems: list[str]
    notebook: NotebookNode | None     # the autograded notebook (release + student's cells)
    elapsed_s: float = 0.0


def _gid(cell: NotebookNode) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def rebuild(release: NotebookNode, sub: NotebookNode) -> tuple[NotebookNode, set[str], list[str]]:
    """The notebook to grade: the release's locked cells, the student's solution cells and
    added cells. Returns it, the grade_ids of the solution cells found, and notes."""
    release_ids = {_gid(c): c for c in release.cells if _gid(c)}
    student: dict[str, NotebookNode] = {}
    extras: dict[str | None, list[NotebookNode]] = {}
    last = None
    for cell in sub.cells:
        gid = _gid(cell)
        if gid in release_ids and gid not in student:
            student[gid] = cell
            last = gid
        else:
            extras.setdefault(last, []).append(cell)
    notes = []
    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(release.metadata))
    out.cells.extend(_strip_ids(extras.get(None, [])))
    found = set()
    for cell in release.cells:
        gid = _gid(cell)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") or not meta.get("solution"):
            if gid in student and student[gid].source != cell.source:
                notes.append(f"locked cell {gid} was edited; restored from the release")
            out.cells.append(copy.deepcopy(cell))
        elif gid in student:
            mine = copy.deepcopy(student[gid])
            mine.metadata["nbgrader"] = meta
            out.cells.append(mine)
            found.add(gid)
        else:
            stand_in = copy.deepcopy(cell)
            stand_in.metadata.setdefault("courseware", {})["missing"] = True
            out.cells.append(stand_in)
        out.cells.extend(_strip_ids(extras.get(gid, [])))
    return out, found, notes


def _strip_ids(cells: list[NotebookNode]) -> list[NotebookNode]:
    """Student-added cells, without any nbgrader metadata they may carry."""
    clean = []
    for cell in cells:
        cell = copy.deepcopy(cell)
        cell["id"] = f"student-{uuid.uuid4().hex[:12]}"   # never the id of a release cell
        cell.metadata = {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"}
        clean.append(cell)
    return clean


def _runnable(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return (cell.cell_type == "code" and not meta.get("grade")
            and not cell.metadata.get("courseware", {}).get("missing"))


def _names(table: symtable.SymbolTable) -> tuple[set[str], set[str]]:
    """(names a module-level block defines, global names it uses, also in its functions)."""
    defined = {s.get_name() for s in table.get_symbols()
               if s.is_assigned() or s.is_imported() or s.is_namespace()}
    used: set[str] = set()
    stack = [table]
    while stack:
        t = stack.pop()
        used |= {s.get_name() for s in t.get_symbols()
                 if s.is_referenced() and (t is table or s.is_global())}
        stack.extend(t.get_children())
    return defined, used


@dataclass
class _Unit:
    """A piece of code to run or skip: a student's whole cell, or one top-level statement
    of a locked cell."""

    cell: int                  # index of its cell in the notebook
    source: str
    names: tuple[set[str], set[str]] | None      # None: does not parse


def _units(source: str, cell: int, split: bool) -> list[_Unit]:
    """A code cell as units (IPython's syntax, e.g. magics, is translated first)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        code = TransformerManager().transform_cell(source)
        tree = ast.parse(code)
    except Exception:  # noqa: BLE001 - a cell that does not parse defines nothing we know
        return [_Unit(cell, source, None)]
    if not split or not tree.body:
        return [_Unit(cell, source, _names(symtable.symtable(code, "<cell>", "exec")))]
    lines = code.splitlines(keepends=True)
    out = []
    for node in tree.body:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "".join(lines[start - 1:node.end_lineno])
        out.append(_Unit(cell, text, _names(symtable.symtable(text, "<cell>", "exec"))))
    return out


def needed_code(nb: NotebookNode, judged: set[str]) -> list[tuple[int, str]]:
    """The code to run, as ``(cell index, source)`` pieces in the notebook's order.

    Always run, whole: the solution cells of the auto-graded exercises (grade ids
    ``judged``) and every cell the student added. Then, transitively, whatever defines a
    name that code uses: the student's other code cells (hand-graded exercises), whole,
    and single top-level statements of the locked cells (imports, constants, helper
    functions of the chapter).

    The rest of the chapter (experiments, figures, styling) cannot change what the
    student's functions compute unless they use a name it defines, so it does not run:
    grading a chapter takes seconds instead of a minute.
    """
    units: list[_Unit] = []
    for i, cell in enumerate(nb.cells):
        if _runnable(cell):
            locked = bool(cell.metadata.get("nbgrader", {}).get("locked"))
            units += _units(cell.source, i, split=locked)
    roots = {n for n, u in enumerate(units)
             if not nb.cells[u.cell].metadata.get("nbgrader", {}).get("locked")
             and (_gid(nb.cells[u.cell]) in judged or not _gid(nb.cells[u.cell]))}
    needed = set(roots)
    want = set().union(*(units[n].names[1] for n in needed if units[n].names))
    grew = True
    while grew:
        grew = False
        for n, u in enumerate(units):
            if n not in needed and u.names and u.names[0] & want:
                needed.add(n)
                want |= u.names[1]
                grew = True
    pieces: list[tuple[int, str]] = []
    for n, u in enumerate(units):
        if n not in needed:
            continue
        if pieces and pieces[-1][0] == u.cell:
            pieces[-1] = (u.cell, pieces[-1][1] + u.source)
        else:
            pieces.append((u.cell, u.source))
    return pieces


def _run_all(sb: Sandbox, cells: list[tuple[int, str]], problems: list[str],
             deadline: float) -> list[str]:
    """Run ``(code cell number, source)`` pairs; return the sources that ran (to replay)."""
    done: list[str] = []
    for n, code in cells:
        if time.monotonic() > deadline:
            problems.append(f"the notebook's time limit was reached at code cell {n}")
            return done
        status, text = sb.run(code)
        if status == "error":
            problems.append(f"code cell {n} raised {text}")
        elif status == "output":
            problems.append(f"code cell {n} printed more than {sb.output_limit} characters; "
                            "the rest was dropped")
        elif status in ("timeout", "dead"):
            what = (f"timed out after {sb.timeout_cell:g} s" if status == "timeout"
                    else "killed the kernel")
            problems.append(f"code cell {n} {what}; the kernel was restarted and the cells "
                            "before it replayed")
            if sb.restarts > _MAX_RESTARTS:
                problems.append("too many restarts: the remaining cells were not run")
                return done
            _replay(sb, done)
            continue
        done.append(code)
    return done


def _replay(sb: Sandbox, codes: list[str]) -> None:
    for code in codes:
        if sb.run(code)[0] in ("timeout", "dead"):
            return


def grade_notebook(sub: NotebookNode, release: NotebookNode, *, student: str = "student",
                   hidden: bool = True, timeout_cell: float = 30,
                   timeout_total: float = 300, course: Path | None = None,
                   bwrap: bool | None = None) -> Submission:
    """Grade one submission against the release (see the module's docstring)."""
    t0 = time.monotonic()
    meta = release.metadata.get(META, {})
    chapter = meta.get("chapter", "")
    exercises = meta.get("exercises", {})
    judges = JUDGES.get(chapter, {})
    nb, found, notes = rebuild(release, sub)
    problems = list(notes)
    scores = {label: ExerciseScore(label, float(e["points"]), bool(e["auto"]),
                                   None if not e["auto"] else 0.0)
              for label, e in exercises.items()}
    with Sandbox(timeout_cell=timeout_cell, course=course, bwrap=bwrap) as sb:
        judged = {f"{label}-code" for label, e in exercises.items() if e["auto"]}
        numbers = {i: n for n, i in enumerate(
            (i for i, c in enumerate(nb.cells) if c.cell_type == "code"), 1)}
        codes = _run_all(sb, [(numbers[i], code) for i, code in needed_code(nb, judged)],
                         problems, t0 + timeout_total)
        for label, score in scores.items():
            if not score.auto:
                if label not in found:
                    score.messages = [f"exercise {label} not found"]
                continue
            if f"{label}-code" not in found:
                score.messages = [f"exercise {label} not found"]
                continue
            if label not in judges:
                score.messages = [f"{label}: no out-of-kernel judge for this exercise yet; "
                                  "grade it by hand"]
                continue
            restarts = sb.restarts
            result = judge_exercise(sb, chapter, label, hidden=hidden)
            score.score = score.points if result.passed else 0.0
            score.messages = [str(result)] + ([*result.messages] if not result.passed else [])
            if sb.restarts != restarts:
                _replay(sb, codes)
    _annotate(nb, scores, problems)
    return Submission(student, chapter, scores, problems, nb, time.monotonic() - t0)


def _annotate(nb: NotebookNode, scores: dict[str, ExerciseScore], problems: list[str]) -> None:
    """Put the judge's verdicts into the check cells' outputs and the grader's notes into a
    first cell (what feedback and formgrader show)."""
    notes = "\n".join(f"- {p}" for p in problems) or "- none"
    missing = [f"- {s.messages[0]}" for s in scores.values()
               if s.messages and s.messages[0].startswith("exercise ")]
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        "**Grader's notes.** Auto-graded exercises were judged on hidden inputs, outside "
        "your kernel.\n\n" + notes + ("\n" + "\n".join(missing) if missing else "")))
    for cell in nb.cells:
        gid = _gid(cell)
        if cell.cell_type == "code":
            cell.outputs = [] if gid in scores or cell.metadata.get("nbgrader", {}).get(
                "locked") else cell.get("outputs", [])
            cell.execution_count = None
        if gid in scores and scores[gid].auto and cell.cell_type == "code":
            s = scores[gid]
            text = s.messages[0] if s.messages else "not graded"
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"{text}\n[graded on hidden inputs: {s.score:g} of {s.points:g} points]\n")]


# --------------------------------------------------------------------------- the batch


def _release(chapter: str, course: Path) -> NotebookNode:
    path = course / "release" / chapter / f"{chapter}.ipynb"
    if not path.is_file():
        raise GradeError(f"no release {path}: run `make assignment CH={chapter}` first")
    return nbformat.read(path, as_version=4)


def _grade_file(student: str, data: bytes, release: NotebookNode, timeout_cell: float,
                course: Path, bwrap: bool) -> Submission:
    """Grade one submission's bytes (a worker's job: no state shared with the others)."""
    try:
        sub = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the student's
        problem = f"not a readable notebook ({type(err).__name__})"
        res = Submission(student, release.metadata[META]["chapter"], {}, [problem], None)
        res.scores = {label: ExerciseScore(label, float(e["points"]), bool(e["auto"]), 0.0,
                                           [problem])
                      for label, e in release.metadata[META]["exercises"].items()}
        return res
    return grade_notebook(sub, release, student=student, timeout_cell=timeout_cell,
                          course=course, bwrap=bwrap)


def _worker_init() -> None:
    become_subreaper()      # each worker reaps (and kills) what its kernels detach


def _prints(watch: list[Path], full: bool) -> dict[str, tuple[int, int]]:
    """Fingerprints of ``watch`` and, if ``full``, of everything a kernel imports from."""
    out = fingerprint(extra=[p for p in watch if p.is_dir()], only_extra=not full)
    out.update({str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in watch if p.is_file()})
    return out


def autograde(chapter: str, submissions: Path, course: Path = COURSE, *,
              timeout_cell: float = 30, watch: list[Path] = (), jobs: int | None = None,
              log=print) -> list[Submission]:
    """Grade every ``<student_id>.ipynb`` of ``submissions`` into nbgrader's gradebook.

    With bubblewrap, ``jobs`` submissions (default 2) are graded at a time, each in its
    own sandbox, and the course folder and ``watch`` are compared once, after the batch
    (no submission can write anywhere but its copy). Without it, one at a time, and they,
    the repository's packages and the kernel's ``sys.path`` are compared after each
    submission, so that a write is blamed on the one that made it.
    """
    if chapter not in JUDGES:
        raise GradeError(f"chapter {chapter} has no out-of-kernel judges "
                         f"(available: {', '.join(sorted(JUDGES))})")
    release = _release(chapter, course)
    become_subreaper()
    # Read every submission first: a submission's code cannot then edit or plant another.
    files = sorted(p for p in Path(submissions).glob("*.ipynb"))
    if not files:
        raise GradeError(f"no *.ipynb in {submissions}")
    raw = {p.stem: p.read_bytes() for p in files}
    watch = [course / "source", course / "release", course / "nbgrader_config.py",
             course / "gradebook.db", *map(Path, watch)]
    bwrap = bwrap_works()
    jobs = max(1, jobs or 2) if bwrap else 1
    before = _prints(watch, full=not bwrap)
    results: list[Submission] = []

    def done(res: Submission) -> None:
        total = sum(s.score or 0 for s in res.scores.values())
        auto_max = sum(s.points for s in res.scores.values() if s.auto)
        log(f"{res.student}: {total:g} of {auto_max:g} auto-graded points "
            f"({res.elapsed_s:.0f} s)")
        results.append(res)

    def stop(res: Submission, touched: list[str]) -> None:
        for s in res.scores.values():
            s.score, s.messages = 0.0, [f"changed files outside its copy: {touched[:3]}"]
        results.append(res)
        _store(results, release, course)
        raise GradeError(f"{res.student}.ipynb changed {len(touched)} file(s) outside its "
                         f"copy (e.g. {touched[0]}); it scored 0 and grading stopped: "
                         "reinstall the environment (make clean setup) before grading the "
                         "rest")

    if jobs == 1:
        for student, data in raw.items():
            res = _grade_file(student, data, release, timeout_cell, course, bwrap)
            touched = [] if bwrap else changed(before, _prints(watch, full=True))
            if touched:
                stop(res, touched)
            done(res)
    else:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init) as pool:
            futures = {student: pool.submit(_grade_file, student, data, release,
                                            timeout_cell, course, bwrap)
                       for student, data in raw.items()}
            for student in raw:
                done(futures[student].result())
    touched = changed(before, _prints(watch, full=False)) if bwrap else []
    if touched:      # cannot happen in bubblewrap: say so loudly if it does
        raise GradeError(f"files outside the submissions' copies changed during the batch "
                         f"(e.g. {touched[0]}); the grades were not stored")
    _store(results, release, course)
    return results


def _store(results: list[Submission], release: NotebookNode, course: Path) -> None:
    """Write the scores into nbgrader's gradebook and the autograded notebooks."""
    from nbgrader.api import Gradebook

    chapter = release.metadata[META]["chapter"]
    with warnings.catch_warnings(), \
            Gradebook(f"sqlite:///{(course / 'gradebook.db').resolve()}") as gb:
        # nbgrader's add_submission triggers SQLAlchemy autoflush warnings about its own
        # relationships (also under `nbgrader autograde`); they are not ours to fix
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for res in results:
            gb.update_or_create_student(res.student)
            gb.update_or_create_submission(chapter, res.student)
            for label, s in res.scores.items():
                grade = gb.find_grade(label, chapter, chapter, res.student)
                grade.auto_score = s.score if s.auto else None
                # as nbgrader's SaveAutoGrades: a human looks at it if no score or a hand grade
                grade.needs_manual_grade = (grade.manual_score is not None
                                            or grade.auto_score is None)
            gb.db.commit()
            folder = course / "autograded" / res.student / chapter
            folder.mkdir(parents=True, exist_ok=True)
            nb = res.notebook if res.notebook is not None else release
            nbformat.write(nb, folder / f"{chapter}.ipynb")
            (folder / "timestamp.txt").write_text(time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                time.gmtime()))
            (folder / "problems.txt").write_text("\n".join(res.problems) + "\n")


def feedback(chapter: str | None = None, course: Path = COURSE) -> list[Path]:
    """nbgrader's HTML feedback, one file per autograded student (every chapter that has
    autograded submissions if ``chapter`` is None)."""
    chapters = [chapter] if chapter else sorted(
        {p.parent.name for p in (course / "autograded").glob("*/*/timestamp.txt")})
    if not chapters:
        raise GradeError(f"nothing autograded in {course}: run `make autograde` first")
    for ch in chapters:
        nbgrader(course, "generate_feedback", ch, "--force")
    return sorted(p for ch in chapters for p in (course / "feedback").glob(f"*/{ch}/*.html"))


def gradebook_csv(out: Path, course: Path = COURSE) -> int:
    """``gradebook.csv``: one row per student, one column of points per exercise, the total.

    Read from nbgrader's gradebook, so hand grades entered in formgrader are included; an
    exercise that still waits for a human is empty. Returns the number of rows.
    """
    from nbgrader.api import Gradebook

    rows, columns = [], []
    with Gradebook(f"sqlite:///{(course / 'gradebook.db').resolve()}") as gb:
        for assignment in gb.assignments:
            for nb in assignment.notebooks:
                columns += [gc.name for gc in nb.grade_cells]
        for student in gb.students:
            row = {"student_id": student.id}
            total, waiting = 0.0, 0
            for sub in student.submissions:
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        value = (grade.manual_score if grade.manual_score is not None
                                 else grade.auto_score)
                        if value is None:
                            row[grade.name] = ""
                            waiting += 1
                        else:
                            row[grade.name] = f"{value:g}"
                            total += value
            row["total"] = f"{total:g}"
            row["waiting_for_hand_grading"] = str(waiting)
            rows.append(row)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["student_id", *columns, "total", "waiting_for_hand_grading"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def check(path: Path, timeout_cell: float = 30) -> Submission:
    """The student's "check my work": the visible checks' inputs and messages, no hidden
    inputs, no gradebook."""
    sub = nbformat.read(path, as_version=4)
    chapter = (sub.metadata.get(META) or {}).get("chapter") or Path(path).stem
    book = ROOT / "book" / f"{chapter}.ipynb"
    if not book.is_file():
        raise GradeError(f"{path} does not say which chapter it is (metadata.{META}.chapter)")
    release, _ = source_notebook(book)
    return grade_notebook(sub, release, hidden=False, timeout_cell=timeout_cell)


def _print(res: Submission) -> None:
    for label, s in res.scores.items():
        if s.auto:
            mark = "PASS" if s.score else "FAIL"
            print(f"  {mark}  {label:<18} {s.messages[0] if s.messages else ''}")
        else:
            note = s.messages[0] if s.messages else "graded by hand"
            print(f"   --   {label:<18} {note}")
    for p in res.problems:
        print(f"  note: {p}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m courseware.autograde")
    parser.add_argument("--course", type=Path, default=COURSE)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("autograde")
    a.add_argument("chapter")
    a.add_argument("submissions", type=Path)
    a.add_argument("--timeout-cell", type=float, default=30)
    a.add_argument("--watch", type=Path, action="append", default=[],
                   help="a further folder that no submission may change (repeatable)")
    a.add_argument("--jobs", type=int, default=None,
                   help="submissions graded at a time with bubblewrap (default 2)")
    f = sub.add_parser("feedback")
    f.add_argument("chapter", nargs="?")
    g = sub.add_parser("gradebook")
    g.add_argument("--out", type=Path, default=Path("gradebook.csv"))
    c = sub.add_parser("check")
    c.add_argument("notebook", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "autograde":
            t0 = time.monotonic()
            results = autograde(args.chapter, args.submissions, args.course,
                                timeout_cell=args.timeout_cell, watch=args.watch,
                                jobs=args.jobs)
            print(f"{len(results)} submissions graded in {time.monotonic() - t0:.0f} s into "
                  f"{args.course}/gradebook.db")
        elif args.command == "feedback":
            for p in feedback(args.chapter, args.course):
                print(p)
        elif args.command == "gradebook":
            n = gradebook_csv(args.out, args.course)
            print(f"{args.out}: {n} students")
        else:
            become_subreaper()
            _print(check(args.notebook))
    except GradeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
import dataclasses
import json
import multiprocessing
import multiprocessing.connection
import os
import pickle
import random
import re
import secrets
import shutil
import signal
import symtable
import sys
import tempfile
import time
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .assignment import COURSE, META, nbgrader, source_notebook
from .book import ROOT
from . import judge as _judge
from .checks import CheckResult
from .judge import JUDGES, judge_exercise
from .libmatch import matches_library
from .limits import Limits, explain
from .remote import deadline_message, io_over
from .sandbox import (Sandbox, _children, become_subreaper, bwrap_problem, bwrap_works,
                      changed, fingerprint, is_subreaper, kill_tree, unmount_leftovers)

__all__ = ["ExerciseScore", "Submission", "ToolError", "autograde", "collect",
           "grade_notebook", "gradebook_csv", "main"]

_MAX_RESTARTS = 3


class ToolError(Exception):
    """The batch cannot start or go on (no release, no submissions, no sandbox): the
    instructor's to fix, not a student's."""


#: The verdict of a submission that the grader itself failed on.
GRADER_ERROR = "grader error"


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
    #: exercise label -> the seed its hidden inputs were drawn from (a regrade with
    #: ``--reuse-seeds`` draws the same inputs)
    seeds: dict[str, int] = field(default_factory=dict)
    grader_error: str = ""            # not empty: the grader failed on this submission
    submitted_at: str = ""            # ISO time, from the file (or the LMS's name)
    file: str = ""
    unreadable: bool = False          # not a notebook at all (empty, garbage)
    #: where ``submitted_at`` comes from: "nbgrader timestamp.txt", "LMS file name",
    #: "file modification time" (not trusted for lateness) or "" (unknown)
    time_from: str = ""
    late: bool | None = None          # the LMS's late flag (Canvas ``LATE_``), if any
    #: for the instructor only (the record, not the feedback): the student's cells that
    #: name the library or import by a computed name (see :func:`review_hints`)
    review: list[str] = field(default_factory=list)


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


def _run_all(sb: Sandbox, cells: list[tuple[int, str]], problems: list[str]) -> list[str]:
    """Run ``(code cell number, source)`` pairs; return the sources that ran (to replay)."""
    done: list[str] = []
    for n, code in cells:
        status, text = sb.run(code)
        hoard = io_over(sb)
        if hoard:
            problems.append(f"code cell {n}: {hoard}")
        if status == "deadline":
            problems.append(f"code cell {n} and the cells after it did not run: "
                            f"{deadline_message(sb)}")
            return done
        if status == "error":
            problems.append(f"code cell {n} raised {explain(text, sb.limits)}")
        elif status == "output":
            problems.append(f"code cell {n} printed more than {sb.output_limit} characters; "
                            "the rest was dropped")
        elif status in ("timeout", "dead"):
            what = (f"timed out after {sb.timeout_cell:g} s" if status == "timeout"
                    else "killed the kernel (or passed a limit: "
                    f"{sb.limits.describe()})")
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
        if sb.run(code)[0] in ("timeout", "dead", "deadline"):
            return


class _SeededSecrets:
    """Stands in for :mod:`secrets` in :mod:`courseware.judge` while an exercise is
    judged: the same draws, from a generator seeded with a recorded seed, so that a
    regrade (``--reuse-seeds``) draws the same hidden inputs."""

    def __init__(self, seed: int):
        self._random = random.Random(seed)

    def randbits(self, k: int) -> int:
        return self._random.getrandbits(k)

    def randbelow(self, n: int) -> int:
        return self._random.randrange(n)


@contextmanager
def _judging(seed: int):
    """Seed the hidden inputs' draw and keep the stand-ins of the student's functions
    (their calls are compared with the library's afterwards)."""
    made: list = []
    real_secrets, real_remote = _judge.secrets, _judge.RemoteFunction

    def remote(*args, **kwargs):
        fn = real_remote(*args, **kwargs)
        made.append(fn)
        return fn

    _judge.secrets, _judge.RemoteFunction = _SeededSecrets(seed), remote
    try:
        yield made
    finally:
        _judge.secrets, _judge.RemoteFunction = real_secrets, real_remote


def wrong_format(sub: NotebookNode, chapter: str) -> str | None:
    """Why ``sub`` is not a submission of the release of ``chapter`` (None if it is)."""
    mine = sub.metadata.get(META)
    if isinstance(mine, dict) and mine.get("chapter") not in (None, chapter):
        return (f"this is the assignment of chapter {mine.get('chapter')}, not of "
                f"{chapter}: it was not graded")
    if mine is None and isinstance(sub.metadata.get("dropout_lib"), dict):
        return ("this notebook is the old student edition (notebook metadata "
                "'dropout_lib'), not the assignment released for grading (metadata "
                f"'{META}'): it was not graded; hand out `make assignment CH={chapter}`'s "
                "notebook or the current `make student`'s, and ask for the work again")
    return None


def grade_notebook(sub: NotebookNode, release: NotebookNode, *, student: str = "student",
                   hidden: bool = True, limits: Limits | None = None,
                   timeout_cell: float | None = None, course: Path | None = None,
                   bwrap: bool | None = None, slot: int = 0,
                   seeds: dict[str, int] | None = None) -> Submission:
    """Grade one submission against the release (see the module's docstring).

    ``seeds``: exercise label -> the seed of its hidden inputs (a regrade's); new seeds
    are drawn for the others. Raises only on the grader's own failures
    (:func:`_grade_file` turns them into a "grader error").
    """
    limits = limits or Limits()
    if timeout_cell is not None:
        limits = replace(limits, cell=timeout_cell)
    t0 = time.monotonic()
    meta = release.metadata.get(META, {})
    chapter = meta.get("chapter", "")
    exercises = meta.get("exercises", {})
    judges = JUDGES.get(chapter, {})
    scores = {label: ExerciseScore(label, float(e["points"]), bool(e["auto"]),
                                   None if not e["auto"] else 0.0)
              for label, e in exercises.items()}
    refused = wrong_format(sub, chapter)
    if refused:
        for score in scores.values():
            score.score, score.messages = 0.0, [refused]
        return Submission(student, chapter, scores, [refused], None,
                          time.monotonic() - t0)
    nb, found, notes = rebuild(release, sub)
    problems = list(notes)
    review = review_hints(nb)
    used: dict[str, int] = {}
    with Sandbox(limits=limits, course=course, bwrap=bwrap, slot=slot,
                 deadline=t0 + limits.deadline) as sb:
        judged = {f"{label}-code" for label, e in exercises.items() if e["auto"]}
        numbers = {i: n for n, i in enumerate(
            (i for i, c in enumerate(nb.cells) if c.cell_type == "code"), 1)}
        codes = _run_all(sb, [(numbers[i], code) for i, code in needed_code(nb, judged)],
                         problems)
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
            if sb.left() <= 0:
                score.messages = [f"{label}: not judged: {deadline_message(sb)}"]
                continue
            seed = (seeds or {}).get(label) or secrets.randbits(63)
            used[label] = seed
            restarts = sb.restarts
            try:
                with _judging(seed) as fns:
                    result = judge_exercise(sb, chapter, label, hidden=hidden)
                if result.passed and hidden:
                    for fn in fns:
                        lib = matches_library(fn.name, fn.record)
                        if lib:
                            result = CheckResult(fn.name, False, (
                                f"{fn.name}: matches {lib} bit for bit on the hidden "
                                "inputs: write the function yourself",))
                            break
            except Exception as err:  # noqa: BLE001 - the grader's failure, not the student's
                why = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
                result = CheckResult(label, False, (
                    f"{GRADER_ERROR} while judging {label} ({why}); 0 points: ask your "
                    "instructor to look at it",))
                problems.append(f"{GRADER_ERROR} while judging {label}: {why}")
                if sb.left() > 0:
                    sb.restart()
            score.score = score.points if result.passed else 0.0
            score.messages = [str(result)] + ([*result.messages] if not result.passed else [])
            if sb.restarts != restarts and sb.left() > 0:
                _replay(sb, codes)
    _annotate(nb, scores, problems)
    return Submission(student, chapter, scores, problems, nb, time.monotonic() - t0,
                      seeds=used, review=review)


_HINTS = re.compile(r"dropout_lib|out_lib|import_module|__import__|importlib")


def review_hints(nb: NotebookNode) -> list[str]:
    """The student's code cells (not the locked ones) that name ``dropout_lib`` or import
    by a computed name: a hint for review, not a verdict (a call with a generator of its
    own escapes the bit-for-bit comparison of :mod:`courseware.libmatch`)."""
    out = []
    number = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        number += 1
        if cell.metadata.get("nbgrader", {}).get("locked"):
            continue
        found = sorted(set(_HINTS.findall(cell.source)))
        if found:
            out.append(f"code cell {number} ({_gid(cell) or 'added'}): {', '.join(found)}")
    return out


def _annotate(nb: NotebookNode, scores: dict[str, ExerciseScore], problems: list[str]) -> None:
    """Put the judge's verdicts into the check cells' outputs, the grader's notes into a
    first cell, and "pending hand grading" under every hand-graded answer (what feedback
    and formgrader show)."""
    notes = "\n".join(f"- {p}" for p in problems) or "- none"
    missing = [f"- {s.messages[0]}" for s in scores.values()
               if s.messages and s.messages[0].startswith("exercise ")]
    hand = [s for s in scores.values() if not s.auto]
    pending = (f"\n\n**Pending hand grading:** {len(hand)} exercise(s), "
               f"{sum(s.points for s in hand):g} points "
               f"({', '.join(s.label for s in hand)}). Until your instructor has graded "
               "them, their scores below read 0 and the total counts only the "
               "auto-graded points.") if hand else ""
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(
        "**Grader's notes.** Auto-graded exercises were judged on hidden inputs, outside "
        "your kernel.\n\n" + notes + ("\n" + "\n".join(missing) if missing else "")
        + pending))
    for cell in nb.cells:
        gid = _gid(cell)
        locked = cell.metadata.get("nbgrader", {}).get("locked")
        if cell.cell_type == "code":
            cell.outputs = [] if gid in scores or locked else _safe_outputs(
                cell.get("outputs", []))
            cell.execution_count = None
        elif cell.cell_type == "markdown" and not locked:
            cell.source = safe_markdown(cell.source)
        if gid in scores and scores[gid].auto and cell.cell_type == "code":
            s = scores[gid]
            text = s.messages[0] if s.messages else "not graded"
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"{text}\n[graded on hidden inputs: {s.score:g} of {s.points:g} points]\n")]


_SAFE_TAGS = ["a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3",
              "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "span", "strong", "sub",
              "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"]
#: Output types a student's notebook may carry into feedback and formgrader (its stored
#: outputs are the student's file, not a run of ours: HTML and scripts are dropped).
_SAFE_OUTPUTS = ("text/plain", "image/png", "image/jpeg")


def safe_markdown(source: str) -> str:
    """A student's markdown cell as feedback and formgrader may show it: unchanged if it
    holds no HTML; else rendered and sanitised (bleach, as nbconvert's ``clean_html``),
    so that a ``<script>`` or an ``onerror=`` reaches no browser."""
    if not re.search(r"<\s*[A-Za-z!/?]", source):
        return source
    import bleach
    from nbconvert.filters import markdown2html

    return bleach.clean(markdown2html(source), tags=_SAFE_TAGS,
                        attributes={"*": ["class"], "a": ["href", "title"]},
                        protocols=["http", "https", "mailto"])


def _safe_outputs(outputs: list) -> list:
    out = []
    for o in outputs:
        o = copy.deepcopy(o)
        if "data" in o:
            o["data"] = {k: v for k, v in o["data"].items() if k in _SAFE_OUTPUTS}
            if not o["data"]:
                continue
        out.append(o)
    return out


# --------------------------------------------------------------------------- the batch


def _release(chapter: str, course: Path) -> NotebookNode:
    path = course / "release" / chapter / f"{chapter}.ipynb"
    if not path.is_file():
        raise ToolError(f"no release {path}: run `make assignment CH={chapter}` first")
    return nbformat.read(path, as_version=4)


def _failed(student: str, release: NotebookNode, reason: str) -> Submission:
    """A submission that scores 0 on every auto-graded exercise, for ``reason``."""
    meta = release.metadata[META]
    scores = {label: ExerciseScore(label, float(e["points"]), bool(e["auto"]),
                                   0.0 if e["auto"] else None, [reason] if e["auto"] else [])
              for label, e in meta["exercises"].items()}
    return Submission(student, meta["chapter"], scores, [reason], None)


def _grade_file(student: str, data: bytes, release: NotebookNode, limits: Limits,
                course: Path, bwrap: bool, slot: int = 0,
                seeds: dict[str, int] | None = None) -> Submission:
    """Grade one submission's bytes. Never raises: a failure of the grader itself makes
    the submission a "grader error" with 0 points and the reason."""
    try:
        try:
            sub = nbformat.reads(data.decode("utf-8"), as_version=4)
            if not isinstance(sub.get("cells"), list):
                raise ValueError("it has no cells")
        except Exception as err:  # noqa: BLE001 - any unreadable file is the student's
            text = str(err).splitlines()[0][:120] if str(err) else ""
            res = _failed(student, release, f"not a readable notebook "
                          f"({type(err).__name__}{': ' + text if text else ''})")
            res.unreadable = True
            return res
        return grade_notebook(sub, release, student=student, limits=limits, course=course,
                              bwrap=bwrap, slot=slot, seeds=seeds)
    except BaseException as err:  # noqa: BLE001 - one submission never stops the batch
        if isinstance(err, KeyboardInterrupt):
            raise
        why = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
        res = _failed(student, release, f"{GRADER_ERROR} ({why}); 0 points: ask your "
                      "instructor to look at it")
        res.grader_error = why
        return res


def _prints(watch: list[Path], full: bool) -> dict[str, tuple[int, int]]:
    """Fingerprints of ``watch`` and, if ``full``, of everything a kernel imports from."""
    out = fingerprint(extra=[p for p in watch if p.is_dir()], only_extra=not full)
    out.update({str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in watch if p.is_file()})
    return out


#: How LMS downloads name a student's file (as nbgrader's zip_collect): Canvas
#: ``<login>_[LATE_]<user id>_<submission id>_<file>``, Moodle ``<Full Name>_<id>_
#: assignsubmission_file_<file>``, Blackboard ``<assignment>_<login>_attempt_<time>_
#: <file>``; anything else: the file's name without ``.ipynb``.
LMS_NAMES = (
    r"^(?P<student_id>[^_]+)_(?P<late>LATE_)?\d+_\d+_.+$",
    r"^.+?_(?P<student_id>\d+)_assignsubmission_file_.+$",
    r"^.+?_(?P<student_id>[^_]+)_attempt_(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)"
    r"(?:_.+)?$",
)


@dataclass
class Collected:
    """One collected submission file."""

    data: bytes
    submitted_at: str          # ISO time, or "" when only the file's own time is known
    file: str                  # its path inside the submissions folder
    time_from: str             # see Submission.time_from
    late: bool | None = None   # the LMS's late flag
    file_time: str = ""        # the file's modification time (copying resets it)


def valid_id(sid: str) -> bool:
    """A student id that names a folder of its own: not empty, no ``.`` or ``..``, no
    leading dot, no path separator."""
    return bool(sid) and not sid.startswith(".") and "/" not in sid and "\\" not in sid \
        and os.sep not in sid and sid not in (".", "..")


def collect(submissions: Path, pattern: str | None = None,
            rejected: list[str] | None = None) -> dict[str, Collected]:
    """student id -> :class:`Collected`.

    Reads every ``*.ipynb`` in ``submissions`` (and one level of sub-folders, as
    ``<student_id>/<file>.ipynb`` or ``nbgrader collect``'s ``<id>/<ch>/<ch>.ipynb``).
    The student id comes from ``pattern`` (a regular expression with a ``student_id``
    group, matched against the file name without ``.ipynb``), else from the LMS names of
    :data:`LMS_NAMES`, else the sub-folder's name, else the file's name; a file whose id
    is not :func:`valid_id` (``...ipynb`` gives ``..``) is skipped and named in
    ``rejected``. The time is a ``timestamp.txt`` beside the file (nbgrader's) or a time
    in the name (Blackboard); Canvas's names carry only a late flag (``LATE_``). The
    file's modification time, which copying or unzipping resets, is kept apart
    (``file_time``) and never used for lateness. A student with two files keeps the
    later one.
    """
    import datetime as dt
    import re

    folder = Path(submissions)
    files = sorted([*folder.glob("*.ipynb"), *folder.glob("*/*.ipynb"),
                    *folder.glob("*/*/*.ipynb")])
    found: dict[str, Collected] = {}
    for path in files:
        rel = path.relative_to(folder)
        sid, when, late = None, None, None
        for regex in ([pattern] if pattern else []) + list(LMS_NAMES):
            m = re.match(regex, path.stem)
            if m and m.groupdict().get("student_id"):
                sid = m.group("student_id")
                when = m.groupdict().get("timestamp")
                if "late" in m.groupdict():
                    late = m.group("late") is not None
                break
        if sid is None:
            sid = rel.parts[0] if len(rel.parts) > 1 else path.stem
        sid = re.sub(r"[^\w.@+-]", "_", sid)
        if not valid_id(sid):
            if rejected is not None:
                rejected.append(str(rel))
            continue
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)
        stamp = path.parent / "timestamp.txt"
        at, source = None, ""
        if when:
            at, source = dt.datetime.strptime(when, "%Y-%m-%d-%H-%M-%S"), "LMS file name"
        elif stamp.is_file():
            try:
                at = dt.datetime.fromisoformat(stamp.read_text().strip().replace(" UTC", ""))
                source = "nbgrader timestamp.txt"
            except ValueError:
                pass
        if at is None:
            source = "LMS late flag" if late is not None else "file modification time"
        iso = at.replace(microsecond=0).isoformat(sep=" ") if at else ""
        got = Collected(path.read_bytes(), iso, str(rel), source, late,
                        mtime.isoformat(sep=" "))
        old = found.get(sid)
        if old is None or (old.submitted_at or old.file_time) < (iso or got.file_time):
            found[sid] = got
    return found


def _child(student: str, data: bytes, release: NotebookNode, limits: Limits, course: Path,
           bwrap: bool, slot: int, seeds: dict[str, int] | None, out: str) -> None:
    """A submission's own process: grade it, write the result to ``out``, exit."""
    code = 0
    try:
        os.setsid()
        become_subreaper()      # it reaps (and kills) what its kernels detach
        res = _grade_file(student, data, release, limits, course, bwrap, slot, seeds)
        with open(out, "wb") as f:
            pickle.dump(res, f)
    except BaseException:  # noqa: BLE001 - the parent reports a missing result
        code = 1
    finally:
        os._exit(code)


def record_path(course: Path, chapter: str, student: str) -> Path:
    """Where a submission's record is kept: ``<course>/records/<chapter>/<id>.json``,
    outside ``autograded/`` (whose files nbgrader copies into the student's feedback:
    the seeds of the hidden inputs must not reach the student)."""
    return course / "records" / chapter / f"{student}.json"


def _seeds_of(course: Path, chapter: str, student: str) -> dict[str, int] | None:
    try:
        record = json.loads(record_path(course, chapter, student).read_text())
        return {k: int(v["seed"]) for k, v in record["exercises"].items() if "seed" in v}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def autograde(chapter: str, submissions: Path, course: Path = COURSE, *,
              limits: Limits | None = None, timeout_cell: float | None = None,
              watch: list[Path] = (), jobs: int | None = None, unsafe: bool = False,
              pattern: str | None = None, due: str | None = None,
              reuse_seeds: bool = False, log=print) -> list[Submission]:
    """Grade every submission of ``submissions`` (:func:`collect`) into nbgrader's gradebook.

    Each submission is graded in a process of its own, ``jobs`` at a time (default 2),
    with its own deadline and limits; a process that outlives its deadline by a minute is
    killed, and a submission whose grading fails in any way scores 0 as a "grader error"
    with the reason. Each result is stored as soon as it is known (gradebook, autograded
    notebook, the record of :func:`record_path` with the seeds of its hidden inputs) and
    logged in one line naming the student. Without bubblewrap it refuses
    (:class:`ToolError`) unless ``unsafe``: then one at a time, and the folders a kernel or the grader imports from
    are compared after each submission; one that changed them scores 0 and the batch
    stops.
    """
    if chapter not in JUDGES:
        raise ToolError(f"chapter {chapter} has no out-of-kernel judges "
                        f"(available: {', '.join(sorted(JUDGES))})")
    limits = limits or Limits.from_env()
    if timeout_cell is not None:
        limits = replace(limits, cell=timeout_cell)
    release = _release(chapter, course)
    bwrap = bwrap_works()
    if not bwrap and not unsafe:
        raise ToolError(
            f"no bubblewrap sandbox ({bwrap_problem()}): the students' code would run as "
            "you, reading and writing what you can. Install it (tools/ensure_bwrap.sh), "
            "or, knowing the risk (book/instructors.md), pass --unsafe-no-sandbox "
            "(make autograde UNSAFE=1)")
    if not bwrap:
        log("warning: no bubblewrap sandbox: grading as this user, one at a time "
            "(--unsafe-no-sandbox)")
    # Read every submission first: a submission's code cannot then edit or plant another.
    rejected: list[str] = []
    raw = collect(Path(submissions), pattern, rejected)
    for name in rejected:
        log(f"skipped {name}: its student id would not be a folder name of its own "
            "(., .., a leading dot or a path separator); rename it")
    if not raw:
        raise ToolError(f"no *.ipynb in {submissions} with a usable student id")
    if due:
        _set_due(course, chapter, due)
        guessed = sorted(k for k, v in raw.items() if v.time_from == "file modification time")
        if guessed:
            log(f"warning: --due given, but {len(guessed)} submission(s) have no submission "
                "time (no nbgrader timestamp.txt, no LMS time or late flag in the name): "
                "their lateness is unknown and not computed from the files' modification "
                "times, which copying and unzipping reset (e.g. "
                f"{', '.join(guessed[:3])}); see the 'late' column")
    watch = [course / "source", course / "release", course / "nbgrader_config.py",
             course / "gradebook.db", *map(Path, watch)]
    jobs = max(1, jobs or 2) if bwrap else 1
    before = _prints(watch, full=not bwrap) if not bwrap else {}
    results: list[Submission] = []
    ctx = multiprocessing.get_context("fork")
    tmp = Path(tempfile.mkdtemp(prefix="courseware-results-"))
    pending = list(raw.items())
    running: dict[int, tuple] = {}        # slot -> (process, student, out file, t0)
    grace = 60.0
    t_batch = time.monotonic()

    def finish(res: Submission, student: str) -> None:
        res.student = student
        got = raw[student]
        res.submitted_at, res.file = got.submitted_at, got.file
        res.time_from, res.late = got.time_from, got.late
        try:
            _store([res], release, course, limits)
        except Exception as err:  # noqa: BLE001 - logged; the batch goes on
            log(f"{student}: could not store the result ({type(err).__name__}: {err})")
        total = sum(s.score or 0 for s in res.scores.values())
        auto_max = sum(s.points for s in res.scores.values() if s.auto)
        note = f" [{GRADER_ERROR}: {res.grader_error}]" if res.grader_error else ""
        if res.review:
            note += (f" [review: {len(res.review)} cell(s) name dropout_lib or import by "
                     "a computed name; see its record]")
        log(f"{student}: {total:g} of {auto_max:g} auto-graded points "
            f"({res.elapsed_s:.0f} s){note}")
        results.append(res)

    was_subreaper = is_subreaper()
    become_subreaper()
    others = _children()      # a caller's own children (the tests' other batches) stay
    try:
        while pending or running:
            while pending and len(running) < jobs:
                slot = next(k for k in range(jobs) if k not in running)
                student, got = pending.pop(0)
                data = got.data
                out = str(tmp / f"{slot}-{uuid.uuid4().hex}.pickle")
                seeds = _seeds_of(course, chapter, student) if reuse_seeds else None
                proc = ctx.Process(target=_child, args=(student, data, release, limits,
                                                        course, bwrap, slot, seeds, out))
                proc.start()
                running[slot] = (proc, student, out, time.monotonic())
            ready = multiprocessing.connection.wait(
                [p.sentinel for p, *_ in running.values()], timeout=1.0)
            for slot, (proc, student, out, t0) in list(running.items()):
                late = time.monotonic() - t0 > limits.deadline + grace
                if proc.sentinel not in ready and not late:
                    continue
                if late and proc.is_alive():
                    _kill(proc)
                proc.join(5)
                unmount_leftovers(proc.pid)
                del running[slot]
                kill_tree(None, others | {p.pid for p, *_ in running.values()})
                res = None
                try:
                    with open(out, "rb") as f:
                        res = pickle.load(f)
                except Exception:  # noqa: BLE001 - no result: the process died
                    why = (f"its grading did not end {grace:g} s after the deadline and was "
                           "stopped" if late else
                           f"its grading process ended with exit code {proc.exitcode}")
                    res = _failed(student, release, f"{GRADER_ERROR} ({why}); 0 points: "
                                  "ask your instructor to look at it")
                    res.grader_error = why
                    res.elapsed_s = time.monotonic() - t0
                finally:
                    Path(out).unlink(missing_ok=True)
                if not bwrap:
                    touched = changed(before, _prints(watch, full=True))
                    if touched:
                        for s in res.scores.values():
                            s.score, s.messages = 0.0, [
                                f"changed files outside its copy: {touched[:3]}"]
                        finish(res, student)
                        raise ToolError(
                            f"{student}.ipynb changed {len(touched)} file(s) outside its "
                            f"copy (e.g. {touched[0]}); it scored 0 and grading stopped: "
                            "reinstall the environment (make clean setup) before grading "
                            "the rest")
                finish(res, student)
    finally:
        for proc, *_ in running.values():
            _kill(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        if not was_subreaper:
            become_subreaper(False)
    log(f"{len(results)} submissions graded in {time.monotonic() - t_batch:.0f} s "
        f"({limits.describe()})")
    return results


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.kill()
    except OSError:
        pass
    proc.join(5)


def _set_due(course: Path, chapter: str, due: str) -> None:
    """Record the deadline (``YYYY-MM-DD HH:MM``, UTC) as the assignment's due date."""
    import datetime as dt

    from nbgrader.api import Gradebook

    when = dt.datetime.fromisoformat(due)
    with Gradebook(f"sqlite:///{(course / 'gradebook.db').resolve()}") as gb:
        gb.update_or_create_assignment(chapter, duedate=when)


def _store(results: list[Submission], release: NotebookNode, course: Path,
           limits: Limits | None = None) -> None:
    """Write the scores into nbgrader's gradebook, the autograded notebooks and each
    submission's record (:func:`record_path`: scores, messages, seeds, times, limits)."""
    import datetime as dt

    from nbgrader.api import Gradebook

    chapter = release.metadata[META]["chapter"]
    with warnings.catch_warnings(), \
            Gradebook(f"sqlite:///{(course / 'gradebook.db').resolve()}") as gb:
        # nbgrader's add_submission triggers SQLAlchemy autoflush warnings about its own
        # relationships (also under `nbgrader autograde`); they are not ours to fix
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for res in results:
            gb.update_or_create_student(res.student)
            when = (dt.datetime.fromisoformat(res.submitted_at) if res.submitted_at
                    else None)
            sub = gb.update_or_create_submission(chapter, res.student, timestamp=when)
            late = float(sub.total_seconds_late or 0) if when else None
            for label, s in res.scores.items():
                grade = gb.find_grade(label, chapter, chapter, res.student)
                grade.auto_score = s.score if s.auto else None
                # as nbgrader's SaveAutoGrades: a human looks at it if no score or a hand grade
                grade.needs_manual_grade = (grade.manual_score is not None
                                            or grade.auto_score is None)
            gb.db.commit()
            folder = course / "autograded" / res.student / chapter
            folder.mkdir(parents=True, exist_ok=True)
            nb = res.notebook if res.notebook is not None else _failed_notebook(release, res)
            nbformat.write(nb, folder / f"{chapter}.ipynb")
            (folder / "timestamp.txt").write_text(res.submitted_at or time.strftime(
                "%Y-%m-%d %H:%M:%S", time.gmtime()))
            (folder / "record.json").unlink(missing_ok=True)    # where older versions kept it
            (folder / "problems.txt").write_text("\n".join(res.problems) + "\n")
            record = {
                "student": res.student, "chapter": chapter, "file": res.file,
                "submitted_at": res.submitted_at, "seconds_late": late,
                "time_from": res.time_from, "late": _late(res.late, late),
                "review": res.review,
                "unreadable": res.unreadable,
                "graded_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                "elapsed_s": round(res.elapsed_s, 1), "grader_error": res.grader_error,
                "limits": dataclasses.asdict(limits) if limits else None,
                "problems": res.problems,
                "exercises": {label: {"points": s.points, "auto": s.auto, "score": s.score,
                                      "messages": s.messages,
                                      **({"seed": res.seeds[label]} if label in res.seeds
                                         else {})}
                              for label, s in res.scores.items()}}
            path = record_path(course, chapter, res.student)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record, indent=1))


def _late(flag: bool | None, seconds: float | None) -> str:
    """"yes", "no" or "unknown": the LMS's flag, else the trusted submission time."""
    if flag is not None:
        return "yes" if flag else "no"
    if seconds is not None:
        return "yes" if seconds > 0 else "no"
    return "unknown"


def _failed_notebook(release: NotebookNode, res: Submission) -> NotebookNode:
    """The release with the reason it scored 0 (what feedback shows for a submission
    that could not be read or graded)."""
    nb = copy.deepcopy(release)
    _annotate(nb, res.scores, res.problems)
    return nb


def feedback(chapter: str | None = None, course: Path = COURSE,
             student: str | None = None) -> list[Path]:
    """nbgrader's HTML feedback, one file per autograded student (every chapter that has
    autograded submissions if ``chapter`` is None), with a banner on top when exercises
    still wait for hand grading."""
    chapters = [chapter] if chapter else sorted(
        {p.parent.name for p in (course / "autograded").glob("*/*/timestamp.txt")})
    if not chapters:
        raise ToolError(f"nothing autograded in {course}: run `make autograde` first")
    for ch in chapters:
        # the students' own HTML (a markdown answer's <script>) is sanitised
        nbgrader(course, "generate_feedback", ch, "--force",
                 "--HTMLExporter.sanitize_html=True",
                 *([f"--student={student}"] if student else []))
    pages = sorted(p for ch in chapters for p in (course / "feedback").glob(f"*/{ch}/*.html")
                   if student is None or p.parent.parent.name == student)
    waiting = _pending(course)
    for page in pages:
        labels = waiting.get((page.parent.parent.name, page.parent.name), [])
        if labels:
            html = page.read_text(encoding="utf-8")
            banner = ('<div style="border:2px solid #E69F00;padding:0.6em;margin:0.6em">'
                      "<strong>Pending hand grading:</strong> "
                      f"{', '.join(labels)}. Their scores read 0 until your instructor "
                      "has graded them; the total is not final.</div>")
            html = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + banner, html, count=1)
            page.write_text(html, encoding="utf-8")
    return pages


def _pending(course: Path) -> dict[tuple[str, str], list[str]]:
    """(student, chapter) -> the hand-graded exercises that wait for a human."""
    from nbgrader.api import Gradebook

    out: dict[tuple[str, str], list[str]] = {}
    with Gradebook(f"sqlite:///{(course / 'gradebook.db').resolve()}") as gb:
        for student in gb.students:
            for sub in student.submissions:
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        if grade.manual_score is None and grade.auto_score is None:
                            out.setdefault((student.id, sub.assignment.name), []).append(
                                grade.name)
    return out


def gradebook_csv(out: Path, course: Path = COURSE, roster: Path | None = None) -> int:
    """``gradebook.csv``: one row per student, one column of points per exercise, the total.

    Read from nbgrader's gradebook, so hand grades entered in formgrader are included. An
    exercise that waits for a human reads ``pending``; ``status`` says ``graded``,
    ``pending hand grading``, ``grader error`` or ``not submitted`` (a student of the
    ``roster``, a CSV with a ``student_id`` column or one id per line, with no
    submission; its points are 0); ``submitted_at`` and ``seconds_late`` (against the due
    date of ``--due``) come from the submission. Returns the number of rows.
    """
    from nbgrader.api import Gradebook

    rows, columns = [], []
    records: dict[str, dict] = {}
    for p in sorted(course.glob("records/*/*.json")):
        try:
            records[p.stem] = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
    errors = {k: r.get("grader_error") for k, r in records.items()}
    with Gradebook(f"sqlite:///{(course / 'gradebook.db').resolve()}") as gb:
        for assignment in gb.assignments:
            for nb in assignment.notebooks:
                columns += [gc.name for gc in nb.grade_cells]
        for student in gb.students:
            row = {"student_id": student.id}
            total, waiting, stamps, late = 0.0, 0, [], 0.0
            for sub in student.submissions:
                if sub.timestamp:
                    stamps.append(sub.timestamp.isoformat(sep=" "))
                late += float(sub.total_seconds_late or 0)
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        value = (grade.manual_score if grade.manual_score is not None
                                 else grade.auto_score)
                        if value is None:
                            row[grade.name] = "pending"
                            waiting += 1
                        else:
                            row[grade.name] = f"{value:g}"
                            total += value
            if not student.submissions:
                continue
            row["total"] = f"{total:g}"
            row["waiting_for_hand_grading"] = str(waiting)
            rec = records.get(student.id, {})
            row["status"] = (GRADER_ERROR if errors.get(student.id) else
                             "unreadable" if rec.get("unreadable") else
                             "pending hand grading" if waiting else "graded")
            row["submitted_at"] = max(stamps) if stamps else ""
            row["seconds_late"] = f"{late:g}" if stamps else ""
            row["late"] = rec.get("late", "") or ""
            rows.append(row)
    if roster is not None:
        listed = _roster(roster)
        have = {r["student_id"] for r in rows}
        for sid in listed:
            if sid not in have:
                rows.append({"student_id": sid, **{c: "0" for c in columns}, "total": "0",
                             "waiting_for_hand_grading": "0", "status": "not submitted",
                             "submitted_at": "", "seconds_late": "", "late": ""})
        for row in rows:
            if row["student_id"] not in listed and row["status"] != "not submitted":
                row["status"] += " (not on the roster)"
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["student_id", *columns, "total",
                                    "waiting_for_hand_grading", "status", "submitted_at",
                                    "seconds_late", "late"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def _roster(path: Path) -> list[str]:
    """Student ids of a roster: a CSV with a ``student_id`` (or ``id``) column, or one id
    per line."""
    text = Path(path).read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    head = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    for key in ("student_id", "id", "sis user id", "username", "login_id"):
        if key in head:
            k = head.index(key)
            return [r[k].strip() for r in csv.reader(lines[1:]) if len(r) > k and r[k].strip()]
    return [line.split(",")[0].strip() for line in lines]


def check(path: Path, timeout_cell: float = 30) -> Submission:
    """The student's "check my work": the visible checks' inputs and messages, no hidden
    inputs, no gradebook. Without bubblewrap it says so on stderr (one line) and runs the
    code as this user."""
    if not bwrap_works():
        print(f"warning: no bubblewrap sandbox ({bwrap_problem()}): this notebook's code "
              "runs as you, unsandboxed", file=sys.stderr)
    sub = nbformat.read(path, as_version=4)
    chapter = (sub.metadata.get(META) or {}).get("chapter") or Path(path).stem
    book = ROOT / "book" / f"{chapter}.ipynb"
    if not book.is_file():
        old = wrong_format(sub, chapter)
        raise ToolError(old or f"{path} does not say which chapter it is "
                        f"(metadata.{META}.chapter)")
    release, _ = source_notebook(book)
    return grade_notebook(sub, release, hidden=False,
                          limits=Limits.from_env(cell=timeout_cell))


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
    a.add_argument("--timeout-cell", type=float, default=None,
                   help="seconds per cell or call (default 30)")
    for f in dataclasses.fields(Limits):
        if f.name != "cell":
            a.add_argument(f"--{f.name.replace('_', '-')}", type=float, default=None,
                           help=f"limit per submission (default {f.default}; "
                           "see courseware/limits.py)")
    a.add_argument("--watch", type=Path, action="append", default=[],
                   help="a further folder that no submission may change (repeatable)")
    a.add_argument("--jobs", type=int, default=None,
                   help="submissions graded at a time with bubblewrap (default 2)")
    a.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade without bubblewrap, as this user (see the guide)")
    a.add_argument("--names", default=None,
                   help="regular expression with a student_id group for the file names")
    a.add_argument("--due", default=None, help="deadline 'YYYY-MM-DD HH:MM' (UTC): late flag")
    a.add_argument("--reuse-seeds", action="store_true",
                   help="judge each student on the hidden inputs of its last grading")
    f = sub.add_parser("feedback")
    f.add_argument("chapter", nargs="?")
    g = sub.add_parser("gradebook")
    g.add_argument("--out", type=Path, default=Path("gradebook.csv"))
    g.add_argument("--roster", type=Path, default=None)
    c = sub.add_parser("check")
    c.add_argument("notebook", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "autograde":
            given = {f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)
                     if f.name != "cell" and getattr(args, f.name) is not None}
            given = {k: (float(v) if k == "deadline" else int(v)) for k, v in given.items()}
            limits = Limits.from_env(cell=args.timeout_cell, **given)
            autograde(args.chapter, args.submissions, args.course, limits=limits,
                      watch=args.watch, jobs=args.jobs, unsafe=args.unsafe_no_sandbox,
                      pattern=args.names, due=args.due, reuse_seeds=args.reuse_seeds)
        elif args.command == "feedback":
            for p in feedback(args.chapter, args.course):
                print(p)
        elif args.command == "gradebook":
            n = gradebook_csv(args.out, args.course, args.roster)
            print(f"{args.out}: {n} students")
        else:
            become_subreaper()
            _print(check(args.notebook))
    except ToolError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - never a traceback: say what went wrong
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The grader (python -m courseware.grade): reference solutions pass, stubs fail with "not
implemented", typical wrong answers fail with their intended message, and a notebook that
raises, loops forever, misses a function or kills its kernel is graded without hanging.

Each grading starts a Jupyter kernel (about 2 s), so the wrong answers are graded together:
one synthetic chapter holds one exercise per wrong answer. The book's masks chapter is
executed twice (its solutions, and its unmodified student edition).
"""
from __future__ import annotations

import csv
import json
import os

import nbformat
import pytest
from test_student import (
    MASKS,
    exercise_cells,
    make_chapter,
    write_student,
)

from courseware.checks import GRADE_LOG_ENV, CheckResult, report
from courseware.grade import grade_notebook, main
from courseware.student import student_notebook

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def rows_by_label(grade):
    return {row.label: row for row in grade.exercises}


# --------------------------------------------------------------------------- report() logging


def test_report_appends_a_json_line_only_when_asked(tmp_path, monkeypatch, capsys):
    result = CheckResult("draw_mask", False, ("your mask keeps 20% of units", "second"))
    monkeypatch.delenv(GRADE_LOG_ENV, raising=False)
    report(result)
    plain = capsys.readouterr().out
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(GRADE_LOG_ENV, str(log))
    report(result)
    report(CheckResult("dropconnect", True, ("a", "b")))
    assert capsys.readouterr().out == plain + "✓ dropconnect: 2 of 2 checks passed\n"
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert lines == [{"exercise": "draw_mask", "passed": False,
                      "messages": ["your mask keeps 20% of units", "second"]},
                     {"exercise": "dropconnect", "passed": True, "messages": ["a", "b"]}]
    monkeypatch.setenv(GRADE_LOG_ENV, str(tmp_path / "no" / "such" / "dir" / "log"))
    report(result)                                   # an unwritable log is ignored
    assert capsys.readouterr().out == plain


# --------------------------------------------------------------------------- the book's chapter


@pytest.fixture(scope="module")
def masks_student(tmp_path_factory):
    folder = tmp_path_factory.mktemp("masks")
    student, _ = student_notebook(nbformat.read(MASKS, as_version=4), "01_masks",
                                  "book/01_masks.ipynb")
    path = folder / "01_masks.ipynb"
    nbformat.write(student, path)
    return path


def test_reference_solutions_pass_every_check():
    grade = grade_notebook(MASKS, timeout_cell=120, timeout_total=300)
    rows = rows_by_label(grade)
    checked = [r for r in grade.exercises if r.passed is not None]
    assert {r.label for r in checked} == {"ex-masks-draw", "ex-masks-dropconnect"}
    assert all(r.passed for r in checked), [(r.label, r.message) for r in checked]
    assert rows["ex-masks-draw"].message == "draw_mask: 5 of 5 checks passed"
    for label in ("ex-masks-predict", "ex-masks-var", "ex-masks-shared"):
        assert rows[label].passed is None and rows[label].message.startswith("not auto-graded")
    assert grade.other_problems == [] and grade.kernel_restarts == 0


def test_unmodified_student_edition_fails_with_not_implemented(masks_student, capsys):
    assert main([str(masks_student), "--timeout-cell", "120"]) == 0
    out = capsys.readouterr().out
    assert "FAIL  ex-masks-draw" in out and "FAIL  ex-masks-dropconnect" in out
    out = " ".join(out.split())                   # messages are wrapped in the table
    assert "auto-graded: 0 of 2 passed; not auto-graded: 3" in out
    assert "not implemented yet: draw_mask raises NotImplementedError" in out
    assert "not implemented yet: dropconnect raises NotImplementedError" in out
    assert "other problems" not in out       # nothing outside the exercises needs a solution


# --------------------------------------------------------------------------- wrong answers

MASK_MISTAKES = {
    "ex-backwards": ("return rng.random(shape) < p_drop",
                     "did you keep where u < p_drop instead of u < 1 - p_drop?"),
    "ex-keep-meaning": ("return rng.random(shape) >= 1 - p_drop",
                        "p_drop is the probability of DROPPING a unit"),
    "ex-global-rng": ("return np.random.rand(*shape) < 1 - p_drop",
                      "used NumPy's global random state"),
    "ex-float-mask": ("return (rng.random(shape) < 1 - p_drop).astype(np.float64)",
                      "your mask has dtype float64; a mask should be boolean"),
}

INVERTED_CHECK = '''from courseware.checks import report
from courseware.checks.inverted import check_dropout_backward, check_dropout_forward

report(check_dropout_forward(dropout_forward))
report(check_dropout_backward(dropout_forward, dropout_backward))'''
INVERTED_STUB = '''def dropout_forward(x, p_drop, *, train, rng=None):
    raise NotImplementedError("write the forward pass here")


def dropout_backward(dout, cache):
    raise NotImplementedError("write the backward pass here")'''
INVERTED_SOLUTION = '''def dropout_forward(x, p_drop, *, train, rng=None):
    if not train or p_drop == 0:
        return x.copy(), (None, 1.0)
    keep = 1.0 - p_drop
    kept_units = rng.random(x.shape) < keep
    return x * kept_units / keep, (kept_units, 1.0 / keep)


def dropout_backward(dout, cache):
    kept_units, scale = cache
    return dout * scale if kept_units is None else dout * kept_units * scale'''
_FORWARD = INVERTED_SOLUTION.split("\n\n\n")[0]
_BACKWARD = INVERTED_SOLUTION.split("\n\n\n")[1]
INVERTED_MISTAKES = {
    "ex-no-rescale": (_FORWARD.replace("x * kept_units / keep", "x * kept_units") + "\n\n\n"
                      + _BACKWARD, "you forgot to rescale"),
    "ex-eval-on": (_FORWARD.replace("if not train or p_drop == 0", "if p_drop == 0")
                   + "\n\n\n" + _BACKWARD,
                   "in evaluation (train=False) 20% of your outputs are zero: dropout is still on"),
    "ex-new-mask": (_FORWARD + "\n\n\n" + _BACKWARD.replace(
        "kept_units, scale = cache",
        "kept_units, scale = cache\n    kept_units = np.random.default_rng(99).random(dout.shape)"
        " < 1 / scale"), "zeroes different units than the forward pass"),
    "ex-ignores-mask": (_FORWARD + "\n\n\n" + _BACKWARD.replace(
        "dout * kept_units * scale", "dout * scale"), "your backward pass ignores the mask"),
}


@pytest.fixture(scope="module")
def wrong_answers(tmp_path_factory):
    """One synthetic chapter, one exercise per typical mistake, graded once via the CLI."""
    folder = tmp_path_factory.mktemp("wrong")
    exercises = [exercise_cells(label) for label in MASK_MISTAKES]
    exercises.append(exercise_cells("ex-tampered"))
    exercises.append(exercise_cells("ex-check-deleted"))
    has_inverted = True
    try:
        import courseware.checks.inverted  # noqa: F401
    except ImportError:
        has_inverted = False
    if has_inverted:
        exercises += [exercise_cells(label, stub=INVERTED_STUB, solution=INVERTED_SOLUTION,
                                     check=INVERTED_CHECK) for label in INVERTED_MISTAKES]
        exercises.append(exercise_cells("ex-inv-right", stub=INVERTED_STUB,
                                        solution=INVERTED_SOLUTION, check=INVERTED_CHECK))
    path = write_student(make_chapter(*exercises), folder, "wrong")
    nb = nbformat.read(path, as_version=4)
    owner = None
    for cell in list(nb.cells):
        tags = cell.metadata.get("tags", [])
        if "exercise" in tags:
            owner = cell.metadata["exercise"]["label"]
        elif "stub" in tags and owner in MASK_MISTAKES:
            cell.source = f"def draw_mask(shape, p_drop, rng):\n    {MASK_MISTAKES[owner][0]}"
        elif "stub" in tags and owner in INVERTED_MISTAKES:
            cell.source = INVERTED_MISTAKES[owner][0]
        elif "stub" in tags and owner == "ex-inv-right":
            cell.source = INVERTED_SOLUTION
        elif "check" in tags and owner == "ex-tampered":
            # a student who fakes the verdict: the grader runs the book's check instead
            cell.source = ("from courseware.checks import CheckResult, report\n"
                           "report(CheckResult('draw_mask', True, ('trust me',)))")
        elif "check" in tags and owner == "ex-check-deleted":
            nb.cells.remove(cell)
    nbformat.write(nb, path)
    out_json, out_csv = folder / "grades.json", folder / "grades.csv"
    status = main([str(path), "--json", str(out_json), "--csv", str(out_csv),
                   "--timeout-cell", "60"])
    return status, json.loads(out_json.read_text()), out_csv, has_inverted


def test_wrong_answers_fail_with_their_message(wrong_answers):
    status, data, _, has_inverted = wrong_answers
    assert status == 0                       # failing exercises are not a tool error
    rows = {row["label"]: row for row in data["rows"]}
    expected = dict(MASK_MISTAKES)
    if has_inverted:
        expected.update(INVERTED_MISTAKES)
    for label, (_, fragment) in expected.items():
        assert rows[label]["passed"] is False, (label, rows[label])
        assert fragment in rows[label]["message"], (label, rows[label]["message"])
    if has_inverted:
        assert rows["ex-inv-right"]["passed"] is True, rows["ex-inv-right"]["message"]
        assert "dropout_backward:" in rows["ex-inv-right"]["message"]


def test_edited_or_deleted_check_cells_cannot_pass(wrong_answers):
    _, data, _, _ = wrong_answers
    rows = {row["label"]: row for row in data["rows"]}
    assert rows["ex-tampered"]["passed"] is False
    assert "not implemented yet: draw_mask" in rows["ex-tampered"]["message"]
    assert rows["ex-check-deleted"]["passed"] is False
    assert "not implemented yet: draw_mask" in rows["ex-check-deleted"]["message"]
    notes = data["notebooks"][0]["other_problems"]
    assert any("ex-check-deleted: the check cell was missing" in n for n in notes)


def test_gradebook_csv_has_one_row_per_exercise(wrong_answers):
    _, data, out_csv, _ = wrong_answers
    with open(out_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["notebook", "chapter", "label", "type", "passed", "message"]
    assert len(rows) == len(data["rows"])
    assert {r["passed"] for r in rows} <= {"true", "false", ""}
    assert all(r["chapter"] == "wrong" and r["type"] == "implement" for r in rows)


# --------------------------------------------------------------------------- robustness


def test_raise_loop_missing_function_and_dead_kernel(tmp_path):
    """Graded without hanging; each problem is reported against its own exercise."""
    ok = "def draw_mask(shape, p_drop, rng):\n    return rng.random(shape) < 1 - p_drop"
    labels = ["ex-raises", "ex-loop-stub", "ex-loop-call", "ex-missing", "ex-after-loop",
              "ex-stubborn", "ex-exit", "ex-after-exit", "ex-derive"]
    exercises = [exercise_cells(label) for label in labels[:-1]]
    exercises.append(exercise_cells("ex-derive", ex_type="derive", stub=None, check=None))
    path = write_student(make_chapter(*exercises), tmp_path, "robust")
    nb = nbformat.read(path, as_version=4)
    stubs = iter([c for c in nb.cells if "stub" in c.metadata.get("tags", [])])
    for label, source in [
        ("ex-raises", "def draw_mask(shape, p_drop, rng):\n    return 1 / 0"),
        ("ex-loop-stub", "del draw_mask\nwhile True:\n    pass"),
        ("ex-loop-call", "def draw_mask(shape, p_drop, rng):\n    while True:\n        pass"),
        ("ex-missing", "draw_mask = None\ndel draw_mask  # the student deleted the function"),
        ("ex-after-loop", ok),
        ("ex-stubborn", "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                        "    except KeyboardInterrupt:\n        pass"),
        ("ex-exit", "import os\nos._exit(1)"),
        ("ex-after-exit", ok),
    ]:
        next(stubs).source = source
    nb.cells.insert(3, nbformat.v4.new_code_cell("undefined_helper()"))
    nbformat.write(nb, path)

    grade = grade_notebook(path, timeout_cell=2, timeout_total=120)
    rows = rows_by_label(grade)
    msg = {label: rows[label].message for label in labels}
    assert rows["ex-raises"].passed is False
    assert "draw_mask(" in msg["ex-raises"] and "raised ZeroDivisionError" in msg["ex-raises"]
    assert msg["ex-loop-stub"].startswith("timed out after 2 s in your code cell")
    assert "draw_mask is not defined" not in msg["ex-loop-stub"].split(";")[0]
    assert msg["ex-loop-call"].startswith(
        "timed out after 2 s in the check (which calls your function) (an infinite loop?)")
    assert msg["ex-missing"] == "draw_mask is not defined: did you run/keep the stub cell?"
    assert rows["ex-after-loop"].passed is True
    assert "did not stop when interrupted; the kernel was restarted" in msg["ex-stubborn"]
    assert msg["ex-exit"].startswith("the kernel died while running your code cell")
    assert rows["ex-after-exit"].passed is True, msg["ex-after-exit"]   # cells were replayed
    assert rows["ex-derive"].passed is None
    assert grade.kernel_restarts == 2
    assert any("cell 3 (outside the exercises) raised NameError" in p
               for p in grade.other_problems)


def test_total_time_limit_stops_grading(tmp_path):
    looping = exercise_cells("ex-slow")
    path = write_student(make_chapter(looping, exercise_cells("ex-later")), tmp_path, "slow")
    nb = nbformat.read(path, as_version=4)
    stub = next(c for c in nb.cells if "stub" in c.metadata.get("tags", []))
    stub.source = "import time\ntime.sleep(30)"
    nbformat.write(nb, path)
    grade = grade_notebook(path, timeout_cell=30, timeout_total=4)
    rows = rows_by_label(grade)
    assert rows["ex-slow"].passed is False and "timed out after" in rows["ex-slow"].message
    assert rows["ex-later"].passed is False
    assert "total time limit of 4 s was reached" in rows["ex-later"].message
    assert grade.elapsed_s < 20


def test_tool_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("this is not a notebook")
    assert main([str(bad), str(tmp_path / "missing.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "bad.ipynb" in err and "missing.ipynb" in err


def test_stub_without_check_is_not_auto_graded(tmp_path):
    explore = exercise_cells("ex-explore", ex_type="explore", check=None)
    nb = make_chapter(explore)
    path = tmp_path / "explore.ipynb"
    student, _ = student_notebook(nb, "explore")
    nbformat.write(student, path)
    os.environ.pop(GRADE_LOG_ENV, None)
    grade = grade_notebook(path, timeout_cell=30, timeout_total=60)
    (row,) = grade.exercises
    assert row.passed is None and row.message == "not auto-graded (explore)"

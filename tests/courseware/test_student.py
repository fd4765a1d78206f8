"""The student edition (python -m courseware.student): no solution leaks, stubs and checks
are kept, a chapter that breaks the exercise convention is refused, and the instructor
guide lists every exercise of every chapter.

Most tests use small synthetic chapters built here (make_chapter); the book's chapters
are only read, never executed (tests/courseware/test_autograde*.py grade them).
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from toc import ROOT, toc_notebooks

from courseware.assignment import source_notebook
from courseware.student import (
    HEADER_TAG,
    META_KEY,
    EditionError,
    find_leaks,
    main,
    parse_chapter,
    solution_lines,
    student_notebook,
)

MASKS = ROOT / "book" / "01_masks.ipynb"
GUIDE = ROOT / "book" / "instructors.md"

# --------------------------------------------------------------------------- synthetic chapters

DRAW_MASK_STUB = '''def draw_mask(shape, p_drop, rng):
    """Boolean keep-mask of shape `shape`: True with probability 1 - p_drop, from `rng`."""
    raise NotImplementedError("draw the mask here")'''
DRAW_MASK_SOLUTION = '''def draw_mask(shape, p_drop, rng):
    """Boolean keep-mask of shape `shape`: True with probability 1 - p_drop, from `rng`."""
    uniform_draws = rng.random(shape)
    return uniform_draws < 1 - p_drop'''
DRAW_MASK_CHECK = '''from courseware.checks import report
from courseware.checks.masks import check_draw_mask

report(check_draw_mask(draw_mask))'''


def _md(source: str, tags: list[str] | None = None, **meta) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    cell.metadata.update(meta)
    return cell


def _code(source: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def exercise_cells(label: str, *, ex_type: str = "implement", stub: str | None = DRAW_MASK_STUB,
                   solution: str | None = DRAW_MASK_SOLUTION, check: str | None = DRAW_MASK_CHECK,
                   solution_text: str = "Compare one uniform draw per entry with the keep "
                                        "probability q.") -> list:
    """The cells of one exercise, following CONTRIBUTING.md ("Exercises")."""
    cells = [_md(f"```{{exercise}} Exercise {label}\n:label: {label}\n\n**Type:** {ex_type} · "
                 f"**Difficulty:** ★☆☆\n\nDo the thing for {label}.\n```", ["exercise"],
                 exercise={"label": label, "type": ex_type, "difficulty": 1})]
    if stub is not None:
        cells.append(_code(stub, ["stub"]))
    cells.append(_md(f"```{{solution-start}} {label}\n:class: dropdown\n```\n{solution_text}",
                     ["solution"]))
    if solution is not None:
        cells.append(_code(solution, ["solution"]))
    cells.append(_md("```{solution-end}\n```", ["solution"]))
    if check is not None:
        cells.append(_code(check, ["check"]))
    return cells


def make_chapter(*exercises: list, title: str = "A synthetic chapter") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cells = [_md(f"# {title}\n\nSome prose."), _code("import numpy as np\nSEED = 0")]
    for ex in exercises:
        cells += ex
        cells.append(_md("More prose between exercises."))
    nb.cells = cells
    return nb


def write_student(nb: nbformat.NotebookNode, folder: Path, name: str = "ch") -> Path:
    """Write a chapter and its student edition into folder; return the student notebook."""
    source = folder / f"{name}.ipynb"
    nbformat.write(nb, source)
    student, _ = student_notebook(nb, name, str(source))
    target = folder / "student" / f"{name}.ipynb"
    target.parent.mkdir(exist_ok=True)
    nbformat.write(student, target)
    return target


# --------------------------------------------------------------------------- the edition


def test_synthetic_chapter_edition_keeps_stubs_checks_and_drops_solutions():
    nb = make_chapter(exercise_cells("ex-a"),
                      exercise_cells("ex-b", ex_type="derive", stub=None, check=None))
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    nb.cells[1].execution_count = 1
    student, chapter = student_notebook(nb, "ch")
    assert [ex.label for ex in chapter.exercises] == ["ex-a", "ex-b"]
    assert [ex.auto_graded for ex in chapter.exercises] == [True, False]
    tags = [t for c in student.cells for t in c.metadata.get("tags", [])]
    assert tags.count("solution") == 0
    assert tags.count("stub") == 1 and tags.count("check") == 1 and tags.count("exercise") == 2
    assert student.cells[0].metadata["tags"] == [HEADER_TAG]
    assert "Student edition" in student.cells[0].source
    assert "make check NB=ch.ipynb" in student.cells[0].source
    assert all(c.outputs == [] and c.execution_count is None
               for c in student.cells if c.cell_type == "code")
    assert student.metadata[META_KEY]["edition"] == "student"
    assert not any("solution-start" in c.source or "uniform_draws" in c.source
                   for c in student.cells)
    # header and ex-b's answer cell added, 6 solution cells gone
    assert len(student.cells) == len(nb.cells) + 1 + 1 - 6
    answer = next(c for c in student.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "ex-b")
    assert answer.metadata["nbgrader"]["solution"] and "YOUR ANSWER HERE" in answer.source


def _gids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_masks_chapter_edition(tmp_path):
    nb = nbformat.read(MASKS, as_version=4)
    student, chapter = student_notebook(nb, "01_masks", "book/01_masks.ipynb")
    labels = [ex.label for ex in chapter.exercises]
    assert labels == ["ex-masks-predict", "ex-masks-var", "ex-masks-shared", "ex-masks-draw",
                      "ex-masks-dropconnect"]
    assert [ex.label for ex in chapter.exercises if ex.auto_graded] == ["ex-masks-draw",
                                                                        "ex-masks-dropconnect"]
    stubs = [c.source for c in student.cells if "stub" in c.metadata.get("tags", [])]
    assert len(stubs) == 2 and all("raise NotImplementedError" in s for s in stubs)
    checks = [c.source for c in student.cells if "check" in c.metadata.get("tags", [])]
    assert "report(check_draw_mask(draw_mask))" in checks[0]
    assert all(c.outputs == [] for c in student.cells if c.cell_type == "code")


def test_the_student_edition_is_in_the_release_format():
    """One handout: the cells of nbgrader's release (same grade_ids, in the same order,
    the header aside), one notebook metadata key, and prose without MyST."""
    nb = nbformat.read(MASKS, as_version=4)
    student, _ = student_notebook(nb, "01_masks", "book/01_masks.ipynb")
    source, _ = source_notebook(MASKS)
    assert _gids(student)[0] is None and _gids(student)[1:] == _gids(source)[1:]
    assert all(_gids(student)[1:])
    assert set(student.metadata) - {"kernelspec", "language_info"} == {META_KEY} \
        == {"courseware"}
    meta = student.metadata[META_KEY]
    assert {k: meta[k] for k in ("chapter", "exercises")} == source.metadata[META_KEY]
    assert meta["edition"] == "student" and meta["source"] == "book/01_masks.ipynb"
    assert "dropout_lib" not in student.metadata
    markdown = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    for myst in ("{exercise}", "{cite", "{numref}", "{glue", "<!--num", ":label:", ")=\n"):
        assert myst not in markdown, myst
    by_gid = {g: c for g, c in zip(_gids(student), student.cells)}
    for gid, cell in zip(_gids(source), source.cells):
        meta = cell.metadata["nbgrader"]
        if meta["locked"] and gid != "header":     # the grader restores these
            assert by_gid[gid].source == cell.source, gid


def test_cli_writes_every_toc_chapter_and_counts_exercises(tmp_path, capsys):
    assert main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for path in toc_notebooks():
        assert (tmp_path / path.name).exists()
        n = len(parse_chapter(nbformat.read(path, as_version=4), path.stem).exercises)
        assert re.search(rf"{re.escape(path.name)}: {n} exercises", out), out
    assert "01_masks.ipynb: 5 exercises (1 predict-then-run, 1 derive, 1 explore, " \
           "2 implement), 2 auto-graded" in out


# --------------------------------------------------------------------------- no leaks


@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda p: p.stem)
def test_student_edition_contains_no_solution(path, tmp_path):
    """Grep the written student edition for every distinctive solution line."""
    nb = nbformat.read(path, as_version=4)
    chapter = parse_chapter(nb, path.stem)
    lines = solution_lines(nb, chapter)
    if chapter.exercises:
        assert lines, "a chapter with exercises must have solution lines to search for"
    student, _ = student_notebook(nb, path.stem)
    target = tmp_path / path.name
    nbformat.write(student, target)
    raw = target.read_text(encoding="utf-8")
    texts = raw + "\n" + "\n".join(c.source for c in student.cells)
    hits = [(label, line) for label, line in lines if line in texts]
    assert hits == [], f"solution lines in the student edition: {hits[:5]}"
    assert find_leaks(nb, target) == []


def test_solution_lines_cover_code_and_markdown():
    nb = nbformat.read(MASKS, as_version=4)
    lines = {line: label for label, line in solution_lines(nb)}
    code_line = next(line for line in lines if "rng.random(" in line and "return" in line)
    assert lines[code_line] == "ex-masks-draw"
    assert any(label == "ex-masks-var" and "M_i^2 = M_i" in line for line, label in lines.items())
    # the stub's def line and docstring are in the student edition on purpose: not a leak
    assert "def draw_mask(shape, p_drop, rng, shared_axes=()):" not in lines
    assert not any(line.startswith(":class:") or "{solution-end}" in line for line in lines)


def test_a_leaky_notebook_is_caught(tmp_path):
    nb = nbformat.read(MASKS, as_version=4)
    student, _ = student_notebook(nb, "01_masks")
    solution_code = next(c.source for c in nb.cells
                         if "solution" in c.metadata.get("tags", []) and c.cell_type == "code"
                         and "def dropconnect" in c.source)
    leaked_line = solution_code.strip().splitlines()[-1].strip()
    # 1. a solution line pasted into a kept markdown cell
    leaky = nbformat.from_dict(student)
    leaky.cells[5].source += f"\n\nHint: `{leaked_line}`"
    assert (("ex-masks-dropconnect", leaked_line) in find_leaks(nb, leaky))
    # 2. a solution left in an output, found in the written file too
    leaky = nbformat.from_dict(student)
    code = next(c for c in leaky.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text=solution_code)]
    path = tmp_path / "leaky.ipynb"
    nbformat.write(leaky, path)
    assert {label for label, _ in find_leaks(nb, path)} == {"ex-masks-dropconnect"}
    # 3. solution markdown kept by a broken tool
    leaky = nbformat.from_dict(student)
    leaky.cells.append(next(c for c in nb.cells if c.cell_type == "markdown"
                            and "solution" in c.metadata.get("tags", [])
                            and "ex-masks-var" in c.source))
    assert any(label == "ex-masks-var" for label, _ in find_leaks(nb, leaky))


def test_edition_refuses_to_write_a_leak(monkeypatch):
    """If removal ever missed a cell, student_notebook would refuse rather than leak."""
    import courseware.student as student_mod

    real = student_mod.parse_chapter

    def forgetful(nb, name="notebook", *, strict=True):
        chapter = real(nb, name, strict=strict)
        chapter.roles = [None if role == "solution" and "uniform_draws" in cell.source else role
                         for cell, role in zip(nb.cells, chapter.roles)]
        return chapter

    monkeypatch.setattr(student_mod, "parse_chapter", forgetful)
    with pytest.raises(EditionError, match="would contain solution lines"):
        student_mod.student_notebook(make_chapter(exercise_cells("ex-a")), "ch")


# --------------------------------------------------------------------------- refusals


def _refused(nb, tmp_path, capsys, *fragments):
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    assert main(["--out", str(tmp_path / "out"), str(path)]) == 1
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, err
    assert not (tmp_path / "out" / "bad.ipynb").exists()


def test_refuses_solution_start_without_end(tmp_path, capsys):
    cells = exercise_cells("ex-a")
    cells = [c for c in cells if "{solution-end}" not in c.source]
    _refused(make_chapter(cells), tmp_path, capsys,
             "the {solution-start} of ex-a has no {solution-end}")


def test_refuses_solution_end_without_start(tmp_path, capsys):
    cells = exercise_cells("ex-a", solution=None)
    cells = [c for c in cells if "{solution-start}" not in c.source]
    _refused(make_chapter(cells), tmp_path, capsys, "{solution-end} without a {solution-start}")


def test_refuses_nested_solutions(tmp_path, capsys):
    a, b = exercise_cells("ex-a"), exercise_cells("ex-b")
    a = [c for c in a if "{solution-end}" not in c.source]
    _refused(make_chapter(a, b), tmp_path, capsys, "{solution-start} ex-b opens before")


def test_refuses_check_without_exercise(tmp_path, capsys):
    nb = make_chapter(exercise_cells("ex-a"))
    nb.cells.insert(1, _code(DRAW_MASK_CHECK, ["check"]))
    _refused(nb, tmp_path, capsys, "cell 1: a check cell with no exercise before it")


def test_refuses_stub_without_exercise_and_stub_that_solves(tmp_path, capsys):
    nb = make_chapter(exercise_cells("ex-a", stub=DRAW_MASK_SOLUTION))
    nb.cells.insert(1, _code(DRAW_MASK_STUB, ["stub"]))
    _refused(nb, tmp_path, capsys, "a stub cell with no exercise before it",
             "the stub of ex-a does not raise NotImplementedError")


def test_refuses_untagged_solution_cells_and_unknown_labels(tmp_path, capsys):
    cells = exercise_cells("ex-a")
    cells[3].metadata["tags"] = []                 # the solution's code cell, untagged
    cells[2].source = cells[2].source.replace("ex-a", "ex-typo")
    stray = _code("print('a stray solution')", ["solution"])
    _refused(make_chapter(cells + [stray]), tmp_path, capsys,
             "inside the solution of ex-typo but is not tagged 'solution'",
             "names ex-typo, which is not the label of an exercise",
             "tagged 'solution' but not between")


def test_lenient_parse_keeps_going():
    cells = [c for c in exercise_cells("ex-a") if "{solution-end}" not in c.source]
    chapter = parse_chapter(make_chapter(cells), "ch", strict=False)
    assert chapter.problems and chapter.exercises[0].label == "ex-a"


# --------------------------------------------------------------------------- the guide


def test_instructor_guide_lists_every_exercise():
    guide = GUIDE.read_text(encoding="utf-8")
    missing = []
    for path in toc_notebooks():
        for ex in parse_chapter(nbformat.read(path, as_version=4), path.stem).exercises:
            if ex.label not in guide:
                missing.append(f"{path.name}: {ex.label}")
    assert missing == [], f"book/instructors.md does not mention: {missing}"


def test_instructor_guide_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    assert "file: book/instructors" in toc

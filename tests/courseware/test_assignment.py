"""The nbgrader converter and the grader's pieces that need no kernel (fast)."""
from __future__ import annotations

import copy
import re

import nbformat
import numpy as np
import pytest

from courseware.assignment import glue_values, source_notebook
from courseware.autograde import rebuild
from courseware.book import ROOT
from courseware.checks.masks import check_draw_mask, check_dropconnect
from courseware.judge import JUDGES, hidden_inputs

CHAPTER = ROOT / "book" / "01_masks.ipynb"


@pytest.fixture(scope="module")
def source():
    return source_notebook(CHAPTER)


def _by_id(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def test_every_cell_is_locked_except_answers(source):
    nb, _ = source
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        assert meta["locked"] or meta["solution"], cell.source[:80]


def test_points_and_grade_ids(source):
    nb, rubric = source
    cells = _by_id(nb)
    book = nbformat.read(CHAPTER, as_version=4)
    labels = {c.metadata["exercise"]["label"]: c.metadata["exercise"]
              for c in book.cells if "exercise" in c.metadata}
    for label, ex in labels.items():
        cell = cells[label]
        assert cell.metadata["nbgrader"]["grade"] is True
        assert cell.metadata["nbgrader"]["points"] == ex["difficulty"]
        if ex["type"] == "implement":
            assert cell.metadata["nbgrader"]["locked"] and cell.cell_type == "code"
            assert f"{label}-code" in cells
        else:
            assert cell.cell_type == "markdown" and cell.metadata["nbgrader"]["solution"]
            assert f"## {label}" in rubric
    assert nb.metadata["courseware"]["chapter"] == "01_masks"


def test_solution_region_keeps_the_stub_signature(source):
    nb, _ = source
    code = _by_id(nb)["ex-masks-draw-code"].source
    assert code.startswith("def draw_mask(shape, p_drop, rng, shared_axes=()):\n"
                           "    \"\"\"Boolean keep-mask")
    assert "    ### BEGIN SOLUTION\n    mask_shape = " in code
    assert "    return rng.random(mask_shape) < 1 - p_drop\n    ### END SOLUTION" in code


def test_every_check_cell_imports_what_it_uses(source):
    nb, _ = source
    for label in ("ex-masks-draw", "ex-masks-dropconnect"):
        src = _by_id(nb)[label].source
        assert "from courseware.checks import report" in src


def test_glue_placeholders_are_replaced(source):
    nb, _ = source
    values = glue_values(nbformat.read(CHAPTER, as_version=4))
    assert values["masks_p_drop"] == "0.3"
    text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not re.search(r"\{glue|<!--/?num", text)            # bare values, no markers
    book = nbformat.read(CHAPTER, as_version=4)
    assert "<!--num:masks_p_drop-->0.3<!--/num-->" in "".join(c.source for c in book.cells)
    assert values["masks_p_drop"] in text


def test_no_solution_text_outside_solution_regions(source):
    nb, _ = source
    for cell in nb.cells:
        if cell.metadata["nbgrader"]["solution"]:
            continue
        assert "rng.random(mask_shape) < 1 - p_drop" not in cell.source or "BEGIN" in cell.source


def _release_like(nb):
    rel = copy.deepcopy(nb)
    for cell in rel.cells:
        if cell.metadata["nbgrader"]["solution"]:
            cell.source = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION",
                                 "raise NotImplementedError", cell.source, flags=re.DOTALL)
    return rel


def test_rebuild_restores_locked_cells_and_finds_missing_exercises(source):
    rel = _release_like(source[0])
    sub = copy.deepcopy(rel)
    cells = _by_id(sub)
    cells["ex-masks-draw"].source = "print('✓ draw_mask: 5 of 5 checks passed')"
    first_code = next(c for c in sub.cells if c.cell_type == "code")
    first_code.source = "import courseware.checks.masks as m"
    sub.cells = [c for c in sub.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") != "ex-masks-dropconnect-code"]
    sub.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nb, found, notes = rebuild(rel, sub)
    rebuilt = _by_id(nb)
    assert rebuilt["ex-masks-draw"].source == _by_id(rel)["ex-masks-draw"].source
    assert "ex-masks-draw-code" in found and "ex-masks-dropconnect-code" not in found
    assert any("restored" in n for n in notes)
    assert any(c.source == "x = 1" for c in nb.cells)


def test_rebuild_ignores_cells_that_claim_a_grade_id_twice(source):
    rel = _release_like(source[0])
    sub = copy.deepcopy(rel)
    fake = copy.deepcopy(_by_id(sub)["ex-masks-draw"])
    fake.source = "print('pass')"
    sub.cells.insert(0, fake)     # a second cell with the check's grade_id, first
    nb, _, _ = rebuild(rel, sub)
    assert all("nbgrader" not in c.metadata for c in nb.cells if c.source == "print('pass')")


@pytest.mark.parametrize("label", sorted(JUDGES["01_masks"]))
def test_hidden_inputs_differ_from_the_visible_ones(label):
    a, b = hidden_inputs("01_masks", label), hidden_inputs("01_masks", label)
    visible = _visible(JUDGES["01_masks"][label].check)
    assert a["seeds"] != visible["seeds"] and a["seeds"] != b["seeds"]
    for key in ("shape", "p_drop", "p_drops", "dims", "cases"):
        if key in a:
            assert repr(a[key]) != repr(visible[key]), key
    for p in a.get("p_drops", ()):
        assert p not in visible["p_drops"] and abs(p - 0.5) > 0.05
    for (shape, axes), (v_shape, v_axes) in zip(a.get("cases", ()), visible.get("cases", ())):
        assert (shape, axes) != (v_shape, v_axes) and len(shape) == len(v_shape)


def _visible(check) -> dict:
    import inspect
    return {k: p.default for k, p in inspect.signature(check).parameters.items()
            if p.kind is p.KEYWORD_ONLY}


@pytest.mark.parametrize("chapter, label", [(ch, label) for ch in sorted(JUDGES)
                                            if ch != "01_masks" for label in JUDGES[ch]])
def test_hidden_inputs_of_chapters_2_to_4_are_fresh_and_not_the_visible_ones(chapter, label):
    """Two draws differ, and no hidden input equals the visible check's."""
    from courseware.checks import inverted

    a, b = hidden_inputs(chapter, label), hidden_inputs(chapter, label)
    if label == "ex-inv-implement":
        pairs = [(a["forward"], b["forward"], _visible(inverted.check_dropout_forward)),
                 (a["backward"], b["backward"], _visible(inverted.check_dropout_backward))]
    else:
        pairs = [(a, b, _visible(JUDGES[chapter][label].check))]
    for one, two, visible in pairs:
        assert one["seeds"] != two["seeds"] if "seeds" in one else True
        for key in ("seeds", "shape", "wide", "p_drops", "p_drop", "cases", "X"):
            if key in one and key in visible and visible[key] is not None:
                assert repr(one[key]) != repr(visible[key]), key
    if "model" in a:
        assert a["model"][0] != (64, 24, 16, 10)
        assert not np.array_equal(a["model"][1]["W1"], b["model"][1]["W1"])
    if "net" in a:
        assert not np.array_equal(a["net"].params["W1"], b["net"].params["W1"])


@pytest.mark.parametrize("seed", range(5))
def test_reference_solutions_pass_on_hidden_inputs(seed):
    def draw_mask(shape, p_drop, rng, shared_axes=()):
        mask_shape = tuple(1 if i in shared_axes else s for i, s in enumerate(shape))
        return rng.random(mask_shape) < 1 - p_drop

    def dropconnect(x, W, p_drop, rng):
        masks = rng.random((x.shape[0], *W.shape)) < 1 - p_drop
        return np.einsum("ni,nij->nj", x, W * masks) / (1 - p_drop)

    assert check_draw_mask(draw_mask, **hidden_inputs("01_masks", "ex-masks-draw")).passed
    assert check_dropconnect(dropconnect,
                             **hidden_inputs("01_masks", "ex-masks-dropconnect")).passed


def test_a_weight_mask_shared_by_the_batch_fails_hidden_inputs_with_its_message():
    def shared(x, W, p_drop, rng):
        return x @ (W * (rng.random(W.shape) < 1 - p_drop)) / (1 - p_drop)

    for _ in range(3):
        result = check_dropconnect(shared, **hidden_inputs("01_masks", "ex-masks-dropconnect"))
        assert not result.passed
        assert result.messages[0].startswith("every example got the same weight mask")


def test_a_function_that_only_knows_the_visible_shapes_fails_hidden_inputs():
    visible = {((200, 500), ()), ((40, 30, 50), (1,)), ((64, 12, 5, 7), (2, 3)),
               ((50, 40), ()), ((7,), ())}

    def draw_mask(shape, p_drop, rng, shared_axes=()):
        mask_shape = tuple(1 if i in shared_axes else s for i, s in enumerate(shape))
        if (tuple(shape), tuple(shared_axes)) in visible and p_drop in (0.0, 0.2, 0.5,
                                                                         0.7, 1.0):
            return rng.random(mask_shape) < 1 - p_drop
        return np.ones(mask_shape, dtype=bool)

    assert check_draw_mask(draw_mask).passed
    assert not check_draw_mask(draw_mask, **hidden_inputs("01_masks", "ex-masks-draw")).passed


@pytest.mark.parametrize("chapter", ["01_masks", "02_inverted_dropout", "03_co_adaptation",
                                     "04_ensembles"])
def test_every_check_cell_of_every_chapter_imports_what_it_uses(chapter):
    nb, _ = source_notebook(ROOT / "book" / f"{chapter}.ipynb")
    checks = [c for c in nb.cells if c.metadata["nbgrader"]["grade"] and c.cell_type == "code"]
    assert checks
    for cell in checks:
        for name in set(re.findall(r"\b(report|check_\w+)\(", cell.source)):
            assert re.search(rf"^from courseware\.checks(\.\w+)? import .*\b{name}\b",
                             cell.source, re.MULTILINE), (chapter, name, cell.source)


def test_the_student_edition_has_no_glue_placeholders():
    from courseware.student import student_notebook

    book = nbformat.read(CHAPTER, as_version=4)
    out, _ = student_notebook(book, "01_masks")
    text = "".join(c.source for c in out.cells if c.cell_type == "markdown")
    assert "{glue" not in text
    assert "0.3" in text


def test_the_release_prose_is_plain_markdown(source):
    nb, _ = source
    text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not re.search(r"\{(exercise|admonition|term|ref|numref|cite:p|cite:t)\}", text)
    assert not re.search(r"^\([\w:-]+\)=", text, re.MULTILINE)
    assert "**Exercise: Draw a mask, shared along some axes** (`ex-masks-draw`)" in text
    assert "> **How many random bits does a mask need?**" in text


def test_plain_rewrites_each_construct():
    from courseware.readable import plain

    src = ("(sec-x)=\n```{exercise} Title\n:label: ex-a\n\nDo {term}`dropout <drop>` "
           "as in {cite:p}`a2014, b2015` and {cite:t}`c2016`; see {ref}`the section <sec-x>`.\n```\n")
    assert plain(src) == ("**Exercise: Title** (`ex-a`)\n\nDo dropout as in (a2014, b2015) "
                          "and c2016; see the section.\n")

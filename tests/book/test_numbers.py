"""Numbers in the prose as values (courseware/lab_view.py), and folds JupyterLab keeps.

Every chapter's numbers are checked against its glue outputs by the hygiene test
(tests/nb_hygiene.py: check_numbers_written, check_folds_collapsed, applied to every
notebook in test_notebooks.py). These tests check the checks and the writer against
myst-nb and myst-parser themselves, and the built site's pages.
"""
from __future__ import annotations

import copy
import html
import json
import logging
import re
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import nb_hygiene
from courseware import lab_view
from toc import ROOT, toc_notebooks

NOTEBOOKS = toc_notebooks()


def _glue_output(name: str, value, display: bool = False):
    """The output myst_nb.glue(name, value, display) stores."""
    prefix = "" if display else lab_view.GLUE_PREFIX
    return new_output("display_data", data={prefix + "text/plain": repr(value)},
                      metadata={"scrapbook": {"name": name, "mime_prefix": prefix}})


def _notebook(*markdown: str, **glued) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [new_code_cell("glue(...)", execution_count=1,
                              outputs=[_glue_output(k, v) for k, v in glued.items()])]
    nb.cells += [new_markdown_cell(m) for m in markdown]
    return nb


# --- one implementation, the same as myst-nb's ---------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glue_outputs_are_read_as_myst_nb_reads_them(path):
    from myst_nb.ext.glue import extract_glue_data

    nb = nbformat.read(path, as_version=4)
    theirs = extract_glue_data(copy.deepcopy(nb), [0] * len(nb.cells),
                               logging.getLogger("test"))
    mine = lab_view.glued(nb)
    assert mine, f"{path.name} glues nothing"
    assert mine == {k: v["data"]["text/plain"] for k, v in theirs.items()}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_values_are_formatted_as_glue_text_formats_them(path):
    """Every glued value of the book, with no spec and with specs of every kind, is what
    myst-nb's {glue:text} role would print (or fails where it fails)."""
    from myst_nb.core.variables import format_plain_text

    values = lab_view.glued(nbformat.read(path, as_version=4))
    for text in list(values.values()) + ["0.123456", "'0.5'", "12", "'a b'", "[1, 2]"]:
        for spec in ("s", "", ".2f", ".1%", "d", ">8s", ",.0f", "e"):
            try:
                want = format_plain_text(text, spec)
            except Exception as err:  # noqa: BLE001
                with pytest.raises(type(err)):
                    lab_view.format_text(text, spec)
                continue
            assert lab_view.format_text(text, spec) == want, (text, spec)


def test_display_true_glue_and_format_specs():
    nb = new_notebook()
    nb.cells = [new_code_cell("", execution_count=1, outputs=[
        _glue_output("a", 0.12345, display=True), _glue_output("b", "x*y")])]
    values = lab_view.glued(nb)
    assert lab_view.glue_value(values, "a") == "0.12345"
    assert lab_view.glue_value(values, "a:.2f") == "0.12"
    assert lab_view.glue_value(values, "a:.1%") == "12.3%"
    assert lab_view.glue_value(values, "b") == r"x\*y"          # escaped for Markdown
    with pytest.raises(KeyError):
        lab_view.glue_value(values, "c")


# --- the writer (make execute) ---------------------------------------------------------

def test_roles_become_marked_values_and_stale_values_are_rewritten():
    values = lab_view.glued(_notebook(p=0.5, acc="0.91 ± 0.01"))
    src = "With {glue:text}`p` and {glue:text}`p:.2f`, accuracy <!--num:acc-->0.88<!--/num-->."
    text, problems = lab_view.write_numbers(src, values)
    assert problems == []
    assert text == ("With <!--num:p-->0.5<!--/num--> and <!--num:p:.2f-->0.50<!--/num-->, "
                    "accuracy <!--num:acc-->0.91 ± 0.01<!--/num-->.")
    assert lab_view.write_numbers(text, values) == (text, [])        # idempotent


def test_an_unknown_name_is_left_and_reported():
    text, problems = lab_view.write_numbers("a {glue:text}`nope` b", {"p": "0.5"}, "cell 3")
    assert text == "a {glue:text}`nope` b"
    assert problems and "cell 3" in problems[0] and "'nope'" in problems[0]


def test_a_number_never_starts_a_line():
    """A line that starts with ``<!--`` is an HTML block in CommonMark: the writer moves the
    previous line's last word down (or joins the lines), and refuses a paragraph that
    starts with a number."""
    values = {"p": "'0.5'", "q": "'0.7'"}
    src = "keep a share of\n{glue:text}`p` of the units and\n  {glue:text}`q` *here*."
    text, problems = lab_view.write_numbers(src, values)
    assert problems == []
    assert text == ("keep a share\nof <!--num:p-->0.5<!--/num--> of the units\n"
                    "  and <!--num:q-->0.7<!--/num--> *here*.")
    assert text.split() == lab_view.write_numbers(src.replace("\n", " "), values)[0].split()
    joined, _ = lab_view.write_numbers("`code`\n{glue:text}`p` x", values)
    assert joined == "`code` <!--num:p-->0.5<!--/num--> x"
    for block_start in ("{glue:text}`p` starts it.", "Intro.\n\n{glue:text}`p` starts it.",
                        "- {glue:text}`p` starts an item."):
        _, problems = lab_view.write_numbers(block_start, values)
        assert problems and "starts a paragraph" in problems[0], block_start


def test_myst_parser_hides_the_markers_and_why_no_line_starts_with_one():
    """The site's renderer (myst-parser): a marked value inside a line is the value, its
    comments raw HTML the browser hides; at the start of a line the whole line would be
    raw HTML, its Markdown unparsed."""
    from docutils.core import publish_string
    from myst_parser.parsers.docutils_ import Parser

    def render(src: str) -> str:
        out = publish_string(src, parser=Parser(), writer_name="html5", settings_overrides={
            "output_encoding": "unicode", "myst_enable_extensions": ["dollarmath"]})
        return re.search(r"<main>(.*)</main>", out, re.S).group(1)

    inline = render("A share of <!--num:p-->0.5<!--/num--> *is* kept.\n")
    assert "<p>A share of <!--num:p-->0.5<!--/num--> <em>is</em> kept.</p>" in inline
    assert "*is*" in render("A share\n<!--num:p-->0.5<!--/num--> *is* kept.\n")


def test_execute_no_execute_converts_a_notebook_without_running_it(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import execute_notebooks

    nb = _notebook("A share of {glue:text}`p`.", p=0.5)
    nb.cells[0].metadata["tags"] = ["remove-input"]
    nb.cells[0].metadata["jupyter"] = {"outputs_hidden": True}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert execute_notebooks.main(["--no-execute", str(path)]) == 0
    out = nbformat.read(path, as_version=4)
    assert out.cells[1].source == "A share of <!--num:p-->0.5<!--/num-->."
    assert out.cells[0].metadata["jupyter"] == {"source_hidden": True}
    assert out.cells[0].outputs == nb.cells[0].outputs and out.cells[0].execution_count == 1
    out.cells[1].source += " And {glue:text}`q`."
    nbformat.write(out, path)
    assert execute_notebooks.main(["--no-execute", str(path)]) == 1    # q: no such glue


# --- the checks (hygiene) --------------------------------------------------------------

def test_the_check_catches_each_kind_of_wrong_number():
    good = _notebook("A share of <!--num:p-->0.5<!--/num-->.", p=0.5)
    assert nb_hygiene.check_numbers_written(good) == []
    cases = {
        "reads '0.4'": "A share of <!--num:p-->0.4<!--/num-->.",
        "names no glue": "A share of <!--num:q-->0.5<!--/num-->.",
        "left in the prose": "A share of {glue:text}`p`.",
        "without its": "A share of <!--num:p-->0.5.",
        "starts a line": "A share\n<!--num:p-->0.5<!--/num--> of them.",
        "starts a paragraph": "<!--num:p-->0.5<!--/num--> of them.",
    }
    for what, source in cases.items():
        bad = copy.deepcopy(good)
        bad.cells[1].source = source
        problems = nb_hygiene.check_numbers_written(bad)
        assert any(what in p for p in problems), (what, problems)


def test_a_marked_value_is_one_word_as_its_role_was():
    role = _notebook("We found {glue:text}`ci` here.", ci="-0.027 [-0.049, -0.006]")
    text, _ = lab_view.write_numbers(role.cells[1].source, lab_view.glued(role))
    marked = copy.deepcopy(role)
    marked.cells[1].source = text
    assert nb_hygiene.prose_words(role) == nb_hygiene.prose_words(marked) == 4


def test_folds_follow_the_tags():
    nb = new_notebook()
    tags = [["hide-input"], ["remove-input"], ["hide-output"], ["remove-cell"], ["hide-cell"],
            [], ["remove-cell"]]
    nb.cells = [new_code_cell("x", metadata={"tags": t}) for t in tags[:-1]]
    nb.cells.append(new_markdown_cell("aside", metadata={"tags": tags[-1]}))
    nb.cells[5].metadata["jupyter"] = {"source_hidden": True, "foo": 1}
    assert len(nb_hygiene.check_folds_collapsed(nb)) == 7
    assert lab_view.collapse(nb) == 7 and lab_view.collapse(nb) == 0
    assert nb_hygiene.check_folds_collapsed(nb) == []
    both = {"source_hidden": True, "outputs_hidden": True}
    assert [c.metadata.get("jupyter") for c in nb.cells] == [
        {"source_hidden": True}, {"source_hidden": True}, {"outputs_hidden": True}, both,
        both, {"foo": 1}, {"source_hidden": True}]
    nb.cells[0].metadata["jupyter"] = {}
    assert nb_hygiene.check_folds_collapsed(nb)


# --- the site ---------------------------------------------------------------------------

def test_the_site_shows_every_number_as_its_value():
    """Each chapter page carries every marked value of its notebook, between the markers
    (which a browser hides), and no glue role."""
    site = ROOT / "_build" / "html"
    if not (site / "index.html").is_file():
        pytest.fail("No built site at _build/html: run `make site` first", pytrace=False)
    for path in NOTEBOOKS:
        page = site / path.relative_to(ROOT).with_suffix(".html")
        text = page.read_text(encoding="utf-8")
        nb = nbformat.read(path, as_version=4)
        shown = {m.group(1): m.group(2)
                 for m in re.finditer(r"<!--num:(.*?)-->(.*?)<!--/num-->", text, re.S)}
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for m in lab_view.MARKED.finditer(cell.source):
                value = re.sub(r"\\(.)", r"\1", m.group("value"))     # Markdown escapes
                assert m.group("ref") in shown, f"{page.name}: {m.group('ref')} not on the page"
                assert html.unescape(re.sub(r"<[^>]+>", "", shown[m.group("ref")])) == value
        assert "{glue" not in re.sub(r"<(script|pre)\b.*?</\1>", "", text, flags=re.S), page.name

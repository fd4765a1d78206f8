"""Notebook hygiene: what nbval cannot see by itself.

nbval passes cells that were never executed, and does not compare images, so these tests
check that every chapter is fully executed in order, error-free, portable and described.
"""
from __future__ import annotations

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

import nb_hygiene
from toc import ROOT, resolve, toc_entries, toc_notebooks

NOTEBOOKS = toc_notebooks()


def test_every_toc_entry_exists():
    missing = [e for e in toc_entries() if resolve(e) is None]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_book_has_notebooks():
    assert NOTEBOOKS, "_toc.yml lists no notebook, so nbval would check nothing"


def test_every_notebook_in_book_is_in_the_toc():
    in_book = {p.resolve() for p in (ROOT / "book").rglob("*.ipynb")
               if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts}
    assert in_book == {p.resolve() for p in NOTEBOOKS}, (
        "every notebook in book/ must be listed in _toc.yml (and vice versa)"
    )


@pytest.mark.parametrize("check", nb_hygiene.ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_hygiene(path, check):
    nb = nbformat.read(path, as_version=4)
    problems = check(nb)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


# --- The checks themselves must catch what they claim to catch. -------------------------

def _good_notebook():
    nb = new_notebook(metadata={"kernelspec": {"name": "dropout-book", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [
        new_code_cell("x = 1", execution_count=1),
        new_code_cell("print(x)", execution_count=2,
                      outputs=[new_output("stream", name="stdout", text="1\n")]),
    ]
    return nb


def test_good_notebook_passes_every_check():
    nb = _good_notebook()
    for check in nb_hygiene.ALL_CHECKS:
        assert check(nb) == [], check.__name__


def test_unexecuted_cell_is_caught():
    nb = _good_notebook()
    nb.cells[1].execution_count = None
    assert any("execution_count is None" in p for p in nb_hygiene.check_executed_in_order(nb))


def test_out_of_order_cells_are_caught():
    nb = _good_notebook()
    nb.cells[0].execution_count, nb.cells[1].execution_count = 2, 1
    assert len(nb_hygiene.check_executed_in_order(nb)) == 2


def test_notebook_without_outputs_is_caught():
    nb = _good_notebook()
    nb.cells[1].outputs = []
    assert any("no code cell has a stored output" in p
               for p in nb_hygiene.check_executed_in_order(nb))


def test_error_output_is_caught_unless_tagged():
    nb = _good_notebook()
    nb.cells[1].outputs = [new_output("error", ename="ValueError", evalue="boom", traceback=[])]
    assert any("ValueError" in p for p in nb_hygiene.check_no_errors(nb))
    nb.cells[1].metadata["tags"] = ["raises-exception"]
    assert nb_hygiene.check_no_errors(nb) == []


def test_stderr_output_is_caught():
    nb = _good_notebook()
    nb.cells[1].outputs = [new_output("stream", name="stderr", text="UserWarning: careful\n")]
    assert any("stderr" in p for p in nb_hygiene.check_no_errors(nb))


@pytest.mark.parametrize("text, what", [
    ("<Figure at 0x7f3a2b4c5d60>", "memory address"),
    ("saved to /home/alice/dropout/fig.png", "local path"),
    ("  File \"/work/main/x.py\"", "local path"),
    ("training took 3.2 s", "timing"),
    ("CPU times: user 1 s", "timing"),
    ("np.float64(0.5)", "NumPy scalar"),
])
def test_unportable_output_is_caught(text, what):
    nb = _good_notebook()
    nb.cells[1].outputs = [new_output("execute_result", execution_count=2,
                                      data={"text/plain": text})]
    problems = nb_hygiene.check_outputs_portable(nb)
    assert any(what in p for p in problems), problems


def test_figure_without_alt_text_is_caught():
    nb = _good_notebook()
    nb.cells[1].outputs = [new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                            "text/plain": "<Figure size 640x480 with 1 Axes>"})]
    problems = nb_hygiene.check_figures_described(nb)
    assert any("alt text" in p for p in problems) and any("caption" in p for p in problems)
    described = copy.deepcopy(nb)
    described.cells[1].metadata["mystnb"] = {
        "image": {"alt": "A line plot of the kept fraction against n"},
        "figure": {"caption": "The kept fraction approaches 1 - p_drop.", "name": "fig-x"},
    }
    assert nb_hygiene.check_figures_described(described) == []
    named = copy.deepcopy(described)
    named.cells[1].metadata["mystnb"]["image"]["alt"] = "output 3 0 figure.png"
    assert any("alt text" in p for p in nb_hygiene.check_figures_described(named))


def test_timestamps_in_metadata_are_caught():
    nb = _good_notebook()
    nb.cells[0].metadata["execution"] = {"iopub.execute_input": "2026-11-21T04:00:00Z"}
    assert nb_hygiene.check_clean_metadata(nb)


# --- Reading length: the foundations at about d2l's length (issue 24), the studies'
# chapters one sentence per finding with the tables in their full-results sections
# (issue 23). -------------------------------------------------------------------------

#: Words of unfolded prose allowed per chapter (asides and solutions sit in folded blocks).
WORD_LIMITS = {"quickstart.ipynb": 900, "01_masks.ipynb": 2200,
               "02_inverted_dropout.ipynb": 2200, "03_co_adaptation.ipynb": 3000,
               "04_ensembles.ipynb": 3000, "05_noise_and_modern.ipynb": 3000,
               "06_sequences_and_practice.ipynb": 3000}


@pytest.mark.parametrize("name", sorted(WORD_LIMITS))
def test_chapter_prose_length(name):
    nb = nbformat.read(ROOT / "book" / name, as_version=4)
    words = nb_hygiene.prose_words(nb)
    assert words <= WORD_LIMITS[name], (
        f"{name} has {words} words of unfolded prose; the limit is {WORD_LIMITS[name]}"
    )


def _md(*sources):
    nb = _good_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(s) for s in sources]
    return nb


def test_prose_words_counts_prose_and_leaves_out_folded_parts():
    assert nb_hygiene.prose_words(_md("One two three.")) == 3
    assert nb_hygiene.prose_words(_md("A $x^2 + y$ b `code here` c.")) == 5
    assert nb_hygiene.prose_words(_md("Intro.\n```python\nx = 1 + 2\n```\nEnd.")) == 2
    folded = "Shown.\n```{admonition} Aside\n:class: dropdown\nHidden words here.\n```"
    assert nb_hygiene.prose_words(_md(folded)) == 1
    shown = "```{note}\n:label: n\nShown words.\n```"
    assert nb_hygiene.prose_words(_md(shown)) == 2
    sol = ["Before.", "```{solution-start} ex\n```", "Answer words.",
           "```{solution-end}\n```", "After."]
    assert nb_hygiene.prose_words(_md(*sol)) == 2
    assert nb_hygiene.prose_words(_md("$$\na = b\n$$\nOne.")) == 1
    assert nb_hygiene.prose_words(_md("Shown.\n```{dropdown} Aside\nHidden here.\n```")) == 1


def test_long_code_line_is_caught():
    nb = _good_notebook()
    nb.cells[0].source = "x = " + "1 + " * 30 + "1"
    assert any("characters" in p for p in nb_hygiene.check_line_length(nb))
    nb.cells[0].metadata["tags"] = ["remove-input"]
    assert not nb_hygiene.check_line_length(nb)


def test_wide_printed_line_is_caught():
    nb = _good_notebook()
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="x" * 80 + "\n")]
    assert any("printed" in p for p in nb_hygiene.check_line_length(nb))


def test_visible_glue_and_unfolded_plot_are_caught():
    nb = _good_notebook()
    nb.cells[0].source = 'glue("a", "1", display=False)'
    nb.cells[1].outputs = [new_output("display_data", data={"image/png": "iVBOR"})]
    problems = nb_hygiene.check_scaffolding_hidden(nb)
    assert any("glue()" in p for p in problems) and any("hide-input" in p for p in problems)
    nb.cells[0].metadata["tags"] = ["remove-input"]
    nb.cells[1].metadata["tags"] = ["hide-input"]
    assert not nb_hygiene.check_scaffolding_hidden(nb)

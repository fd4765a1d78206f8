"""Self-tests: the judges in site_checks.py and the request recorder must be able to fail."""
from __future__ import annotations

import json
import re
import time

import pytest

from site_checks import (
    alt_text_problem,
    external_urls,
    focus_ring_visible,
    intended_width,
    is_local_url,
    notebook_problem,
    png_dpi,
    raw_math_fragments,
)

ORIGIN = "http://127.0.0.1:8123"


@pytest.mark.parametrize("alt", [
    None,
    "",
    "   ",
    "output_3_0.png",
    "../_images/9dcb789f47a9942f9876442102ba3d0541bc37b8cfd4c56f964f2980b7a8c5ca.png",
    "_images/9dcb789f47a9942f9876442102ba3d05",
    "figure.svg",
    "Histogram.JPG",
    "plot",
    "Kept units",
    "images/mask-grid",
])
def test_alt_judge_rejects(alt):
    assert alt_text_problem(alt) is not None


@pytest.mark.parametrize("alt", [
    "A histogram of kept counts against the binomial pmf",
    "A 4 by 8 grid of squares, one row per example and one column per unit; blue squares "
    "are kept units and dark grey squares are dropped units, about half of each.",
    "Training loss per epoch",
])
def test_alt_judge_accepts(alt):
    assert alt_text_problem(alt) is None


@pytest.mark.parametrize("url", [
    f"{ORIGIN}/book/intro.html",
    f"{ORIGIN}/_static/mathjax/tex-chtml.js?v=1",
    "data:image/png;base64,iVBORw0KGgo=",
    "blob:http://127.0.0.1:8123/0b6a4b0e",
])
def test_offline_check_allows_local(url):
    assert is_local_url(url, ORIGIN)


@pytest.mark.parametrize("url", [
    "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js",
    "https://fonts.googleapis.com/css?family=Lato",
    "http://127.0.0.1:9999/book/intro.html",      # another port
    "http://localhost:8123/book/intro.html",      # another host name
    "https://127.0.0.1:8123/book/intro.html",     # another scheme
    "http://127.0.0.1:8123.evil.example/x.js",
])
def test_offline_check_flags_external(url):
    assert not is_local_url(url, ORIGIN)
    assert external_urls([f"{ORIGIN}/a.css", url, url], ORIGIN) == [url]


@pytest.mark.parametrize("text", [
    "the keep probability $q = 1 - p$ is",
    r"inverted dropout \(a' = m a / q\) divides",
    r"\[ \mathbb{E}[a'] = a \]",
    "$$\nE = mc^2\n$$",
    r"\begin{align} a &= b \end{align}",
])
def test_raw_math_is_flagged(text):
    assert raw_math_fragments(text)


@pytest.mark.parametrize("text", [
    "Dropout switches off a random subset of a network's units.",
    "It costs $5 and $10 to print.",
    "",
])
def test_plain_text_is_not_raw_math(text):
    assert raw_math_fragments(text) == []


def test_notebook_judge():
    good = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "markdown", "id": "a1", "metadata": {}, "source": "# Hi"}]}
    assert notebook_problem(json.dumps(good)) is None
    assert notebook_problem("<html>404 Not Found</html>") is not None
    assert notebook_problem("{}") is not None
    assert notebook_problem(json.dumps({**good, "cells": []})) is not None


# The recorder and the request guard, end to end in the browser: a page on the local
# server that asks for an external image and a missing file must show both problems.

def test_recorder_flags_external_and_missing(new_page, server):
    page, rec = new_page()
    page.goto(server.url("_static/basic.css"))  # any local URL that does not redirect
    rec.reset()
    start = time.perf_counter()
    page.set_content('<img src="https://example.com/cat.png" alt="an external cat picture">'
                     '<img src="/no-such-file.png" alt="a missing local picture">',
                     wait_until="load")
    assert rec.settle(page), "requests still in flight"
    elapsed = time.perf_counter() - start
    assert rec.external == ["https://example.com/cat.png"]
    assert any("example.com" in f for f in rec.failed), rec.failed  # blocked, not fetched
    assert any(r.startswith("404 ") and r.endswith("/no-such-file.png")
               for r in rec.bad_responses), rec.bad_responses
    assert any(r.endswith("/no-such-file.png") for r in rec.server_errors), rec.server_errors
    assert elapsed < 5, f"blocking the external request took {elapsed:.1f} s"


# ---------------------------------------------------------------------------------------
# Figure widths


def _png(dpi: float | None) -> bytes:
    import struct
    import zlib

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 2, 8, 2, 0, 0, 0))
    phys = b"" if dpi is None else chunk(
        b"pHYs", struct.pack(">IIB", round(dpi / 0.0254), round(dpi / 0.0254), 1))
    return head + phys + chunk(b"IDAT", zlib.compress(b"\0" * 26)) + chunk(b"IEND", b"")


def test_png_dpi_reads_phys():
    assert abs(png_dpi(_png(200)) - 200) < 0.1
    assert abs(png_dpi(_png(100)) - 100) < 0.1
    assert png_dpi(_png(None)) is None
    assert png_dpi(b"GIF89a...") is None


@pytest.mark.parametrize("attr, natural, dpi, want", [
    ("680", 1360, 200, 680),      # retina output with myst-nb's width attribute
    ("680px", 1360, None, 680),
    (None, 1360, 200, 680),       # 2x image without an attribute
    (None, 941, 100, 941),        # 1x image: its pixels are its CSS width
    (None, 941, None, 941),
    ("80%", 1360, 200, 680),      # a percentage says nothing about the drawing
])
def test_intended_width(attr, natural, dpi, want):
    assert intended_width(attr, natural, dpi) == want


@pytest.mark.parametrize("style, width, colour, shadow, visible", [
    ("solid", "3px", "rgb(232, 146, 23)", "none", True),
    ("auto", "1px", "rgb(16, 16, 16)", "none", True),
    ("none", "0px", "rgb(0, 0, 0)", "none", False),
    ("solid", "3px", "rgba(0, 0, 0, 0)", "none", False),     # a transparent outline
    ("solid", "0px", "rgb(0, 0, 0)", "none", False),
    ("none", "0px", "rgb(0, 0, 0)", "rgba(0, 0, 0, 0) 0px 0px 0px 0px", False),
    ("none", "0px", "rgb(0, 0, 0)", "rgb(13, 110, 253) 0px 0px 0px 4px", True),
    ("none", "0px", "rgb(0, 0, 0)", "rgba(13, 110, 253, 0.25) 0px 0px 0px 4px", True),
    ("none", "0px", "rgb(0, 0, 0)",
     "rgba(0, 0, 0, 0) 0px 0px 0px 0px, rgb(1, 2, 3) 0px 0px 2px 0px", True),
])
def test_focus_ring_visible(style, width, colour, shadow, visible):
    assert focus_ring_visible(style, width, colour, shadow) is visible


# ---------------------------------------------------------------------------------------
# The page rewrites behind the phone tests (_ext/notebook_figures.py, narrow_tables.py,
# page_head.py): pure functions on HTML text.

def _ext(name: str):
    import importlib
    import sys
    from pathlib import Path

    folder = str(Path(__file__).resolve().parents[2] / "_ext")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def test_figures_get_size_attributes_lazy_loading_and_a_link():
    sized_figures = _ext("notebook_figures").sized_figures
    body = ('<a class="reference internal image-reference" href="a.png">'
            '<img alt="first" class="nb-output" src="a.png" style="width: 691px; height: 351px;" />'
            '</a><p><img alt="second" class="nb-output nb-colour-map" src="b.png" '
            'style="width: 690px; height: 651px;" /></p><img alt="logo" src="logo.png" />')
    out, n = sized_figures(body)
    assert n == 2
    assert 'width="691" height="351" decoding="async" />' in out  # the first: not lazy
    assert out.count('href="a.png"') == 1                          # its link is kept
    assert ('<a class="nb-output-link" href="b.png"><img alt="second" class="nb-output '
            'nb-colour-map" src="b.png" width="690" height="651" decoding="async" '
            'loading="lazy" /></a>') in out
    assert "style=" not in out and '<img alt="logo" src="logo.png" />' in out


def test_prose_tables_get_labels_and_number_tables_do_not():
    reflow_table = _ext("narrow_tables").reflow_table
    prose = ('<table class="table"><thead><tr><th><p>claim</p></th><th>verdict</th>'
             '<th>evidence</th></tr></thead><tbody><tr><td><p>' + "A long claim. " * 6
             + '</p></td><td>holds</td><td><a href="x">x</a></td></tr></tbody></table>')
    out = reflow_table(prose)
    assert out.startswith('<table class="reflow-table table">')
    assert re.findall(r'data-label="([^"]*)"', out) == ["claim", "verdict", "evidence"]
    numbers = prose.replace("A long claim. " * 6, "0.93")
    assert reflow_table(numbers) == numbers
    two_columns = re.sub(r"<th>evidence</th>|<td><a href=\"x\">x</a></td>", "", prose)
    assert reflow_table(two_columns) == two_columns


def test_one_viewport_and_a_single_title():
    head = _ext("page_head")
    page = ('<html><head><meta name="viewport" content="a" />\n<meta name="viewport" '
            'content="b" /><title>Book &#8212; Book</title>\n  <meta name="viewport" '
            'content="c"/>\n</head><body><meta name="viewport" content="in body"></body>')
    out, removed = head.one_viewport(page)
    assert removed == 2 and out.count('name="viewport"') == 2 and 'content="a"' in out
    assert head.single_title(out).count("<title>Book</title>") == 1
    other = "<title>Claims &#8212; Book</title>"
    assert head.single_title(other) == other


# ---------------------------------------------------------------------------------------
# The page rewrites behind the phone-reader referee's fixes (issue 26)

def _pieces(html_text: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", p) for p in html_text.split("<wbr>")]


@pytest.mark.parametrize("word, pieces", [
    ("nbgrader/release/01_masks/01_masks.ipynb",
     ["nbgrader/", "release/", "01_masks/", "01_masks", ".ipynb"]),
    ("--names", ["--names"]),
    ("--unsafe-no-sandbox", ["--unsafe-no-sandbox"]),
    ("num_examples", ["num_examples"]),
    ("X.shape[0]", ["X.shape[0]"]),              # no one-letter piece
    ("0.5", ["0.5"]),                            # a number is not a name
    ("a==b", ["a==b"]),
    ("CH=01_masks", ["CH=", "01_masks"]),
    ("tests/courseware/test_autograde_chapters.py",
     ["tests/", "courseware/", "test_", "autograde_", "chapters", ".py"]),
    ("nbgrader/records/&lt;chapter&gt;/&lt;student_id&gt;.json",
     ["nbgrader/", "records/", "&lt;chapter&gt;/", "&lt;student_id&gt;", ".json"]),
])
def test_inline_code_pieces(word, pieces):
    assert _pieces(_ext("inline_code").split_word(word)) == pieces


def test_inline_code_keeps_its_text_and_leaves_blocks_alone():
    wrap = _ext("inline_code").wrap_inline_code
    body = ('<p><code class="docutils literal notranslate"><span class="pre">make</span> '
            '<span class="pre">check</span> <span class="pre">NB=book/x.ipynb</span></code>'
            '</p><pre><span class="pre">a/b/c.py</span></pre>')
    out = wrap(body)
    assert re.sub(r"<[^>]+>", "", out) == re.sub(r"<[^>]+>", "", body)
    assert out.count("<wbr>") == 2 and out.endswith('<pre><span class="pre">a/b/c.py</span></pre>')


def test_only_tables_written_in_markdown_reflow():
    reflow_tables = _ext("narrow_tables").reflow_tables
    table = ('<table class="table"><thead><tr><th>model</th><th>over splits</th>'
             '<th>per split</th></tr></thead><tbody><tr><td>a</td><td>x</td><td>'
             + "-0.036 [-0.066, -0.011]; " * 3 + '</td></tr></tbody></table>')
    written = f'<div class="pst-scrollable-table-container">\n{table}</div>'
    printed = f'<div class="output text_html"><div class="book-table">{table}</div></div>'
    assert "reflow-table" in reflow_tables(written)
    assert reflow_tables(printed) == printed


def test_intervals_are_kept_whole():
    keep = _ext("narrow_tables").keep_intervals
    body = ('<td>+0.005 [-0.013, +0.029]  -0.04% [-0.33%, +0.25%]</td>'
            '<p>so <!--num:x-->-0.027 [-0.049, -0.006]<!--/num--> and [0, 1] 2 [3, 4]</p>'
            '<td><span class="math notranslate">\\([0, 1]\\)</span> '
            '<!--num:y-->1 [2, 3]<!--/num--></td>')
    out = keep(body)
    assert re.findall(r'<span class="nb-interval">([^<]*)</span>', out) == [
        "+0.005 [-0.013, +0.029]", "-0.04% [-0.33%, +0.25%]", "-0.027 [-0.049, -0.006]",
        "1 [2, 3]"]
    assert "\\([0, 1]\\)</span>" in out  # math is TeX: left alone
    assert "and [0, 1] 2 [3, 4]" in out  # prose outside a table or a glued value: alone
    assert keep(out) == out


def test_reference_labels_are_author_year():
    from pybtex.database import Entry, Person

    labels = _ext("author_year_labels").author_year_labels

    def entry(year, *names):
        return Entry("article", fields={"year": year, "title": "T"},
                     persons={"author": [Person(n) for n in names]})
    entries = [entry("1996", "Leo Breiman"), entry("2013", "Pierre Baldi", "Peter Sadowski"),
               entry("2014", "N. Srivastava", "G. Hinton", "A. Krizhevsky"),
               entry("2016", "Yarin Gal", "Zoubin Ghahramani"),
               entry("2016", "Yarin Gal", "Zoubin Ghahramani"),
               entry("2021", "Le Folgoc, Loic", "V. Baltatzis", "S. Desai")]
    assert labels(entries) == ["Breiman, 1996", "Baldi and Sadowski, 2013",
                               "Srivastava et al., 2014", "Gal and Ghahramani, 2016a",
                               "Gal and Ghahramani, 2016b", "Le Folgoc et al., 2021"]


def test_colour_maps_are_found_from_the_code_that_drew_them(tmp_path):
    import base64
    import hashlib
    import json

    figures = _ext("notebook_figures")
    heat, line = b"\x89PNG heat map", b"\x89PNG line plot"
    cells = [{"cell_type": "code", "source": "ax.imshow(w, cmap='viridis')\n",
              "outputs": [{"data": {"image/png": base64.b64encode(heat).decode()}}]},
             {"cell_type": "code", "source": ["ax.plot(x, y)\n", "ax.set_xlabel('p')"],
              "outputs": [{"data": {"image/png": base64.b64encode(line).decode()}}]}]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    drawn = figures.drawn_by(path)
    assert figures.is_colour_map(drawn[hashlib.sha256(heat).hexdigest()])
    assert not figures.is_colour_map(drawn[hashlib.sha256(line).hexdigest()])
    for code in ["fig.colorbar(im)", "plt.pcolormesh(a)", "show(x, cmap = 'gray')"]:
        assert figures.is_colour_map(code), code
    assert not figures.is_colour_map("ax.bar(x, h, color=OKABE_ITO[0])")


def test_book_pdf_link_only_when_the_file_exists(tmp_path):
    from types import SimpleNamespace

    book_pdf = _ext("book_pdf")
    app = SimpleNamespace(outdir=str(tmp_path))

    def menu():
        return {"body": '<p><a href="../dropout-book.pdf">The whole book</a> and '
                        '<a href="x.html">x</a></p>',
                "pathto": lambda name, resource: f"../{name}",
                "header_buttons": [{"label": "download-buttons", "buttons": [
                    {"label": "download-source-button"},
                    {"label": "download-pdf-button", "text": ".pdf"}]}]}
    absent = menu()
    book_pdf._download_menu(app, "book/intro", None, absent, None)
    labels = [b["label"] for b in absent["header_buttons"][0]["buttons"]]
    assert labels == ["download-source-button", "download-pdf-button"]
    assert "dropout-book.pdf" not in absent["body"] and "The whole book</span>" in absent["body"]
    assert 'href="x.html"' in absent["body"]
    (tmp_path / "dropout-book.pdf").write_bytes(b"%PDF")
    present = menu()
    book_pdf._download_menu(app, "book/intro", None, present, None)
    buttons = present["header_buttons"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["download-source-button",
                                             "download-book-pdf-button", "download-pdf-button"]
    assert buttons[1]["url"] == "../dropout-book.pdf" and buttons[2]["text"] == "print page"
    assert present["body"] == menu()["body"]
    # Every page is written again when the file appeared or went since the last build.
    env = SimpleNamespace(found_docs={"a", "b"})
    assert book_pdf._rewrite_when_changed(app, env) == ["a", "b"]
    assert book_pdf._rewrite_when_changed(app, env) == []
    (tmp_path / "dropout-book.pdf").unlink()
    assert book_pdf._rewrite_when_changed(app, env) == ["a", "b"]

"""Prose tables that reflow on a phone: each row a block, each cell labelled by its column.

A table of sentences (the claims page: claim | verdict | evidence; the instructor guide's
tables) cannot be read at 390 px: three columns of 110 px make the page many screens tall
or clip the last column. Such a table gets class `reflow-table`, and each of its body cells
`data-label` with its column's header; book/_static/reader.css shows, below 576 px, each
row as a block and each cell under its label. Tables of numbers keep their columns (a
reader compares them down a column) and scroll sideways inside their own box.

A table is a prose table when it was written in the page's Markdown (the theme wraps such
a table in div.pst-scrollable-table-container), has a header row, at least three columns,
and a body cell of at least `narrow_tables_min_chars` characters (40: a phrase, such as
the notation page's "number of examples in a batch"; with 60 its "Networks" table kept
three columns at 390 px, and its code names broke letter by letter). A table that a
notebook printed (an HTML output, such as chapter 4's "Full results") is a grid of
numbers however long its cells: on a phone it was shown as one card per row, 24,000 px
of chapter 4, with its labels and values alternating alignment. It keeps its columns.

Intervals ("-0.005 [-0.035, +0.025]") in any table cell, and glued values written into
the prose (<!--num:name-->value<!--/num-->) that are intervals, are wrapped in
span.nb-interval, which reader.css keeps on one line: chapter 4's results wrapped as
"-0.005 [-0.035," / "+0.025]".
"""
from __future__ import annotations

import html
import re

CLASS = "reflow-table"
_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S)
_TAG = re.compile(r"<[^>]+>")


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub("", fragment))).strip()


def _cells(row: str, tag: str) -> list[re.Match]:
    return list(re.finditer(rf"<{tag}\b[^>]*>(.*?)</{tag}>", row, re.S))


def reflow_table(table: str, min_chars: int = 40) -> str:
    """`table` (one <table>…</table>) marked for reflowing, or unchanged."""
    if table.count("<table") != 1:
        return table  # a nested table: leave it alone
    head = re.search(r"<thead\b.*?</thead>", table, re.S)
    body = re.search(r"<tbody\b.*?</tbody>", table, re.S)
    if not head or not body:
        return table
    head_rows = re.findall(r"<tr\b.*?</tr>", head.group(0), re.S)
    if len(head_rows) != 1:
        return table
    labels = [_text(c.group(1)) for c in _cells(head_rows[0], "th")]
    if len(labels) < 3 or any(re.search(r"\b(?:col|row)span=", r) for r in (table,)):
        return table
    rows = re.findall(r"<tr\b.*?</tr>", body.group(0), re.S)
    if not any(len(_text(c.group(1))) >= min_chars for r in rows for c in _cells(r, "td")):
        return table

    def label_row(row: re.Match) -> str:
        cells = iter(labels)

        def label(td: re.Match) -> str:
            name = next(cells, "")
            return f'{td.group(1)} data-label="{html.escape(name, quote=True)}"'
        return re.sub(r"(<td\b[^>]*?)(?=>)", label, row.group(0))

    new_body = re.sub(r"<tr\b.*?</tr>", label_row, body.group(0), flags=re.S)
    table = table.replace(body.group(0), new_body)
    opening = re.match(r"<table\b[^>]*>", table).group(0)
    if 'class="' in opening:
        new_open = opening.replace('class="', f'class="{CLASS} ', 1)
    else:
        new_open = opening[:-1] + f' class="{CLASS}">'
    return new_open + table[len(opening):]


_WRITTEN = re.compile(r'<div class="pst-scrollable-table-container">\s*$')


def reflow_tables(body: str, min_chars: int = 40) -> str:
    """`body` with its prose tables marked; only tables written in the page's Markdown
    (inside the theme's div.pst-scrollable-table-container) can be prose tables."""
    def one(m: re.Match) -> str:
        if not _WRITTEN.search(body[max(0, m.start() - 200):m.start()]):
            return m.group(0)
        return reflow_table(m.group(0), min_chars)

    return _TABLE.sub(one, body)


_NUMBER = r"[+\-\u2212]?\d[\d,]*(?:\.\d+)?%?"
INTERVAL = re.compile(rf"(?<![\w.\[])(?:{_NUMBER}\s)?\[{_NUMBER},\s{_NUMBER}\]")
_CELL = re.compile(r"(<td\b[^>]*>)(.*?)(</td>)", re.S)
_GLUED = re.compile(r"(<!--num:[^>]*?-->)(.*?)(<!--/num-->)", re.S)
# Inside these, text is left alone: math is TeX for MathJax, code is code, and an
# interval already kept whole.
_SKIP = re.compile(r'<span class="(?:math[^"]*|nb-interval)">.*?</span>|<code\b.*?</code>'
                   r'|<pre\b.*?</pre>', re.S)


def _intervals_in(fragment: str) -> str:
    """`fragment` (HTML) with each interval in its text wrapped in span.nb-interval."""
    out, pos = [], 0
    for skip in list(_SKIP.finditer(fragment)) + [None]:
        end = skip.start() if skip else len(fragment)
        part = fragment[pos:end]
        # text between tags only
        pieces = re.split(r"(<[^>]*>)", part)
        for i in range(0, len(pieces), 2):
            pieces[i] = INTERVAL.sub(
                lambda m: f'<span class="nb-interval">{m.group(0)}</span>', pieces[i])
        out.append("".join(pieces))
        if skip:
            out.append(skip.group(0))
            pos = skip.end()
    return "".join(out)


def keep_intervals(body: str) -> str:
    """`body` with the intervals in its table cells and glued values kept whole."""
    body = _CELL.sub(lambda m: m.group(1) + _intervals_in(m.group(2)) + m.group(3), body)
    return _GLUED.sub(lambda m: m.group(1) + _intervals_in(m.group(2)) + m.group(3), body)


def _reflow(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and "<table" in body:
        body = reflow_tables(body, app.config.narrow_tables_min_chars)
    if body and ("<td" in body or "<!--num:" in body):
        body = keep_intervals(body)
    if body:
        context["body"] = body


def setup(app):
    app.add_config_value("narrow_tables_min_chars", 40, "html")
    app.connect("html-page-context", _reflow)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

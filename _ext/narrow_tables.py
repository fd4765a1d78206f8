"""Prose tables that reflow on a phone: each row a block, each cell labelled by its column.

A table of sentences (the claims page: claim | verdict | evidence; the instructor guide's
tables) cannot be read at 390 px: three columns of 110 px make the page many screens tall
or clip the last column. Such a table gets class `reflow-table`, and each of its body cells
`data-label` with its column's header; book/_static/reader.css shows, below 576 px, each
row as a block and each cell under its label. Tables of numbers keep their columns (a
reader compares them down a column) and scroll sideways inside their own box.

A table is a prose table when it has a header row, at least three columns, and a body cell
of at least `narrow_tables_min_chars` characters (60).
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


def reflow_table(table: str, min_chars: int = 60) -> str:
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


def reflow_tables(body: str, min_chars: int = 60) -> str:
    return _TABLE.sub(lambda m: reflow_table(m.group(0), min_chars), body)


def _reflow(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and "<table" in body:
        context["body"] = reflow_tables(body, app.config.narrow_tables_min_chars)


def setup(app):
    app.add_config_value("narrow_tables_min_chars", 60, "html")
    app.connect("html-page-context", _reflow)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

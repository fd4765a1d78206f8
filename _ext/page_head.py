"""A tidy <head> on every written page: one viewport tag, and no "X — X" title.

1. Three `<meta name="viewport">` tags per page: Sphinx's basic layout writes one, Jupyter
   Book's `html_meta` adds one and pydata-sphinx-theme's layout a third. The first is kept.
2. A page whose title is the book's title (the intro) got the title twice,
   "Dropout, from masks to ensembles — Dropout, from masks to ensembles": Sphinx's layout
   appends " — <book title>" to every page title. There the suffix is dropped.

Both are in the templates, not in the page context, so the written files are edited when
the build finishes (as _ext/page_weight.py does).
"""
from __future__ import annotations

import re
from pathlib import Path

VIEWPORT = re.compile(r'[ \t]*<meta\s+name="viewport"[^>]*>[ \t]*\n?')
TITLE = re.compile(r"<title>(.*?) &#8212; (.*?)</title>", re.S)


def one_viewport(page: str) -> tuple[str, int]:
    """`page` with only its first viewport meta tag, and how many were removed."""
    seen = 0

    def keep_first(m: re.Match) -> str:
        nonlocal seen
        seen += 1
        return m.group(0) if seen == 1 else ""
    head_end = page.find("</head>")
    if head_end < 0:
        return page, 0
    head = VIEWPORT.sub(keep_first, page[:head_end])
    return head + page[head_end:], max(0, seen - 1)


def single_title(page: str) -> str:
    """`<title>X &#8212; X</title>` becomes `<title>X</title>`."""
    return TITLE.sub(lambda m: f"<title>{m.group(1)}</title>" if m.group(1) == m.group(2)
                     else m.group(0), page, count=1)


def _tidy(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    for path in sorted(Path(app.outdir).rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        new, _ = one_viewport(text)
        new = single_title(new)
        if new != text:
            path.write_text(new, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _tidy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Inline code that wraps at sensible points on a narrow screen.

Sphinx writes `inline code` as <code><span class="pre">word</span> <span class="pre">word
</span></code>, and basic.css keeps each span.pre on one line. A long word of code (a path
such as nbgrader/release/01_masks/01_masks.ipynb) then either sticks out of a phone's
390 px column or, with `overflow-wrap: anywhere`, breaks at any letter: the instructor
guide showed "-" / "-names", "01_masks.ipy" / "nb" and "<student_id>.j" / "son", and the
notation page's narrow column "num_" / "examp" / "les".

Here each word of inline code is cut into pieces at the points where a reader expects a
line break in code, with a <wbr> (a line-break opportunity that copies as nothing)
between the pieces, each piece still a nowrap span.pre:

- after a slash:            nbgrader/ | release/ | 01_masks
- before a dot that follows a name (not in a number such as 0.5):  01_masks | .ipynb
- after "=", "(" or ",":    CH= | 01_masks,  default_rng( | rng
- in a piece still longer than `inline_code_long` characters (20), also after "_" or "-"
  between letters or digits: test_ | autograde_ | chapters

No piece is a single character. A flag (--names, --unsafe-no-sandbox) or a short name is
never split. The text a reader
copies, the search index and the page's text are unchanged. book/_static/reader.css keeps
inline code inside tables that keep their columns on one line.
"""
from __future__ import annotations

import html
import re

_CODE = re.compile(r"(<code\b[^>]*>)(.*?)(</code>)", re.S)
_PRE_SPAN = re.compile(r'<span class="pre">([^<]*)</span>')


def _is_name(ch: str) -> bool:
    return ch.isalpha() or ch in "_)]>"


def break_points(word: str, long: int = 20) -> list[int]:
    """Positions in `word` (the text of one span.pre) where a line may break."""
    points = set()
    n = len(word)
    for i, ch in enumerate(word):
        nxt = word[i + 1] if i + 1 < n else ""
        prev = word[i - 1] if i else ""
        if not nxt:
            break
        if ch == "/" and nxt != "/":
            points.add(i + 1)
        elif ch == "." and i > 0 and _is_name(prev) and nxt.isalnum():
            points.add(i)
        elif ch == "=" and prev not in "=!<>" and nxt not in "= ":
            points.add(i + 1)
        elif ch in "(," and nxt not in " )":
            points.add(i + 1)
    # A piece that is still long may also break after "_" or "-" inside a name.
    cuts = [0, *sorted(p for p in points if 0 < p < n), n]
    for a, b in zip(cuts, cuts[1:]):
        if b - a <= long:
            continue
        for i in range(a + 1, b - 1):
            if word[i] in "_-" and word[i - 1].isalnum() and word[i + 1].isalnum():
                points.add(i + 1)
    # No piece of a single character ("m" | ".check_draw_mask").
    kept, last = [], 0
    for p in sorted(p for p in points if 0 < p < n):
        if p - last >= 2 and n - p >= 2:
            kept.append(p)
            last = p
    return kept


def split_word(escaped: str, long: int = 20) -> str:
    """One span.pre's (HTML-escaped) text as nowrap pieces joined by <wbr>."""
    word = html.unescape(escaped)
    points = break_points(word, long)
    if not points:
        return f'<span class="pre">{escaped}</span>'
    pieces = [word[a:b] for a, b in zip([0, *points], [*points, len(word)])]
    return "<wbr>".join(f'<span class="pre">{html.escape(p, quote=False)}</span>'
                        for p in pieces)


def wrap_inline_code(body: str, long: int = 20) -> str:
    def code(m: re.Match) -> str:
        inner = _PRE_SPAN.sub(lambda s: split_word(s.group(1), long), m.group(2))
        return m.group(1) + inner + m.group(3)

    return _CODE.sub(code, body)


def _page(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and 'class="pre"' in body:
        context["body"] = wrap_inline_code(body, app.config.inline_code_long)


def setup(app):
    app.add_config_value("inline_code_long", 20, "html")
    app.connect("html-page-context", _page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

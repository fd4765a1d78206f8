"""A `<meta name="description">` on every page, for search engines and link previews.

The text is, in this order of preference:
1. the page's front-matter field `description`: in a Markdown page its YAML front
   matter, in a notebook a top-level key of the notebook's metadata (myst-nb passes
   those on as front matter);
2. the page's first paragraph of prose (not inside an admonition, exercise, sidebar,
   table, figure, footnote or list), with math written as its TeX source made plain;
3. for pages without a document (search, index, the 404 page): `meta_description_default`.

It is cut at a word boundary to at most `meta_description_length` characters (160).
A page whose front matter already sets `html_meta: description:` keeps that one.
"""
from __future__ import annotations

import html
import re

from docutils import nodes

SKIP = (nodes.Admonition, nodes.sidebar, nodes.table, nodes.figure, nodes.footnote,
        nodes.citation, nodes.list_item, nodes.definition_list, nodes.caption,
        nodes.topic, nodes.block_quote, nodes.field_list, nodes.container)
_TEX_WRAPPERS = re.compile(r"\\(?:text|mathrm|mathbf|mathit|operatorname|boldsymbol)\{([^{}]*)\}")
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+)")


def plain_tex(tex: str) -> str:
    """TeX as a reader would spell it in plain text: `p_{\\text{drop}}` -> `p_drop`."""
    text = _TEX_WRAPPERS.sub(r"\1", tex)
    text = _TEX_COMMAND.sub(r"\1", text).replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text.replace("\\", "")).strip()


def _is_skipped(node) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, SKIP) or "exercise" in parent.get("classes", []) \
                or "solution" in parent.get("classes", []):
            return True
        parent = parent.parent
    return False


def paragraph_text(paragraph) -> str:
    parts = []
    for node in paragraph.findall(lambda n: isinstance(n, (nodes.Text, nodes.math))):
        if isinstance(node, nodes.math):
            parts.append(plain_tex(node.astext()))
        elif not isinstance(node.parent, nodes.math):
            parts.append(str(node))
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def first_paragraph(doctree) -> str:
    for para in doctree.findall(nodes.paragraph):
        if _is_skipped(para):
            continue
        text = paragraph_text(para)
        if len(text.split()) >= 5:
            return text
    return ""


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters (with an ellipsis)."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-(")
    return cut + "…"


def _describe(app, pagename, templatename, context, doctree):
    metatags = context.get("metatags", "")
    if re.search(r'<meta\s+[^>]*name="description"', metatags):
        return
    meta = app.env.metadata.get(pagename, {}) if doctree is not None else {}
    text = str(meta.get("description") or "").strip()
    if not text and doctree is not None:
        text = first_paragraph(doctree)
    if not text:
        text = app.config.meta_description_default
    if not text:
        return
    text = shorten(text, app.config.meta_description_length)
    tag = f'<meta name="description" content="{html.escape(text, quote=True)}" />\n'
    context["metatags"] = metatags + tag


def setup(app):
    app.add_config_value("meta_description_default", "", "html")
    app.add_config_value("meta_description_length", 160, "html")
    app.connect("html-page-context", _describe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

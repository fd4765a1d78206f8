"""The whole book as one PDF in every page's download menu, once it has been printed.

`make pdf` (tools/make_pdf.py) prints the built site into dropout-book.pdf at the site's
root. The theme's download menu offers the page's .ipynb and source, and ".pdf", which is
only the browser's print of that one page. This extension adds "book .pdf", a link to the
whole book's PDF, and renames the print entry "print page" (it still calls
window.print(); book/_static/print.css makes the printed page wrap its code).

The link is there only when the PDF is: a plain site build (`make site`, or
`jupyter-book build .`) writes no PDF, and its menu's "book .pdf" led to a 404. Without
the file, the menu has no such entry and a link to it in a page's text (the intro's "On
paper" paragraph) is written as plain text. Whether the PDF exists is checked at each
build; when that changed since the last build, every page is written again, so `make
pdf`, which builds the site again after printing, gives every page the link.
"""
from __future__ import annotations

import re
from pathlib import Path

PDF_NAME = "dropout-book.pdf"  # tools/make_pdf.py writes it there (PDF_NAME)

_LINK = re.compile(r'<a\b[^>]*\bhref="[^"]*' + re.escape(PDF_NAME) + r'"[^>]*>(.*?)</a>', re.S)


def pdf_present(app) -> bool:
    return (Path(app.outdir) / PDF_NAME).is_file()


def unlink_pdf(body: str) -> str:
    """`body` with every link to the book's PDF turned into its text."""
    return _LINK.sub(r'<span class="book-pdf-unlinked">\1</span>', body)


def _download_menu(app, pagename, templatename, context, doctree):
    present = pdf_present(app)
    if not present and context.get("body") and PDF_NAME in context["body"]:
        context["body"] = unlink_pdf(context["body"])
    for group in context.get("header_buttons") or []:
        if group.get("label") != "download-buttons":
            continue
        buttons = group["buttons"]
        for button in buttons:
            if button.get("label") == "download-pdf-button":
                button["text"] = "print page"
                button["tooltip"] = "Print this page (or save it as a PDF)"
        if not present:
            continue
        at = next((i for i, b in enumerate(buttons)
                   if b.get("label") == "download-pdf-button"), len(buttons))
        buttons.insert(at, {
            "type": "link",
            "url": context["pathto"](PDF_NAME, 1),
            "text": "book .pdf",
            "tooltip": "The whole book as one PDF",
            "icon": "fas fa-book",
            "label": "download-book-pdf-button",
        })


def _rewrite_when_changed(app, env):
    """Every page, when the PDF appeared or went since the last build."""
    present = pdf_present(app)
    if getattr(env, "book_pdf_present", None) == present:
        return []
    env.book_pdf_present = present
    return sorted(env.found_docs)


def setup(app):
    # After the theme's add_header_buttons (priority 501) has built the menu.
    app.connect("html-page-context", _download_menu, priority=600)
    app.connect("env-get-updated", _rewrite_when_changed)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""The whole book as one PDF in every page's download menu.

`make pdf` (tools/make_pdf.py) prints the built site into dropout-book.pdf at the site's
root. The theme's download menu offers the page's .ipynb and source, and ".pdf", which is
only the browser's print of that one page. This extension adds "book .pdf", a link to the
whole book's PDF, and renames the print entry "print page" (it still calls
window.print(); book/_static/print.css makes the printed page wrap its code).
"""
from __future__ import annotations

PDF_NAME = "dropout-book.pdf"  # tools/make_pdf.py writes it there (PDF_NAME)


def _download_menu(app, pagename, templatename, context, doctree):
    for group in context.get("header_buttons") or []:
        if group.get("label") != "download-buttons":
            continue
        buttons = group["buttons"]
        for button in buttons:
            if button.get("label") == "download-pdf-button":
                button["text"] = "print page"
                button["tooltip"] = "Print this page (or save it as a PDF)"
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


def setup(app):
    # After the theme's add_header_buttons (priority 501) has built the menu.
    app.connect("html-page-context", _download_menu, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Lighter pages, with the same icons, theme and offline math.

1. Font Awesome twice. pydata-sphinx-theme loads Font Awesome's stylesheet with its
   web fonts *and* its JavaScript (all.min.js, 1.49 MB), which redraws every icon as an
   inline SVG. The stylesheet alone draws the same icons, so the script tag is removed
   from every page. The theme also preloads all three icon fonts (solid, regular and
   brands, 300 kB) whether or not a page uses them; without the preload the browser
   fetches only the fonts of the icons it draws.
2. MathJax. sphinx-mathjax-offline serves the combined component tex-chtml.js
   (1.16 MB), which bundles the right-click math menu (about 0.4 MB). The pages load
   MathJax's startup component instead, which fetches only the parts listed in
   `mathjax3_config.loader.load` in _config.yml (TeX input, CommonHTML output, and the
   hidden MathML that screen readers read), all from _static/mathjax.
   Set `page_weight_mathjax_path` to "" to keep sphinx-mathjax-offline's choice.

Both edits are checked: if the theme's markup changes so that the script tag or the
preloads are no longer found, the build warns (and `-W` makes that an error), so a
theme upgrade cannot silently bring the 1.49 MB back.
"""
from __future__ import annotations

import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

FONTAWESOME_JS = re.compile(
    r'[ \t]*<script src="[^"]*_static/vendor/fontawesome/[^"/]+/js/all\.min\.js[^"]*">'
    r"</script>[ \t]*\n?")
FONT_PRELOAD = re.compile(
    r'[ \t]*<link rel="preload" as="font" type="font/woff2" crossorigin '
    r'href="[^"]*_static/vendor/fontawesome/[^"]+\.woff2" />[ \t]*\n?')
FONTAWESOME_CSS = re.compile(r'<link href="[^"]*_static/vendor/fontawesome/[^"/]+/css/all\.min\.css')


def lighten(page: str) -> tuple[str, int, int]:
    """`page` without Font Awesome's script and font preloads, and how many of each went.

    Only a page that also links Font Awesome's stylesheet loses the script, so its
    icons still draw."""
    if not FONTAWESOME_CSS.search(page):
        return page, 0, 0
    page, scripts = FONTAWESOME_JS.subn("", page)
    page, preloads = FONT_PRELOAD.subn("", page)
    return page, scripts, preloads


def _set_mathjax_path(app, config):
    path = config.page_weight_mathjax_path
    if path:
        config.mathjax_path = path


def _lighten_pages(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    pages = sorted(outdir.rglob("*.html"))
    missed = []
    for path in pages:
        text = path.read_text(encoding="utf-8")
        if "all.min.js" not in text and "fontawesome" not in text:
            continue  # e.g. a page the theme did not render, or already lightened
        new, scripts, preloads = lighten(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
        elif "all.min.js" in text:
            missed.append(path.relative_to(outdir).as_posix())
    if missed:
        logger.warning(
            "page_weight: Font Awesome's all.min.js is still linked from %d page(s) "
            "(%s): has the theme's markup changed?", len(missed), ", ".join(missed[:3]))


def setup(app):
    app.add_config_value("page_weight_mathjax_path", "mathjax/startup.js", "html")
    # After sphinx-mathjax-offline, which sets mathjax_path in its setup().
    app.connect("config-inited", _set_mathjax_path, priority=900)
    app.connect("build-finished", _lighten_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

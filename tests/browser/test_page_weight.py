"""What a page makes the browser fetch (issue 17, point 10), from the shared visits.

Before the trim every chapter weighed 4.2-4.5 MB, 60% of it boilerplate: Font Awesome's
all.min.js (1.49 MB) beside the stylesheet that draws the same icons, MathJax's
combined tex-chtml.js (1.16 MB, with its menu), and all three icon fonts preloaded.
_ext/page_weight.py removes the first and the preloads and loads MathJax's parts; these
tests keep them out. `python tests/browser/page_weight.py` prints every page's weight.
"""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

from page_weight import kind
from site_checks import listing
from toc import toc_entries

PAGES = toc_entries()
# HTML, CSS, JavaScript and fonts of one page, on disk (images apart). Measured after
# the trim: 0.9-2.1 MB, most of it the theme, MathJax and the page's own HTML.
MAX_BOILERPLATE = 2_600_000
NOT_WANTED = {
    "vendor/fontawesome/": "js/all.min.js",     # the stylesheet draws the icons
    "_static/mathjax/": "tex-chtml.js",         # the combined component with its menu
}


@pytest.fixture(params=PAGES)
def visit(request, site):
    return site.visit(request.param)


def fetched(visit, server) -> dict[str, int]:
    sizes = {}
    for url in visit.requests:
        path = unquote(urlsplit(url).path).lstrip("/")
        f = server.root / path
        if url.startswith(server.origin) and f.is_file():
            sizes[path] = f.stat().st_size
    return sizes


def test_no_duplicate_icon_script_or_math_menu(visit, server):
    assert "requests" not in visit.not_run, visit.not_run["requests"]
    files = fetched(visit, server)
    unwanted = [p for p in files for folder, name in NOT_WANTED.items()
                if folder in p and p.endswith(name)]
    assert not unwanted, f"{visit.url} loads:\n{listing(unwanted)}"
    fonts = [p for p in files if "fontawesome" in p and kind(p) == "font"]
    assert len(fonts) <= 2, f"{visit.url} loads icon fonts it does not use: {fonts}"


def test_page_weight_stays_trimmed(visit, server):
    assert "requests" not in visit.not_run, visit.not_run["requests"]
    files = fetched(visit, server)
    boiler = {p: n for p, n in files.items() if kind(p) != "image"}
    total = sum(boiler.values())
    biggest = sorted(boiler.items(), key=lambda kv: -kv[1])[:8]
    assert total <= MAX_BOILERPLATE, (
        f"{visit.url} loads {total / 1e6:.2f} MB of HTML, CSS, JS and fonts (limit "
        f"{MAX_BOILERPLATE / 1e6:.1f} MB); the largest:\n"
        + listing(f"{n / 1e3:.0f} kB {p}" for p, n in biggest))

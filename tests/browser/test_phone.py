"""The book on a phone and on a desktop (issue 26), from the shared visits.

Each page's shared visit (conftest.Site.visit) is measured at 1280 px and then, without
reloading, narrowed to 390 px. From those records:

- every notebook figure keeps its aspect ratio at both widths (rendered height / width
  equals natural height / width within 2%): before, the fixed inline height squashed
  them to 2.0-2.2 times their ratio at 390 px;
- no page is wider than a 390 px window (the instructor guide was 437 px before);
- the header's buttons are touch targets of at least 44 by 44 px at 390 px, and the
  fullscreen button is not shown there;
- every page has one viewport meta tag, and no title repeats the book's title;
- figures after a page's first are lazy-loaded, and each figure links to its image file.
"""
from __future__ import annotations

import re

import pytest

from site_checks import listing
from toc import toc_entries

PAGES = toc_entries()
RATIO_TOLERANCE = 0.02
MIN_TARGET = 44  # px, the WCAG 2.5.5 touch-target size


def checked(visit, *steps: str) -> None:
    missed = {s: visit.not_run[s] for s in steps if s in visit.not_run}
    assert not missed, (f"{visit.url}: could not check "
                        + "; ".join(f"{s} ({why})" for s, why in missed.items()))


@pytest.fixture(params=PAGES)
def visit(request, site):
    return site.visit(request.param)


def ratio_problems(figures: list[dict], width: int) -> list[str]:
    problems = []
    for f in figures:
        if not (f["natural_width"] and f["natural_height"] and f["width"] and f["height"]):
            continue
        shown = f["height"] / f["width"]
        drawn = f["natural_height"] / f["natural_width"]
        if abs(shown / drawn - 1) > RATIO_TOLERANCE:
            problems.append(f"at {width} px {f['src']} ({f['alt']}…): shown "
                            f"{f['width']:.0f}x{f['height']:.0f} px, drawn "
                            f"{f['natural_width']}x{f['natural_height']}: its shape is "
                            f"{shown / drawn:.2f} times its drawn ratio")
    return problems


def test_figures_keep_their_aspect_ratio(visit):
    checked(visit, "layout", "phone")
    desktop = [{"src": f["src"].rsplit("/", 1)[-1][:16], "alt": f["alt"],
                "width": f["displayed"], "height": f["displayed_height"],
                "natural_width": f["natural_width"], "natural_height": f["natural_height"]}
               for f in visit.layout["figures"] if f["shown"]]
    problems = ratio_problems(desktop, 1280) + ratio_problems(visit.phone["figures"], 390)
    assert not problems, (f"{visit.url}: figures squashed or stretched (a fixed height "
                          f"with a max-width?):\n{listing(problems, 40)}")


def test_no_page_scrolls_sideways_on_a_phone(visit):
    checked(visit, "phone")
    phone = visit.phone
    assert phone["page_client"] <= 400, f"the phone step ran at {phone['page_client']} px"
    assert phone["page_scroll"] <= phone["page_client"] + 1, (
        f"{visit.url} is {phone['page_scroll']} px wide in a {phone['page_client']} px "
        f"window; sticking out:\n{listing(phone['wide'])}")


def test_header_buttons_are_touch_targets_on_a_phone(visit):
    checked(visit, "phone")
    buttons = visit.phone["buttons"]
    assert buttons, f"{visit.url}: no header button shown at 390 px; did the theme change?"
    small = [f"{b['name']}: {b['width']:.0f}x{b['height']:.0f} px" for b in buttons
             if b["width"] < MIN_TARGET - 0.5 or b["height"] < MIN_TARGET - 0.5]
    assert not small, (f"{visit.url}: header buttons smaller than {MIN_TARGET}x{MIN_TARGET} "
                       f"px at 390 px:\n{listing(small)}")
    fullscreen = [b["name"] for b in buttons if "btn-fullscreen-button" in b["cls"]]
    assert not fullscreen, f"{visit.url}: the fullscreen button shows on a phone"


def test_one_viewport_meta_and_a_single_title(visit):
    assert visit.viewport_metas == 1, (
        f"{visit.url} has {visit.viewport_metas} <meta name=\"viewport\"> tags")
    parts = [p.strip() for p in visit.title.split("\u2014")]
    assert len(parts) != 2 or parts[0] != parts[1], (
        f"{visit.url}: its <title> repeats itself: {visit.title!r}")


_IMG = re.compile(r"(<a\b[^>]*>\s*)?(<img\b[^>]*\bclass=\"[^\"]*\bnb-output\b[^>]*>)")


def test_figures_are_lazy_and_open_full_size(visit, server):
    html = (server.root / f"{visit.entry}.html").read_text(encoding="utf-8")
    problems = []
    for n, m in enumerate(_IMG.finditer(html)):
        link, img = m.group(1), m.group(2)
        src = re.search(r'\ssrc="([^"]+)"', img).group(1)
        name = src.rsplit("/", 1)[-1][:16]
        if n and 'loading="lazy"' not in img:
            problems.append(f"{name}: not lazy-loaded")
        if "style=" in img:
            problems.append(f"{name}: an inline style fixes its size")
        href = re.search(r'\shref="([^"]+)"', link or "")
        if not href or href.group(1) != src:
            problems.append(f"{name}: not inside a link to its image file")
    assert not problems, f"{visit.url}:\n{listing(problems)}"

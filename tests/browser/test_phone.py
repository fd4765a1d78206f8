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

The tests after those open their pages at a width themselves (the phone-reader referee's
findings): notebook tables keep their columns on a phone, intervals in tables never wrap,
inline code breaks only at sensible points, and figures say "Tap to enlarge" on a phone.
"""
from __future__ import annotations

import re

import pytest

from site_checks import listing
from toc import resolve, toc_entries

PAGES = toc_entries()
RATIO_TOLERANCE = 0.02
MIN_TARGET = 44  # px, the WCAG 2.5.5 touch-target size
PHONE_WIDTH = 390


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


# ---------------------------------------------------------------------------------------
# What the phone-reader referee found (issue 26): notebook tables, intervals, inline
# code and the figures' "tap to enlarge" cue. Each test opens its pages at a width.

WIDTHS = {"phone": PHONE_WIDTH, "desktop": 1280}
NOTEBOOK_PAGES = [e for e in PAGES if getattr(resolve(e), "suffix", "") == ".ipynb"]


def open_at(new_page, site, entry: str, width: int, unfold: bool = False):
    """The page at `width`, its math typeset; with `unfold`, every fold opened (as a
    reader opens a "Full results" table)."""
    page, rec = new_page()
    page.set_viewport_size({"width": width, "height": 844})
    page.bring_to_front()
    page.goto(site.page_url(entry), wait_until="load")
    page.evaluate("async () => { const MJ = window.MathJax;"
                  " if (MJ && MJ.startup && MJ.startup.promise) await MJ.startup.promise; }")
    if unfold:
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    return page, rec


_JS_OUTPUT_TABLES = """() => [...document.querySelectorAll('article.bd-article .cell_output table')]
  .map(t => ({caption: (t.querySelector('caption') || {}).textContent || '',
              display: getComputedStyle(t).display,
              cells: [...t.querySelectorAll('td')].slice(0, 3)
                       .map(td => getComputedStyle(td).display)}))"""


@pytest.mark.parametrize("entry", NOTEBOOK_PAGES)
def test_notebook_tables_keep_their_columns_on_a_phone(new_page, site, entry):
    """A table a notebook printed (chapter 4's "Full results") is a grid of numbers: on a
    phone it keeps its rows and columns (and scrolls inside its box), not one card per
    row (chapter 4 was 60,000 px tall at 390 px, 24,000 px of it Full results)."""
    page, _ = open_at(new_page, site, entry, PHONE_WIDTH, unfold=True)
    tables = page.evaluate(_JS_OUTPUT_TABLES)
    carded = [f"{t['caption'][:60]!r}: table {t['display']}, cells {t['cells']}"
              for t in tables if t["display"] != "table"
              or any(c != "table-cell" for c in t["cells"])]
    assert not carded, (f"{entry}: notebook tables shown as cards at {PHONE_WIDTH} px:\n"
                        f"{listing(carded)}")


# Every interval ("-0.005 [-0.035, +0.025]") in a table cell: does it run over two lines?
_JS_WRAPPED_INTERVALS = r"""() => {
  const num = '[+\\-\u2212]?\\d[\\d,]*(?:\\.\\d+)?%?';
  const re = new RegExp(`${num}\\s\\[${num},\\s${num}\\]`, 'g');
  const found = [], wrapped = [];
  for (const td of document.querySelectorAll('article.bd-article td')) {
    if (!td.getClientRects().length) continue;
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      re.lastIndex = 0;
      let m;
      while ((m = re.exec(node.data))) {
        found.push(m[0]);
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) wrapped.push(m[0]);
      }
    }
  }
  return {found: found.length, wrapped};
}"""


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_intervals_in_tables_do_not_wrap(new_page, site, width):
    """"-0.005 [-0.035, +0.025]" stays on one line in every table: chapter 4's results
    read "-0.005 / [-0.035, / +0.025]" at 1280 px, and 106 intervals wrapped at 390 px."""
    found, problems = 0, []
    for entry in NOTEBOOK_PAGES:
        page, _ = open_at(new_page, site, entry, width, unfold=True)
        result = page.evaluate(_JS_WRAPPED_INTERVALS)
        found += result["found"]
        problems += [f"{entry}: {text}" for text in result["wrapped"]]
        page.close()
    assert found >= 50, f"only {found} intervals found in the chapters' tables"
    assert not problems, (f"{len(problems)} of {found} intervals wrap at {width} px:\n"
                          f"{listing(problems)}")


# Where each inline code element breaks across lines: the characters on either side.
_JS_CODE_BREAKS = r"""() => {
  const out = [];
  for (const code of document.querySelectorAll('article.bd-article :not(pre) > code')) {
    if (!code.getClientRects().length) continue;
    const chars = [];
    const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        chars.push([node.data[i], rect ? Math.round(rect.top) : null]);
      }
    }
    const text = chars.map(c => c[0]).join('');
    let last = null;
    chars.forEach(([ch, top], i) => {
      if (top === null || ch.trim() === '') return;
      if (last !== null && Math.abs(top - last.top) > 4 && last.i === i - 1)
        out.push({text, at: i});
      last = {top, i};
    });
  }
  return out;
}"""
SENSIBLE_LONG = 20  # an identifier longer than this may break after "_"


def bad_code_break(text: str, at: int) -> str | None:
    """Why breaking inline code `text` before index `at` is not sensible, or None. A
    break may not split a word, a number or a flag ("examp|les", "-|-names",
    "01_masks.ipy|nb"); it may come after "_" or an inner "-" only in a name longer than
    SENSIBLE_LONG characters ("test_autograde_chapters")."""
    before, after = text[at - 1], text[at]
    name = re.compile(r"[A-Za-z0-9_\-]")
    if not (name.match(before) and name.match(after)):
        return None
    whole = (re.search(r"[A-Za-z0-9_\-]*$", text[:at]).group(0)
             + re.match(r"[A-Za-z0-9_\-]*", text[at:]).group(0))
    if (before in "_-" and after.isalnum() and text[at - 2:at - 1].isalnum()
            and len(whole) > SENSIBLE_LONG):
        return None
    return f"splits {whole!r} as {text[max(0, at - 12):at]!r} | {text[at:at + 12]!r}"


@pytest.mark.parametrize("entry", ["book/instructors", "book/notation", "book/intro",
                                   "book/01_masks"])
def test_inline_code_breaks_at_sensible_points(new_page, site, entry):
    """At 390 px inline code breaks between words, after a slash, before a dot: not
    inside a word or a flag. The instructor guide showed "-" / "-names" and
    "01_masks.ipy" / "nb"; the notation page "num_" / "examp" / "les"."""
    page, _ = open_at(new_page, site, entry, PHONE_WIDTH)
    breaks = page.evaluate(_JS_CODE_BREAKS)
    problems = [f"{b['text'][:70]!r}: {why}" for b in breaks
                if (why := bad_code_break(b["text"], b["at"]))]
    assert not problems, (f"{entry}: inline code broken at {PHONE_WIDTH} px where a reader "
                          f"does not expect it:\n{listing(problems)}")


_JS_ENLARGE_CUES = """() => [...document.querySelectorAll('article.bd-article img.nb-output')]
  .filter(img => img.getClientRects().length && !img.closest('details:not([open])'))
  .map(img => { const a = img.closest('a');
    const after = a ? getComputedStyle(a, '::after') : null;
    return {src: (img.currentSrc || img.src).split('/').pop().slice(0, 16),
            link: !!a, cue: after && after.display !== 'none' ? after.content : 'none'}; })"""


@pytest.mark.parametrize("entry", ["book/01_masks", "book/05_noise_and_modern"])
def test_figures_say_tap_to_enlarge_on_a_phone(new_page, site, entry):
    """On a phone every figure (shown at half the size it was drawn) says under it that a
    tap opens it full size; on a desktop and on paper it does not."""
    page, _ = open_at(new_page, site, entry, PHONE_WIDTH)
    phone = page.evaluate(_JS_ENLARGE_CUES)
    assert phone, f"{entry}: no figure shown"
    silent = [f["src"] for f in phone if not f["link"] or "enlarge" not in f["cue"].lower()]
    assert not silent, f"{entry}: figures with no 'tap to enlarge' at {PHONE_WIDTH} px: {silent}"
    page.set_viewport_size({"width": 1280, "height": 844})
    desktop = [f["src"] for f in page.evaluate(_JS_ENLARGE_CUES) if f["cue"] != "none"]
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 700, "height": 1000})
    printed = [f["src"] for f in page.evaluate(_JS_ENLARGE_CUES) if f["cue"] != "none"]
    assert not desktop and not printed, (
        f"{entry}: 'tap to enlarge' shown on a desktop ({desktop}) or on paper ({printed})")


_JS_WIDE_EQUATIONS = """() => [...document.querySelectorAll(
    'article.bd-article mjx-container[display="true"]')]
  .filter(m => m.getClientRects().length)
  .map(m => ({tex: (m.closest('.math') || m).getAttribute('data-tex')
                   || String((MathJax.startup.document.getMathItemsWithin(m)[0] || {}).math || '')
                        .replace(/\\s+/g, ' ').slice(0, 70),
              width: Math.round(m.querySelector('mjx-math').getBoundingClientRect().width),
              column: m.clientWidth}))
  .filter(e => e.width > e.column + 1)"""
@pytest.mark.parametrize("entry", NOTEBOOK_PAGES)
def test_display_equations_fit_a_phone(new_page, site, entry):
    """At 390 px every display equation fits the 358 px column: none scrolls sideways.
    Twelve did (chapters 1, 4 and 5; the widest 905 px) before they were broken into
    lines."""
    page, _ = open_at(new_page, site, entry, PHONE_WIDTH, unfold=True)
    wide = page.evaluate(_JS_WIDE_EQUATIONS)
    problems = [f"{e['width']} px in a {e['column']} px column: {e['tex']}" for e in wide]
    assert not problems, (f"{entry}: display equations wider than the column at "
                          f"{PHONE_WIDTH} px:\n{listing(problems)}")

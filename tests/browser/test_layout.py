"""How the chapters lay out at 1280 px, in dark mode and for a keyboard (issue 17).

- Figures are displayed at (nearly) the width they were drawn for (point 2).
- No code input cell scrolls sideways, and wide tables scroll inside their own box, not
  the page (point 5).
- In the dark theme, figures are a dark variant (inverted), not a dimmed white box
  (point 3).
- Tab from the top of chapter 1 reaches the first exercise without stopping on any
  formula, and the header's buttons show a focus ring (point 7).

The first four read the shared visit of each page (conftest.Site.visit, at 1280 px);
the keyboard tests walk chapter 1 once with Tab.
"""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import pytest

from site_checks import (
    ARTICLE,
    MIN_FIGURE_SHARE,
    focus_ring_visible,
    intended_width,
    listing,
    png_dpi,
)
from toc import resolve, toc_entries

PAGES = toc_entries()
NOTEBOOK_PAGES = [e for e in PAGES if getattr(resolve(e), "suffix", "") == ".ipynb"]
CHAPTER = "book/01_masks"


def checked(visit, *steps: str) -> None:
    missed = {s: visit.not_run[s] for s in steps if s in visit.not_run}
    assert not missed, (f"{visit.url}: could not check "
                        + "; ".join(f"{s} ({why})" for s, why in missed.items()))


@pytest.fixture(params=NOTEBOOK_PAGES)
def visit(request, site):
    return site.visit(request.param)


def _figure_name(fig: dict) -> str:
    name = fig["label"] or fig["src"].rsplit("/", 1)[-1][:16]
    return f"{name} ({fig['alt']}…)" if fig["alt"] else name


def test_figures_are_shown_at_their_width(visit, server):
    """No notebook figure is displayed at under 85% of the width it was drawn for: its
    width attribute, or for a 2x PNG without one half its pixel width."""
    checked(visit, "layout")
    figures = visit.layout["figures"]
    measured, problems = 0, []
    for fig in figures:
        if not fig["shown"]:
            continue  # inside something folded that the visit did not open
        path = server.root / unquote(urlsplit(fig["src"]).path).lstrip("/")
        dpi = png_dpi(path.read_bytes()) if path.is_file() else None
        want = intended_width(fig["width_attr"], fig["natural_width"], dpi)
        measured += 1
        share = fig["displayed"] / want if want else 0.0
        if share < MIN_FIGURE_SHARE:
            problems.append(
                f"{_figure_name(fig)}: shown {fig['displayed']:.0f} px wide of the "
                f"{want:.0f} px it was drawn for ({share:.0%}; width attribute "
                f"{fig['width_attr']!r}, {fig['natural_width']} px at "
                f"{'?' if dpi is None else round(dpi)} dpi)")
    if figures:
        assert measured, f"{visit.url}: none of its {len(figures)} figures was displayed"
    assert not problems, (
        f"{visit.url}: {len(problems)} of {measured} figures shrunk below "
        f"{MIN_FIGURE_SHARE:.0%} (the text column is {visit.layout['article_width']} px; "
        f"draw them for it):\n{listing(problems, 30)}")


def test_code_inputs_do_not_scroll_sideways(visit):
    checked(visit, "layout")
    inputs = [c for c in visit.layout["inputs"] if c["shown"]]
    assert inputs or not visit.layout["inputs"], f"{visit.url}: no code cell was displayed"
    wide = [c for c in inputs if c["scroll"] > c["client"] + 1]
    problems = [f"cell {c['index']}{' (folded)' if c['folded'] else ''}: "
                f"{c['scroll']} px of code in a {c['client']} px box; longest line "
                f"{c['longest']} characters: {c['line']!r}" for c in wide]
    assert not problems, (f"{visit.url}: {len(wide)} of {len(inputs)} code input cells "
                          f"scroll sideways:\n{listing(problems, 40)}")


@pytest.fixture(params=PAGES)
def any_visit(request, site):
    return site.visit(request.param)


def test_wide_tables_scroll_in_their_own_box(any_visit):
    """A table wider than the text column sits in a box that scrolls sideways and fits the
    column; the page itself never scrolls sideways."""
    v = any_visit
    checked(v, "layout")
    lay = v.layout
    problems = []
    for t in lay["tables"]:
        if t["width"] <= lay["article_width"] + 1:
            continue
        box = t["scroller"]
        where = f"table {t['index']} ({t['head']!r}, {t['width']} px)"
        if box is None:
            problems.append(f"{where} is wider than the {lay['article_width']} px column "
                            f"and nothing around it scrolls")
        elif box["client"] > lay["article_width"] + 1 or box["right"] > lay["article_right"] + 1:
            problems.append(f"{where} scrolls in .{box['cls']}, which is itself "
                            f"{box['client']} px wide, wider than the column")
    if lay["page_scroll"] > lay["page_client"] + 1:
        problems.append(f"the page scrolls sideways: {lay['page_scroll']} px of content in "
                        f"a {lay['page_client']} px window")
    if lay["article_scroll"] > lay["article_width"] + 1:
        problems.append(f"content spills out of the text column: {lay['article_scroll']} px "
                        f"in {lay['article_width']} px")
    assert not problems, f"{v.url}:\n{listing(problems)}"


def test_dark_mode_figures_are_inverted_not_dimmed(visit):
    """In the dark theme each figure is drawn as a dark variant (invert + hue-rotate), and
    the theme's dimming (brightness) is gone; a colour map (class nb-colour-map) keeps its
    colours (no filter: an inverted viridis turns pink and olive). No figure has the
    theme's grey frame (padding on a light background). Other images keep the theme's
    rule."""
    checked(visit, "dark")
    figures = visit.dark["figures"]
    problems = []
    for f in figures:
        if f["colour_map"]:
            if f["filter"] != "none":
                problems.append(f"{f['src'][:16]} (colour map): filter {f['filter']!r}")
        elif ("invert(" not in f["filter"] or "hue-rotate(" not in f["filter"]
              or "brightness(" in f["filter"]):
            problems.append(f"{f['src'][:16]}: filter {f['filter']!r}")
        if any(p > 0 for p in f["padding"]):
            problems.append(f"{f['src'][:16]}: a frame of {f['padding']} px padding "
                            f"({f['background']})")
    assert not problems, (f"{visit.url}: figures not drawn as a dark variant in dark "
                          f"mode:\n{listing(problems)}")
    inverted_others = [f["src"] for f in visit.dark["others"] if "invert(" in f["filter"]]
    assert not inverted_others, f"{visit.url}: images outside figures inverted: {inverted_others}"


def test_some_figures_are_colour_maps(book_html):
    """Guards the colour-map branch above: the book has colour-map figures (chapter 1's
    activations and feature maps, chapter 5's heat maps), and the build finds them."""
    pages = [book_html / f"{e}.html" for e in NOTEBOOK_PAGES]
    found = sum(p.read_text(encoding="utf-8").count("nb-colour-map") for p in pages
                if p.is_file())
    assert found >= 3, f"only {found} figures marked nb-colour-map (expected at least 3)"


# ---------------------------------------------------------------------------------------
# The keyboard

MAX_TABS = 600
# The header's buttons a keyboard reader uses (issue 17, point 7).
BUTTONS = {
    "Download": ".dropdown-download-buttons > button",
    "fullscreen": "button.btn-fullscreen-button",
    "theme": "button.theme-switch-button",
    "menu (primary sidebar)": "button.primary-toggle",
}

_JS_FOCUS = """([exerciseSel, buttons]) => {
  const el = document.activeElement;
  if (!el || el === document.body) return {none: true};
  const ex = document.querySelector(exerciseSel);
  const reached = !!ex && (ex.contains(el) ||
      !!(ex.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING));
  const button = Object.keys(buttons).find(k => el.matches(buttons[k])) || null;
  let ring = null;
  if (button) {
    const s = getComputedStyle(el);
    ring = {outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth,
            outlineColor: s.outlineColor, boxShadow: s.boxShadow,
            focusVisible: el.matches(':focus-visible')};
  }
  return {tag: el.tagName.toLowerCase(), cls: String(el.className).slice(0, 60),
          text: (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40),
          math: !!el.closest('mjx-container'), reached, button, ring};
}"""


@pytest.fixture(scope="module")
def tab_walk(new_page, site):
    """Press Tab from the top of chapter 1 until focus reaches its first exercise."""
    page, rec = new_page()
    page.bring_to_front()
    page.goto(site.page_url(CHAPTER), wait_until="load")
    page.evaluate("async () => { const MJ = window.MathJax;"
                  " if (MJ && MJ.startup && MJ.startup.promise) await MJ.startup.promise; }")
    exercise = f"{ARTICLE} .exercise"
    assert page.locator(exercise).count(), f"{CHAPTER} has no exercise (.exercise)"
    walk = {"stops": [], "reached": None, "buttons": {}, "math_tab_stops": page.evaluate(
        "() => document.querySelectorAll('mjx-container[tabindex]').length")}
    page.locator("body").focus()
    for n in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        stop = page.evaluate(_JS_FOCUS, [exercise, BUTTONS])
        walk["stops"].append(stop)
        if stop.get("button") and stop["button"] not in walk["buttons"]:
            walk["buttons"][stop["button"]] = stop["ring"]
        if stop.get("reached"):
            walk["reached"] = n
            break
    return walk


def test_tab_reaches_first_exercise_without_stopping_on_math(tab_walk):
    math = [s for s in tab_walk["stops"] if s.get("math")]
    assert not math, (f"Tab stopped on {len(math)} formulas before the first exercise "
                      f"(MathJax must load without its ui/menu component, or with "
                      f"menuOptions.settings.inTabOrder false); "
                      f"{tab_walk['math_tab_stops']} formulas are tab stops")
    assert tab_walk["reached"], (
        f"{MAX_TABS} presses of Tab did not reach the first exercise of {CHAPTER}; "
        f"the last stops: {tab_walk['stops'][-5:]}")


@pytest.mark.parametrize("button", list(BUTTONS))
def test_header_buttons_show_a_focus_ring(tab_walk, button):
    assert button in tab_walk["buttons"], (
        f"Tab never reached the {button} button ({BUTTONS[button]}) on {CHAPTER}")
    ring = tab_walk["buttons"][button]
    assert ring["focusVisible"], f"the {button} button is focused but not :focus-visible"
    assert focus_ring_visible(ring["outlineStyle"], ring["outlineWidth"],
                              ring["outlineColor"], ring["boxShadow"]), (
        f"the {button} button shows no focus ring when reached with Tab: outline "
        f"{ring['outlineStyle']} {ring['outlineWidth']} {ring['outlineColor']}, "
        f"box-shadow {ring['boxShadow']}")


# ---------------------------------------------------------------------------------------
# The skip link and the search page's field

def _luminance(rgb: str) -> float:
    parts = [float(x) for x in re.findall(r"[\d.]+", rgb)[:3]]
    lin = [(c / 255) / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
           for c in parts]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


_JS_SKIP = """() => {
  const a = document.activeElement, bar = a && a.closest('.skip-link');
  if (!bar) return null;
  const r = bar.getBoundingClientRect(), sa = getComputedStyle(a), sb = getComputedStyle(bar);
  return {top: r.top, height: r.height, text: a.textContent.trim(), color: sa.color,
          background: sb.backgroundColor, fontSize: parseFloat(sa.fontSize)};
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_skip_link_is_visible_when_focused(new_page, site, theme):
    page, _ = new_page()
    page.goto(site.page_url(CHAPTER), wait_until="load")
    page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
    page.keyboard.press("Tab")
    page.wait_for_timeout(400)  # the bar slides in (0.15 s)
    bar = page.evaluate(_JS_SKIP)
    assert bar, "the first Tab stop is not the skip link"
    assert bar["top"] >= -1 and bar["height"] >= 30, f"the skip link is not in view: {bar}"
    ratio = contrast(bar["color"], bar["background"])
    assert ratio >= 4.5, (f"the skip link's text ({bar['color']} on {bar['background']}) "
                          f"has contrast {ratio:.1f}, under 4.5")


def test_search_icon_does_not_cover_the_query(new_page, server):
    page, _ = new_page()
    page.goto(server.url("search.html?q=dropout"), wait_until="load")
    box = page.evaluate("""() => {
      const form = document.querySelector('.bd-search-container form.bd-search');
      const icon = form.querySelector('.fa-magnifying-glass'), input = form.querySelector('input');
      const st = getComputedStyle(input), i = icon.getBoundingClientRect(),
            f = input.getBoundingClientRect();
      return {icon_right: i.right, text_left: f.left + parseFloat(st.paddingLeft)
              + parseFloat(st.borderLeftWidth)};
    }""")
    assert box["icon_right"] <= box["text_left"] + 0.5, (
        f"on search.html the search icon (right edge {box['icon_right']:.0f} px) covers "
        f"the query, whose text starts at {box['text_left']:.0f} px")


# ---------------------------------------------------------------------------------------
# Dark mode: colour maps found from the code that drew them, tables without a frame


def colour_map_figures(entry: str) -> dict[str, str]:
    """The figures of a chapter whose code maps values to colours (imshow, pcolormesh,
    a colour bar, cmap=...): {image file name: the figure's name or the cell's first line},
    by myst-nb's file name for an output image, the SHA-256 of its bytes."""
    import base64
    import hashlib

    import nbformat

    nb = nbformat.read(resolve(entry), as_version=4)
    drawing = re.compile(r"\b(?:imshow|matshow|pcolor|pcolormesh|contourf|hist2d|hexbin"
                         r"|colorbar)\s*\(|\bcmap\s*=")
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not drawing.search(cell.source):
            continue
        name = cell.metadata.get("mystnb", {}).get("figure", {}).get("name") or \
            cell.source.splitlines()[0][:40]
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get("image/png")
            if data:
                digest = hashlib.sha256(base64.b64decode(data)).hexdigest()
                found[f"{digest}.png"] = name
    return found


def test_figures_drawn_with_a_colour_map_keep_their_colours(visit):
    """Every figure whose cell draws a colour map keeps its colours in dark mode (no
    filter): chapter 5's heat map of widths (Fig. 5.3) was inverted, viridis turned olive,
    brown and pink, because only figures with 12 or more colours were recognised."""
    checked(visit, "dark")
    maps = colour_map_figures(visit.entry)
    shown = {f["src"]: f for f in visit.dark["figures"]}
    problems = [f"{name} ({src[:16]}): filter {shown[src]['filter']!r}"
                for src, name in maps.items() if src in shown
                and shown[src]["filter"] != "none"]
    missing = [name for src, name in maps.items() if src not in shown]
    assert not missing, f"{visit.url}: colour-map figures not on the page: {missing}"
    assert not problems, (f"{visit.url}: figures drawn with a colour map are inverted in "
                          f"dark mode:\n{listing(problems)}")


def test_the_book_has_figures_drawn_with_colour_maps():
    """Guards the test above: chapters 1, 3 and 5 draw colour maps."""
    found = sum(len(colour_map_figures(e)) for e in NOTEBOOK_PAGES)
    assert found >= 5, f"only {found} figures drawn with a colour map"


_JS_DARK_TABLES = """() => {
  const root = document.documentElement;
  root.dataset.theme = 'dark';
  return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
    const page = getComputedStyle(document.body).backgroundColor;
    done([...document.querySelectorAll('article.bd-article .cell_output .output.text_html')]
      .filter(o => o.querySelector('table')).map(o => {
        const s = getComputedStyle(o), cell = o.querySelector('td') || o;
        return {caption: ((o.querySelector('caption') || {}).textContent || '').slice(0, 50),
                background: s.backgroundColor, padding: parseFloat(s.paddingTop),
                text: getComputedStyle(cell).color, page};
      }));
  })));
}"""


def _opaque(colour: str) -> bool:
    parts = re.findall(r"[\d.]+", colour)
    return len(parts) >= 3 and (len(parts) < 4 or float(parts[3]) > 0)


@pytest.mark.parametrize("entry", NOTEBOOK_PAGES)
def test_notebook_tables_have_no_light_frame_in_dark_mode(new_page, site, entry):
    """A table a notebook printed sits on the dark page like the text around it: the
    theme drew each one in a light box (rgb(206, 214, 221), 8 px padding) with dark text.
    Its text must still read on the page (contrast of at least 4.5)."""
    page, _ = new_page()
    page.goto(site.page_url(entry), wait_until="load")
    tables = page.evaluate(_JS_DARK_TABLES)
    problems = []
    for t in tables:
        where = t["caption"] or "a table"
        if _opaque(t["background"]) and t["background"] != t["page"]:
            problems.append(f"{where!r}: background {t['background']} on the page's {t['page']}")
        if t["padding"] > 0:
            problems.append(f"{where!r}: a {t['padding']:.0f} px frame")
        if contrast(t["text"], t["page"]) < 4.5:
            problems.append(f"{where!r}: text {t['text']} on {t['page']}: contrast "
                            f"{contrast(t['text'], t['page']):.1f}")
    assert not problems, f"{entry} in dark mode:\n{listing(problems)}"

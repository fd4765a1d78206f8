"""Reading quality in a real browser: the print view, the dark theme and citations.

The print and citation tests open the page in a page of their own (the shared visit of
test_site.py stays in screen mode); the dark-theme test reads the shared visit, which
switches the page to the dark theme and back.
"""
from __future__ import annotations

import re

import pytest

from site_checks import ARTICLE, listing
from toc import resolve, toc_entries

PAGES = toc_entries()

_JS_WAIT_MATH = """async () => {
  const MJ = window.MathJax;
  if (MJ && MJ.startup && MJ.startup.promise) { await MJ.startup.promise; }
}"""

# For each image and typeset formula in the article: is it rendered, with a size, in the
# current media/theme? (Hidden ancestors give a zero-size box.)
_JS_RENDERED = """(sel) => {
  const article = document.querySelector(sel);
  const shown = el => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden'
           && style.display !== 'none';
  };
  const inSolution = el => !!el.closest('.solution, .toggle-hidden');
  const imgs = [...article.querySelectorAll('img')].filter(i => !inSolution(i));
  const math = [...article.querySelectorAll('mjx-container')].filter(m => !inSolution(m));
  return {
    images: imgs.length, images_shown: imgs.filter(shown).length,
    hidden_images: imgs.filter(i => !shown(i)).map(i => i.getAttribute('alt') || i.src),
    math: math.length, math_shown: math.filter(shown).length,
  };
}"""

def source_text(entry: str) -> str:
    path = resolve(entry)
    return path.read_text(encoding="utf-8") if path is not None else ""


def open_page(new_page, site, entry: str):
    page, rec = new_page()
    response = page.goto(site.page_url(entry), wait_until="load")
    assert response is not None and response.status == 200, f"{entry}: did not load"
    page.evaluate(_JS_WAIT_MATH)
    return page, rec


@pytest.mark.parametrize("entry", PAGES)
def test_print_view_shows_figures_and_math(entry, new_page, site):
    """The theme's print stylesheet keeps every figure and formula of the article."""
    page, _ = open_page(new_page, site, entry)
    screen = page.evaluate(_JS_RENDERED, ARTICLE)
    page.emulate_media(media="print")
    printed = page.evaluate(_JS_RENDERED, ARTICLE)
    assert printed["images"] == screen["images"] and printed["math"] == screen["math"]
    assert printed["images_shown"] == printed["images"], (
        f"{entry}: images hidden in the print view:\n{listing(printed['hidden_images'])}")
    assert printed["math_shown"] == printed["math"], (
        f"{entry}: {printed['math'] - printed['math_shown']} formulas hidden in the print view")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000, f"{entry}: printing gave no real PDF"


@pytest.mark.parametrize("entry", PAGES)
def test_figures_stay_legible_in_dark_mode(entry, site):
    """In the dark theme figures keep their own opaque background, so their labels show.
    (Read from the shared visit of the page, which switches it to dark and back.)"""
    visit = site.visit(entry)
    assert "dark" not in visit.not_run, f"{entry}: {visit.not_run['dark']}"
    dark = visit.dark
    unreadable = [f"{c['src']} (corner alpha {c['alpha']})" for c in dark["corners"]
                  if c["alpha"] is None or c["alpha"] < 255]
    assert not unreadable, (f"{entry}: figures with a transparent background, whose dark "
                            f"labels disappear on the dark theme:\n{listing(unreadable)}")
    assert not dark["hidden"], (f"{entry}: images hidden in dark mode:\n"
                                f"{listing(dark['hidden'])}")


CITING = [e for e in PAGES if "{cite" in source_text(e)]


def test_some_pages_cite():
    assert CITING, "no page uses {cite}: the citation test would check nothing"


@pytest.mark.parametrize("entry", CITING)
def test_citations_render_and_link_to_references(entry, new_page, site):
    """Every {cite} role became a link into the references page; none is left as text."""
    page, _ = open_page(new_page, site, entry)
    text = page.locator(ARTICLE).inner_text()
    assert not re.search(r"\{cite(:[tp])?\}", text), f"{entry}: a citation role shows as text"
    links = page.evaluate(
        """(sel) => [...document.querySelector(sel).querySelectorAll('a[href]')]
               .map(a => a.getAttribute('href')).filter(h => /references\\.html#/.test(h))""",
        ARTICLE)
    cited = len(re.findall(r"\{cite(?::[tp])?\}`", source_text(entry)))
    assert len(links) >= cited, (
        f"{entry}: {cited} citation roles in the source, {len(links)} links to the references")
    assert not page.locator("text=/\\?\\?/").count() or "??" in source_text(entry), (
        f"{entry}: an unresolved citation shows as '??'")


def test_reference_labels_are_what_the_citations_show(book_html):
    """The chapters cite author-year ("Srivastava et al., 2014", "Baldi and Sadowski
    [2013]"): each citation's link leads to an entry of the references page whose label
    shows the same authors and year. The list was numbered [1]-[43], numbers no citation
    uses. Labels are unique (two papers of the same authors and year are 2016a, 2016b)."""
    refs = (book_html / "book" / "references.html").read_text(encoding="utf-8")
    labels = {}
    for m in re.finditer(r'<div class="citation" id="([^"]+)"[^>]*>\s*<span class="label">'
                         r'(.*?)</span>\s*<p>', refs, re.S):
        labels[m.group(1)] = re.sub(r"<[^>]+>|[\[\]]", "", m.group(2)).strip()
    assert len(labels) >= 10, f"only {len(labels)} entries found on the references page"
    repeated = sorted({v for v in labels.values() if list(labels.values()).count(v) > 1})
    assert not repeated, f"labels used twice: {repeated}"
    problems, seen = [], 0
    for entry in CITING:
        page = (book_html / f"{entry}.html").read_text(encoding="utf-8")
        for cite in re.finditer(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', page, re.S):
            html = cite.group(1)
            for link in re.finditer(r'<a [^>]*href="references\.html#([^"]+)"[^>]*>(.*?)</a>',
                                    html, re.S):
                seen += 1
                shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", link.group(2))).strip()
                label = labels.get(link.group(1), "")
                # "Baldi and Sadowski [2013]": the authors stand before the bracket.
                text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
                year = shown.rsplit(", ", 1)[-1]
                authors = shown.rsplit(", ", 1)[0] if ", " in shown else text.split("[")[0]
                if not label.endswith(year) or authors.strip() not in label:
                    problems.append(f"{entry}: cited as {text.strip()!r}, its entry is "
                                    f"labelled {label!r}")
    assert seen >= 20, f"only {seen} citation links found"
    assert not problems, f"citations that do not match their entry's label:\n{listing(problems)}"

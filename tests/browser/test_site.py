"""The built site in a real browser: every page of the toc, as a reader would open it.

Run: `.venv/bin/python -m pytest tests/browser -q` after `make site` (or with
BOOK_HTML=/path/to/_build/html). Each page is loaded once (conftest.Site.visit); the
tests below assert one aspect each of what that visit recorded.
"""
from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import pytest

from site_checks import (
    ARTICLE,
    SOLUTIONS_KEY,
    alt_text_problem,
    listing,
    notebook_problem,
    raw_math_fragments,
)
from toc import resolve, toc_entries

PAGES = toc_entries()
ROOT_PAGE = PAGES[0]
SEARCH_WORD = "co-adaptation"


def is_notebook(entry: str) -> bool:
    source = resolve(entry)
    return source is not None and source.suffix == ".ipynb"


def checked(visit, *steps: str) -> None:
    """Fail (never pass vacuously) if a step of the visit that a test relies on did not run."""
    missed = {s: visit.not_run[s] for s in steps if s in visit.not_run}
    assert not missed, (f"{visit.url}: could not check "
                        + "; ".join(f"{s} ({why})" for s, why in missed.items()))


@pytest.fixture(params=PAGES)
def visit(request, site):
    return site.visit(request.param)


# ---------------------------------------------------------------------------------------
# Loading


def test_page_loads(visit):
    assert visit.status == 200, f"{visit.url} answered HTTP {visit.status}"
    assert visit.article_found, (
        f"{visit.url} has no main article ({ARTICLE}); did the theme change?")
    assert not visit.not_run, (
        f"{visit.url}: some checks could not run:\n"
        f"{listing(f'{k}: {v}' for k, v in visit.not_run.items())}")


def test_no_console_or_page_errors(visit):
    problems = ([f"console error: {m}" for m in visit.console_errors]
                + [f"uncaught exception: {m}" for m in visit.page_errors])
    assert not problems, f"{visit.url}:\n{listing(problems)}"


def test_no_failed_requests(visit):
    checked(visit, "icons", "requests")
    problems = ([f"request failed: {m}" for m in visit.failed]
                + [f"HTTP {m}" for m in visit.bad_responses]
                + [f"server answered {m}" for m in visit.server_errors
                   if not any(m.split(" ", 1)[1] in b for b in visit.bad_responses)]
                + [f"icon {url}: {status}" for url, status in visit.icons if status != 200])
    assert not problems, f"{visit.url}:\n{listing(problems)}"


def test_no_request_leaves_localhost(visit, server):
    checked(visit, "requests")
    assert visit.requests, f"{visit.url}: recorded no requests at all; is the recorder broken?"
    assert not visit.external, (
        f"{visit.url} requested {len(visit.external)} URL(s) outside {server.origin} "
        f"(the site must work offline):\n{listing(visit.external)}")


# ---------------------------------------------------------------------------------------
# Content


def test_images_load_and_have_alt_text(visit):
    checked(visit, "images")
    problems = []
    for img in visit.images:
        name = img["src"].rsplit("/", 1)[-1][:60]
        if not img["complete"] or img["naturalWidth"] <= 0:
            problems.append(f"{name}: did not load (naturalWidth={img['naturalWidth']})")
        why = alt_text_problem(img["alt"])
        if why:
            problems.append(f"{name}: {why}")
    assert not problems, (
        f"{visit.url}: {len(problems)} image problem(s) (give figures alt text with "
        f"`mystnb: image: alt:` cell metadata):\n{listing(problems)}")


def test_math_is_typeset(visit):
    checked(visit, "math")
    problems = [f"TeX left as visible text: {f}" for f in raw_math_fragments(visit.prose_text)]
    if visit.source_has_math:
        mj, math = visit.mathjax, visit.math
        if not mj.get("loaded"):
            problems.append("the page has math but MathJax did not load (no "
                            "window.MathJax.startup); is sphinx-mathjax-offline enabled?")
        elif mj.get("error"):
            problems.append(f"MathJax startup failed: {mj['error']}")
        elif not (math["math_elements"] and math["containers"]):
            problems.append(f"the HTML has math, but after MathJax ran the article has "
                            f"{math['math_elements']} .math element(s) and "
                            f"{math['containers']} mjx-container(s)")
        problems += [f"not typeset: {t}" for t in math.get("untypeset", [])]
        problems += math.get("errors", [])
    assert not problems, f"{visit.url}: math problems:\n{listing(problems)}"


def test_solutions_fold_and_unfold(visit):
    checked(visit, "solutions")
    problems = []
    for sol in visit.solutions:
        name = f"{sol['id']} ({sol['title'] or 'no title'})"
        if not sol["title_visible"]:
            problems.append(f"{name}: no visible title to click")
            continue
        if not sol["body_parts"]:
            problems.append(f"{name}: empty solution")
            continue
        if any(sol["visible_before"]):
            problems.append(f"{name}: visible before it was clicked (use `:class: dropdown`)")
        if not all(sol.get("visible_after", [])):
            problems.append(f"{name}: still hidden after clicking its title")
        elif not sol.get("text_after"):
            problems.append(f"{name}: opened, but shows no text")
        if sol.get("aria_expanded") not in (None, "true"):
            problems.append(f"{name}: toggle button says aria-expanded={sol['aria_expanded']}")
    assert not problems, f"{visit.url}:\n{listing(problems)}"


def test_solutions_across_book(site, request):
    """Counts solutions over the whole book. Requires at least one only when
    BOOK_REQUIRE_SOLUTIONS=1; the count is printed in the terminal summary either way."""
    flag = os.environ.get("BOOK_REQUIRE_SOLUTIONS", "")
    assert flag in ("", "0", "1"), f"BOOK_REQUIRE_SOLUTIONS must be 0 or 1, not {flag!r}"
    for entry in PAGES:
        checked(site.visit(entry), "solutions")
    counts = {e: len(site.visit(e).solutions) for e in PAGES}
    with_solutions = {e: n for e, n in counts.items() if n}
    total = sum(counts.values())
    line = (f"{len(with_solutions)} of {len(PAGES)} pages have exercise solutions "
            f"({total} in all)" + (f": {with_solutions}" if with_solutions else "")
            + ("" if flag == "1" else "; set BOOK_REQUIRE_SOLUTIONS=1 to require one"))
    request.config.stash[SOLUTIONS_KEY] = {"line": line}
    if flag == "1":
        assert total > 0, f"BOOK_REQUIRE_SOLUTIONS=1, but {line}"


def test_download_offers_notebook(visit):
    checked(visit, "download")
    download = visit.download
    assert download.get("menus") == 1, (
        f"{visit.url}: expected one download menu (.dropdown-download-buttons), "
        f"found {download.get('menus')}")
    offered = [h for h in download["hrefs"] if urlsplit(h).path.endswith(".ipynb")]
    if not is_notebook(visit.entry):
        assert not offered, f"{visit.url} is not a notebook page but offers {offered}"
        return
    assert offered, (
        f"{visit.url} is a notebook page, but its download menu offers no .ipynb: "
        f"{download['hrefs']}")
    assert download.get("visible_after_click"), (
        f"{visit.url}: the .ipynb link did not show after clicking the download button")
    ipynb = download["ipynb"]
    assert ipynb["status"] == 200, f"{ipynb['url']} answered HTTP {ipynb['status']}"
    why = notebook_problem(ipynb["body"])
    assert why is None, f"{ipynb['url']}: {why}"


# ---------------------------------------------------------------------------------------
# Navigation and search


def test_index_redirects_to_root_page(new_page, server, site):
    page, rec = new_page()
    page.goto(server.url("index.html"))
    page.wait_for_url(site.page_url(ROOT_PAGE))
    assert page.locator(f"{ARTICLE} h1").first.is_visible()
    problems = rec.bad_responses + [f"outside {server.origin}: {u}" for u in rec.external]
    assert not problems, "index.html:\n" + listing(problems)


_JS_SIDEBAR_LINKS = """() => [...document.querySelectorAll('.bd-sidebar-primary a[href]')]
    .map(a => a.href.split('#')[0])"""


def test_sidebar_reaches_every_page(new_page, site):
    page, rec = new_page()
    root_url = site.page_url(ROOT_PAGE)
    page.goto(root_url)
    linked = set(page.evaluate(_JS_SIDEBAR_LINKS))
    missing = [e for e in PAGES if site.page_url(e) not in linked]
    assert not missing, (
        f"the sidebar of {root_url} has no link to:\n{listing(missing)}\n"
        f"(it links to:\n{listing(sorted(linked))})")

    problems = []
    for entry in PAGES[1:]:
        target = site.page_url(entry)
        if page.url != root_url:
            page.go_back()
            page.wait_for_url(root_url)
        links = page.locator(".bd-sidebar-primary nav.bd-docs-nav a[href]")
        hrefs = links.evaluate_all("(as) => as.map(a => a.href.split('#')[0])")
        if target not in hrefs:
            problems.append(f"{entry}: not in the sidebar's navigation")
            continue
        link = links.nth(hrefs.index(target))
        # Subsections may sit in a collapsed <details>: open it as a reader would.
        link.evaluate("a => { for (let d = a.closest('details'); d; "
                      "d = d.parentElement.closest('details')) d.open = true; }")
        with page.expect_navigation() as nav:
            link.click()
        response = nav.value
        if response is None or response.status != 200:
            problems.append(f"{entry}: following the link gave HTTP "
                            f"{response.status if response else 'no response'}")
        elif page.url.split("#")[0] != target:
            problems.append(f"{entry}: the link led to {page.url}")
        elif not page.locator(f"{ARTICLE} h1").first.is_visible():
            problems.append(f"{entry}: loaded, but shows no title")
        else:
            back = set(page.evaluate(_JS_SIDEBAR_LINKS))
            if root_url not in back:
                problems.append(f"{entry}: its sidebar has no link back to {ROOT_PAGE}")
    assert not problems, "sidebar navigation:\n" + listing(problems)
    assert not rec.page_errors, ("uncaught exceptions while following the sidebar links:\n"
                                 + listing(sorted(set(rec.page_errors))))


def search(new_page, server, word: str) -> tuple[str, list[str], object]:
    """Open search.html?q=word; return the summary line and the result links."""
    page, rec = new_page()
    page.goto(server.url(f"search.html?q={word}"))
    page.wait_for_function(
        "() => { const s = document.querySelector('#search-results p.search-summary');"
        " return s && s.innerText.trim().length > 0; }")
    summary = page.locator("#search-results p.search-summary").inner_text().strip()
    m = re.search(r"found (\d+) page", summary)
    expected = int(m.group(1)) if m else 0
    results = page.locator("#search-results ul.search > li")
    page.wait_for_function(
        f"() => document.querySelectorAll('#search-results ul.search > li').length >= {expected}")
    hrefs = results.evaluate_all("(lis) => lis.map(li => li.querySelector('a').href)")
    rec.page = page
    return summary, hrefs, rec


def test_search_finds_co_adaptation(new_page, server):
    summary, hrefs, rec = search(new_page, server, SEARCH_WORD)
    assert hrefs, (f"searching for {SEARCH_WORD!r} found nothing ({summary!r}); "
                   f"a chapter should mention it")
    assert all(h.startswith(server.origin) for h in hrefs), hrefs
    problems = ([f"uncaught exception: {e}" for e in rec.page_errors]
                + [f"request outside {server.origin}: {u}" for u in rec.external])
    assert not problems, "search page:\n" + listing(problems)


def test_search_for_nonsense_finds_nothing(new_page, server):
    """Guards the search test above: a word in no page must give zero results."""
    summary, hrefs, rec = search(new_page, server, "xqzvkwpl")
    assert not hrefs, f"searching for a nonsense word found {hrefs}"
    assert "did not match" in summary, summary


_JS_SNIPPETS = """() => [...document.querySelectorAll('#search-results ul.search > li')]
    .map(li => ({page: li.querySelector('a').href.split('/').pop(),
                 snippet: (li.querySelector('.context') || {}).textContent || ''}))"""
SNIPPET_WORD = "p_drop"
# Text that only folded plotting code or un-typeset TeX would put in a snippet.
# (The book folds its plotting cells; a shown cell may import matplotlib, none draws.)
NOT_IN_SNIPPETS = re.compile(r"\\\(|\\\[|\\text\{|\\frac|plt\.|fig, ax|ax\.set_")


def test_search_snippets_are_plain_prose(new_page, server):
    """Snippets read as the page does: formulas as plain text (p_drop, not
    \\(p_{\\text{drop}}\\)), and no code the page folds (hide-input plotting cells)."""
    summary, hrefs, rec = search(new_page, server, SNIPPET_WORD)
    assert hrefs, f"searching for {SNIPPET_WORD!r} found nothing ({summary!r})"
    page = rec.page
    page.wait_for_function(
        "(n) => document.querySelectorAll('#search-results p.context').length >= n",
        arg=min(3, len(hrefs)))
    page.wait_for_timeout(500)
    snippets = page.evaluate(_JS_SNIPPETS)
    bad = [f"{s['page']}: {m.group(0)!r} in …{s['snippet'][max(0, m.start() - 40):m.end() + 40]}…"
           for s in snippets for m in [NOT_IN_SNIPPETS.search(s["snippet"])] if m]
    assert not bad, "search snippets with TeX or folded code:\n" + listing(bad)


def test_search_over_file_is_quiet(browser, book_html):
    """Opened from a file:// address (the intro's "Reading offline"), search lists the
    pages that match the full text, without snippets, and logs no error: the pages
    cannot be fetched there (CORS), and search-snippets.js answers those fetches empty."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        page.goto((book_html / "search.html").as_uri() + f"?q={SEARCH_WORD}")
        page.wait_for_function(
            "() => /found \\d+ page|did not match/.test("
            "(document.querySelector('#search-results p.search-summary') || {}).textContent || '')")
        page.wait_for_timeout(500)
        found = page.locator("#search-results ul.search > li").count()
    finally:
        ctx.close()
    assert found, f"searching for {SEARCH_WORD!r} over file:// found nothing"
    assert not errors, "search over file:// logged:\n" + listing(errors)


# ---------------------------------------------------------------------------------------
# Links to files of the site

@pytest.mark.parametrize("entry", PAGES)
def test_no_link_leads_to_a_missing_file(entry, book_html):
    """Every link and image of the page (its header and menus included) that points into
    the site points to a file that is there. After a plain site build the download
    menu's "book .pdf" was a 404 (the PDF is made by `make pdf`)."""
    from html import unescape
    from urllib.parse import unquote, urljoin

    page_path = book_html / f"{entry}.html"
    page = page_path.read_text(encoding="utf-8")
    base = f"file://{page_path.as_posix()}"
    missing = []
    for attr, url in re.findall(r'\b(href|src)="([^"]+)"', page):
        url = unescape(url)
        if re.match(r"^(?:[a-z][a-z0-9+.-]*:|#|//)", url, re.I) and not url.startswith("file:"):
            continue  # another site, mailto:, javascript:, data:, or this page's anchor
        target = urlsplit(urljoin(base, url))
        path = unquote(target.path)
        if not path.startswith(book_html.as_posix()):
            continue
        if not os.path.exists(path):
            missing.append(f"{attr}={url}")
    assert not missing, f"{entry} points to files the site does not have:\n{listing(missing)}"

"""Navigation a reader clicks: the two sidebars at phone and desktop width, and search.

The chapter list (primary sidebar) and the on-page contents (secondary sidebar) must open
and close when a reader clicks "Toggle primary sidebar" / "Toggle secondary sidebar".
pydata-sphinx-theme 0.17.x binds only the first `.primary-toggle` on a page
(pydata-sphinx-theme #2451, sphinx-book-theme #988): with sphinx-book-theme 1.3.0 those
buttons then only show a tooltip, which is why requirements.txt pins the theme pair.

"Open" means more than "in the DOM": the sidebar's box lies inside the viewport, and its
first link is the element a click at that link's centre would hit (nothing covers it).
"""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from site_checks import ARTICLE, listing
from toc import resolve, toc_entries

PAGES = toc_entries()
CHAPTER = "book/01_masks"  # a chapter with sections, so it has on-page contents
WIDTHS = {"phone": 390, "desktop": 1280}
HEIGHT = 800
# Below this width pydata-sphinx-theme turns the sidebars into drawers (its $breakpoint-lg).
DRAWER_BELOW = 992
SETTLE_MS = 3_000  # the drawers slide in with a CSS transition

SIDEBARS = {
    "primary": {
        "box": ".bd-sidebar-primary",
        "link": ".bd-sidebar-primary nav.bd-docs-nav a.reference",
        "toggle": "button.primary-toggle",
        "label": "the chapter list (primary sidebar)",
    },
    "secondary": {
        "box": ".bd-sidebar-secondary",
        "link": ".bd-sidebar-secondary nav a.nav-link",
        "toggle": "button.secondary-toggle",
        "label": "the on-page contents (secondary sidebar)",
    },
}

# Where a sidebar is: "open" (inside the viewport, visible, its first link on top),
# "closed" (not displayed, hidden, or entirely outside the viewport), or "partly" (anything
# else, e.g. half slid in or covered), with the numbers behind the verdict.
_JS_SIDEBAR_STATE = """([boxSel, linkSel]) => {
  const el = document.querySelector(boxSel);
  if (!el) return {state: 'missing'};
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const b = el.getBoundingClientRect(), s = getComputedStyle(el);
  const info = {left: Math.round(b.left), right: Math.round(b.right), width: Math.round(b.width),
                viewport: vw, visibility: s.visibility, display: s.display};
  const hidden = s.display === 'none' || s.visibility === 'hidden' || b.width < 1
                 || b.height < 1 || Number(s.opacity) === 0;
  if (hidden || b.right <= 0 || b.left >= vw) return {...info, state: 'closed'};
  const link = document.querySelector(linkSel);
  if (!link) return {...info, state: 'partly', why: 'no link inside'};
  const lb = link.getBoundingClientRect();
  const x = lb.left + Math.min(lb.width / 2, 20), y = lb.top + lb.height / 2;
  const hit = (x >= 0 && x < vw && y >= 0 && y < vh) ? document.elementFromPoint(x, y) : null;
  info.link = link.textContent.trim().slice(0, 40);
  info.link_on_top = !!hit && (hit === link || link.contains(hit));
  if (!info.link_on_top && hit) info.covered_by = hit.tagName + '.' + hit.className;
  const inside = b.left >= -1 && b.right <= vw + 1;
  return {...info, state: inside && info.link_on_top ? 'open' : 'partly'};
}"""


def sidebar_state(page, which: str) -> dict:
    bar = SIDEBARS[which]
    return page.evaluate(_JS_SIDEBAR_STATE, [bar["box"], bar["link"]])


def wait_for_state(page, which: str, want: str) -> dict:
    """Poll until the sidebar is in state `want` (or SETTLE_MS passed); return its state."""
    waited, state = 0, sidebar_state(page, which)
    while state["state"] != want and waited < SETTLE_MS:
        page.wait_for_timeout(50)
        waited += 50
        state = sidebar_state(page, which)
    return state


def visible_toggle(page, which: str):
    """The toggle button of a sidebar that a reader can see, or None."""
    toggles = page.locator(f"{SIDEBARS[which]['toggle']}:visible")
    return toggles.first if toggles.count() else None


def open_chapter(new_page, site, width: int):
    assert CHAPTER in PAGES, f"{CHAPTER} is no longer in _toc.yml: pick another chapter"
    page, rec = new_page()
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.goto(site.page_url(CHAPTER), wait_until="load")
    assert page.locator(ARTICLE).count() == 1, f"{page.url}: no article ({ARTICLE})"
    return page, rec


def click_outside(page, which: str) -> None:
    """Tap the page beside an open drawer, where a phone reader closes it."""
    state = sidebar_state(page, which)
    x = state["right"] + 20 if which == "primary" else state["left"] - 20
    page.mouse.click(min(max(x, 5), state["viewport"] - 5), HEIGHT // 2)


def expect(page, which: str, want: str, after: str, problems: list) -> bool:
    state = wait_for_state(page, which, want)
    if state["state"] != want:
        problems.append(f"{after}: {SIDEBARS[which]['label']} is {state['state']}, "
                        f"expected {want} ({state})")
        return False
    return True


@pytest.mark.parametrize("which", list(SIDEBARS))
@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_sidebar_opens_and_closes(new_page, site, width, which):
    page, rec = open_chapter(new_page, site, width)
    label, problems = SIDEBARS[which]["label"], []
    drawer = width < DRAWER_BELOW

    if not drawer and which == "secondary":
        # sphinx-book-theme shows the on-page contents as a column from 1200 px on and then
        # offers no toggle for it: it must be open, and no dead toggle may be shown.
        expect(page, which, "open", f"at {width} px on load", problems)
        toggle = visible_toggle(page, which)
        if toggle is not None:
            toggle.click()
            page.wait_for_timeout(500)
            state = sidebar_state(page, which)
            if state["state"] != "closed":
                problems.append(f"at {width} px a secondary toggle is shown, but clicking it "
                                f"left {label} {state['state']}")
    else:
        start = "closed" if drawer else "open"
        flipped = "open" if drawer else "closed"
        if expect(page, which, start, f"at {width} px on load", problems):
            toggle = visible_toggle(page, which)
            if toggle is None:
                problems.append(f"at {width} px no toggle for {label} is visible")
            else:
                toggle.click()
                if expect(page, which, flipped, f"at {width} px after clicking "
                          f"{toggle.get_attribute('title') or 'the toggle'}", problems):
                    if drawer:  # the open drawer covers its toggle: tap beside it
                        click_outside(page, which)
                        after = "tapping the page beside the open drawer"
                    else:
                        visible_toggle(page, which).click()
                        after = "clicking the toggle a second time"
                    if expect(page, which, start, f"at {width} px after {after}", problems):
                        # and it opens again: the toggle is not good for one click only
                        visible_toggle(page, which).click()
                        expect(page, which, flipped,
                               f"at {width} px after clicking the toggle once more", problems)

    problems += [f"uncaught exception: {e}" for e in rec.page_errors]
    assert not problems, f"{page.url} at {width}x{HEIGHT}:\n{listing(problems)}"


# ---------------------------------------------------------------------------------------
# Search: one search box per page, and snippets from the text a reader sees

# Every search control a reader can see: the sidebar's search field, the header's search
# icon (phones) and the search page's own form.
_JS_SEARCH_CONTROLS = """() => {
  const shown = el => {
    const b = el.getBoundingClientRect(), s = getComputedStyle(el);
    return b.width > 0 && b.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'
           && b.right > 0 && b.left < document.documentElement.clientWidth;
  };
  const controls = [...document.querySelectorAll('.search-button__button, form.bd-search')]
    .filter(el => !el.closest('.search-button__search-container'));  // the closed modal
  return controls.filter(shown).map(el => {
    const where = el.closest('.bd-sidebar-primary, .bd-header-article, .bd-header, article, '
                             + '.bd-search-container, main');
    return `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} in `
           + (where ? where.className.split(' ')[0] : 'the page');
  });
}"""


@pytest.mark.parametrize("where", ["chapter", "search page"])
@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_one_search_box(new_page, server, site, width, where):
    page, rec = new_page()
    page.set_viewport_size({"width": width, "height": HEIGHT})
    url = site.page_url(CHAPTER) if where == "chapter" else server.url("search.html?q=mask")
    page.goto(url, wait_until="load")
    controls = page.evaluate(_JS_SEARCH_CONTROLS)
    assert len(controls) == 1, (
        f"{url} at {width} px shows {len(controls)} search boxes or buttons, expected "
        f"exactly one:\n{listing(controls)}")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# The article's text as a snippet shows it (book/_static/search-snippets.js): without the
# code the page folds, and with each formula's TeX as plain text (its own plainTex).
_JS_ARTICLE_TEXT = """(html) => {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  doc.querySelectorAll('.headerlink, script, style').forEach(el => el.remove());
  const article = doc.querySelector('article.bd-article');
  if (!article) return null;
  article.querySelectorAll('details.hide, .tag_hide-input .cell_input, .tag_hide-cell, '
                           + '.tag_remove-input .cell_input').forEach(el => el.remove());
  const plain = (window.searchSnippets || {}).plainTex || (t => t);
  article.querySelectorAll('.math').forEach(el => { el.textContent = plain(el.textContent); });
  return article.textContent;
}"""


def test_search_snippets_come_from_the_article(new_page, server):
    """A result's snippet is text of the page's article: not the print-only contents list
    ("Dropout masks Contents …") or the header's download menu (".ipynb .pdf")."""
    page, rec = new_page()
    page.goto(server.url("search.html?q=dropout"))
    page.wait_for_function(
        "() => { const s = document.querySelector('#search-results p.search-summary');"
        " return s && s.innerText.trim().length > 0; }")
    m = re.search(r"found (\d+) page", page.locator("#search-results p.search-summary")
                  .inner_text())
    expected = int(m.group(1)) if m else 0
    assert expected, "searching for 'dropout' found no page"
    try:  # each result's snippet arrives with a fetch of its page
        page.wait_for_function(
            f"() => document.querySelectorAll('#search-results ul.search > li').length >= "
            f"{expected} && [...document.querySelectorAll('#search-results ul.search > li')]"
            f".every(li => li.querySelector('p.context'))")
    except Exception:
        pass  # judged below: a result without a snippet is reported by its link
    results = page.locator("#search-results ul.search > li").evaluate_all(
        "(lis) => lis.map(li => ({href: li.querySelector('a').href,"
        " snippet: (li.querySelector('p.context') || {}).textContent}))")
    problems, articles = [], {}
    for result in results:
        url = result["href"].split("#")[0]
        if url not in articles:
            html = page.request.get(url).text()
            articles[url] = _normal(page.evaluate(_JS_ARTICLE_TEXT, html) or "")
        if result["snippet"] is None:
            problems.append(f"{result['href']}: no snippet")
            continue
        snippet = _normal(result["snippet"])
        core = _normal(re.sub(r"^\.\.\.|\.\.\.$", "", snippet))
        if core and core not in articles[url]:
            problems.append(f"{result['href']}: {snippet[:120]!r}")
    assert not problems, ("search snippets that are not text of the page's article:\n"
                          + listing(problems))


# ---------------------------------------------------------------------------------------
# Where a reader lands: the page after the last chapter, and the 404 page


def test_last_chapter_leads_to_reference_not_instructor_guide(new_page, site):
    """The "next" link of the last chapter goes on to the reference pages; the instructor
    guide, a page for teachers, comes after them."""
    chapters = [e for e in PAGES if getattr(resolve(e), "suffix", "") == ".ipynb"]
    last = chapters[-1]
    page, rec = new_page()
    page.goto(site.page_url(last))
    nxt = page.locator("a.right-next")
    assert nxt.count() == 1, f"{page.url} has no 'next' link (a.right-next)"
    href = nxt.evaluate("a => a.href.split('#')[0]")
    urls = {site.page_url(e): e for e in PAGES}
    assert href in urls, f"the 'next' link of {last} leads outside the toc: {href}"
    assert urls[href] != "book/instructors", (
        f"the 'next' link of the last chapter ({last}) leads to the instructor guide; "
        f"put the Reference part before 'Teaching with this book' in _toc.yml")


MISSING = ["no-such-page.html", "book/no-such-chapter.html", "book/old/section/gone.html"]


@pytest.mark.parametrize("missing", MISSING)
def test_404_page(new_page, server, site, missing):
    """A web host answers a missing URL with 404.html (sphinx-notfound-page writes it,
    linking everything from the site's root). Served that way at any depth, it must load
    its styles and scripts, list every chapter, and link back to the book's start."""
    not_found = server.root / "404.html"
    assert not_found.is_file(), f"no 404.html in {server.root}: is notfound.extension on?"
    body = not_found.read_bytes()
    page, rec = new_page()
    url = server.url(missing)
    # What GitHub Pages, Netlify or nginx's error_page do for a path that has no file.
    page.route(url, lambda route: route.fulfill(status=404, body=body,
                                                content_type="text/html; charset=utf-8"))
    response = page.goto(url, wait_until="load")
    rec.settle(page)
    assert response is not None and response.status == 404, (
        f"{url}: expected HTTP 404, got {response.status if response else None}")
    assert page.locator(f"{ARTICLE} h1").first.inner_text().strip() == "Page not found"
    problems = ([f"request failed: {m}" for m in rec.failed]
                + [f"HTTP {m}" for m in rec.bad_responses if not m.endswith(url)]
                + [f"console error: {m}" for m in rec.console_errors
                   if "status of 404" not in m]
                + [f"uncaught exception: {m}" for m in rec.page_errors]
                + [f"request outside {server.origin}: {u}" for u in rec.external])
    styled = page.evaluate("() => getComputedStyle(document.querySelector('.bd-sidebar-primary'))"
                           ".display !== 'block'")  # unstyled, a <div> would be 'block'
    if not styled:
        problems.append("the theme's stylesheet did not apply")
    linked = set(page.evaluate(
        "() => [...document.querySelectorAll('.bd-sidebar-primary nav a[href]')]"
        ".map(a => a.href.split('#')[0])"))
    missing_links = [e for e in PAGES[1:] if site.page_url(e) not in linked]
    if missing_links:
        problems.append(f"its chapter list has no link to {missing_links}")
    assert not problems, f"{url} (404.html):\n{listing(problems)}"

    home = page.locator(f'{ARTICLE} a[href="/"]')
    assert home.count() == 1, f"{url}: the 404 page has no link to the book's first page"
    home.click()
    page.wait_for_url(site.page_url(PAGES[0]))
    assert page.locator(f"{ARTICLE} h1").first.is_visible()


# ---------------------------------------------------------------------------------------
# A link to another page's section lands on that section (issue 26's phone referee)

CLAIMS = "book/claims"
#: How far (px) a section's top may sit from where the theme scrolls a section to (its
#: scroll-padding-top, under the sticky header) once the page has settled.
LANDING_TOLERANCE = 40


def _section_links(site) -> list[str]:
    """For each page the claims page links into, its link to the section that lies
    deepest in that page (the most content above it: typeset math and closed folds move
    it the most). "book/04_ensembles.html#ens-mc-criticism", ..."""
    html = (site.server.root / f"{CLAIMS}.html").read_text(encoding="utf-8")
    base = site.page_url(CLAIMS)
    deepest: dict[str, tuple[int, str]] = {}
    for href in re.findall(r'href="([^"#]+\.html)#([^"]+)"', html):
        page, anchor = href
        url = urljoin(base, page)
        path = site.server.root / urlsplit(url).path.lstrip("/")
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        at = text.find(f'id="{anchor}"')
        if at >= 0 and at > deepest.get(url, (-1, ""))[0]:
            deepest[url] = (at, f"{url}#{anchor}")
    return [link for _, link in sorted(deepest.values(), key=lambda v: v[1])]


_JS_SECTION_TOP = """async (id) => {
  const MJ = window.MathJax;
  if (MJ && MJ.startup && MJ.startup.promise) await MJ.startup.promise;
  const el = document.getElementById(decodeURIComponent(id));
  if (!el) return null;
  // Wait until the section has stayed put for 600 ms (at most 6 s).
  let last = null, still = 0;
  for (let waited = 0; waited < 6000 && still < 600; waited += 100) {
    await new Promise(done => setTimeout(done, 100));
    const top = Math.round(el.getBoundingClientRect().top);
    still = top === last ? still + 100 : 0;
    last = top;
  }
  const root = document.scrollingElement;
  return {top: last, padding: parseFloat(getComputedStyle(document.documentElement)
                                         .scrollPaddingTop) || 0,
          // a target near the page's end cannot reach the top: the page is scrolled
          // as far as it goes, with the target in view
          at_end: root.scrollTop + window.innerHeight >= root.scrollHeight - 2
                  && last >= 0 && last < window.innerHeight};
}"""


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_section_links_land_on_their_section(new_page, site, width):
    """Opened from the claims page, chapter-4.html#ens-mc-criticism shows that section at
    the top of the window (under the header), after MathJax has typeset the page and its
    folds have closed: before, those moved it 25-3,500 px off the screen."""
    links = _section_links(site)
    assert len(links) >= 4, f"only {len(links)} pages linked from {CLAIMS} with a section"
    page, rec = new_page()
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.bring_to_front()
    problems = []
    for link in links:
        page.goto(link, wait_until="load")
        where = page.evaluate(_JS_SECTION_TOP, link.split("#", 1)[1])
        if where is None:
            problems.append(f"{link}: no element with that id")
        elif (abs(where["top"] - where["padding"]) > LANDING_TOLERANCE
              and not where["at_end"]):
            problems.append(f"{link}: the section's top is at {where['top']} px, expected "
                            f"about {where['padding']:.0f} px (the header's height)")
    problems += [f"uncaught exception: {e}" for e in rec.page_errors]
    assert not problems, f"at {width} px:\n{listing(problems)}"


# ---------------------------------------------------------------------------------------
# Search terms are highlighted only on a page opened from the search's results

_JS_HIGHLIGHTS = """() => ({marks: document.querySelectorAll('span.highlighted').length,
  hide_link: !!document.querySelector('.highlight-link')})"""


def test_search_terms_are_highlighted_only_from_a_result(new_page, server, site):
    page, rec = new_page()
    page.bring_to_front()
    page.goto(server.url("search.html?q=mask"), wait_until="load")
    first = page.locator("#search-results ul.search > li > a").first
    first.wait_for(state="attached")
    page.wait_for_timeout(300)
    # The reader leaves the results for another page (the sidebar, a bookmark).
    page.goto(site.page_url("book/03_co_adaptation"), wait_until="load")
    page.wait_for_timeout(300)
    elsewhere = page.evaluate(_JS_HIGHLIGHTS)
    # Back to the results, and this time the reader opens one.
    page.goto(server.url("search.html?q=mask"), wait_until="load")
    first = page.locator("#search-results ul.search > li > a").first
    first.wait_for(state="attached")
    page.wait_for_timeout(300)
    first.click()
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    opened = page.evaluate(_JS_HIGHLIGHTS)
    # ... and after it, the next page is clean again.
    page.goto(site.page_url("book/03_co_adaptation"), wait_until="load")
    page.wait_for_timeout(300)
    after = page.evaluate(_JS_HIGHLIGHTS)
    assert elsewhere == {"marks": 0, "hide_link": False}, (
        f"a page opened after a search, not from its results, highlights the query: "
        f"{elsewhere}")
    assert opened["marks"] > 0, f"the result opened from the search shows no highlight: {page.url}"
    assert after == {"marks": 0, "hide_link": False}, (
        f"the page after a search result still highlights the query: {after}")
    assert not rec.page_errors, rec.page_errors

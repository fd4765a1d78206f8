"""Fixtures of the browser tests: the built site on a local server, one headless Chromium.

The site folder is $BOOK_HTML (default: <repo>/_build/html; build it with `make site`).
It is served by Python's http.server on 127.0.0.1 with a free port, and opened with
Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) driven by Playwright. Never run
`playwright install`: tools/ensure_chromium.sh installs the system browser instead.

Every page of the toc is opened once per session by `site.visit(entry)`, which records
what the page did (requests, errors, images, math, solutions, widths of figures, code
and tables, the dark theme, download menu, and the same page narrowed to a phone's
390 px: its width, figure shapes and header buttons) into a PageVisit; the tests in test_site.py,
test_layout.py, test_reading.py and test_page_weight.py each assert one aspect of those
records.
"""
from __future__ import annotations

import html as html_lib
import http.server
import os
import re
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from site_checks import ARTICLE, SOLUTIONS_KEY, external_urls, is_local_url

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HTML = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


def site_dir() -> Path:
    return Path(os.environ.get("BOOK_HTML") or DEFAULT_HTML).resolve()


# ---------------------------------------------------------------------------------------
# The local server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site folder and logs (path, status) of every request into `log`."""

    log: list = []
    lock = threading.Lock()

    def log_request(self, code="-", size="-"):
        try:
            status = int(code)
        except (TypeError, ValueError):
            status = 0
        with self.lock:
            self.log.append((self.path, status))

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass


@dataclass
class Server:
    origin: str  # "http://127.0.0.1:<port>"
    root: Path
    log: list

    def url(self, path: str) -> str:
        return f"{self.origin}/{path.lstrip('/')}"


@pytest.fixture(scope="session")
def book_html() -> Path:
    html = site_dir()
    if not (html / "index.html").is_file():
        pytest.fail(
            f"No built site at {html} (no index.html there): run `make site` first, "
            f"or set BOOK_HTML to the folder that holds the built HTML.",
            pytrace=False,
        )
    return html


@pytest.fixture(scope="session")
def server(book_html: Path):
    handler = type("Handler", (_QuietHandler,), {"log": [], "lock": threading.Lock()})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(book_html)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="book-site-server", daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", book_html, handler.log)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Python package `playwright` is missing: "
                    "`.venv/bin/pip install -r requirements.txt`", pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"No Chromium at {CHROMIUM}: run `tools/ensure_chromium.sh` (or set "
                    f"CHROMIUM to a Chromium binary). Do not run `playwright install`.",
                    pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def context(browser, server):
    """One browser context for the session. Requests that leave the local server are
    aborted at once (so they cannot hang a test); the page recorders still see them."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900},
                              service_workers="block")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)

    # Only requests that leave the server are intercepted (the regex is matched inside
    # Playwright's driver, so local requests pay no round trip to Python).
    not_local = re.compile(rf"^(?!{re.escape(server.origin)}/|data:|blob:)")

    def block(route):
        if is_local_url(route.request.url, server.origin):  # cannot happen; be safe
            route.continue_()
        else:
            route.abort("blockedbyclient")

    ctx.route(not_local, block)
    yield ctx
    ctx.close()


class Recorder:
    """Everything a page does that a test may object to, since the last reset()."""

    def __init__(self, page, server: Server):
        self.server = server
        self.reset()
        self.pending: set = set()
        page.on("request", self._request)
        page.on("requestfinished", lambda r: self.pending.discard(r))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def reset(self):
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.bad_responses: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.server_mark = len(self.server.log)

    def _request(self, request):
        self.requests.append(request.url)
        self.pending.add(request)

    def _failed(self, request):
        self.pending.discard(request)
        self.failed.append(f"{request.url} ({request.failure})")

    def settle(self, page, quiet_ms: int = 150, timeout_ms: int = 5_000) -> bool:
        """Wait until no request has been in flight for `quiet_ms` (a quicker
        networkidle, which always waits 500 ms). False if that never happened."""
        quiet = waited = 0
        while waited < timeout_ms:
            page.wait_for_timeout(25)
            waited += 25
            quiet = 0 if self.pending else quiet + 25
            if quiet >= quiet_ms:
                return True
        return False

    def _response(self, response):
        if response.status >= 400:
            self.bad_responses.append(f"{response.status} {response.url}")

    def _console(self, msg):
        # MathJax reports a bad configuration as a warning ('MathJax: Invalid option').
        if msg.type == "error" or (msg.type == "warning" and msg.text.startswith("MathJax")):
            loc = msg.location or {}
            where = f" [{loc.get('url', '')}:{loc.get('lineNumber', '')}]" if loc else ""
            self.console_errors.append(f"{msg.text}{where}")

    @property
    def external(self) -> list[str]:
        return external_urls(self.requests, self.server.origin)

    @property
    def server_errors(self) -> list[str]:
        """Requests the server answered with >= 400, including ones Playwright does not
        report (Chromium fetches favicons outside the page's network events)."""
        return [f"{status} {self.server.origin}{path}"
                for path, status in self.server.log[self.server_mark:] if status >= 400]


@pytest.fixture(scope="session")
def new_page(context, server):
    """Open a fresh page with a Recorder attached: `page, rec = new_page()`."""
    pages = []

    def make():
        page = context.new_page()
        pages.append(page)
        return page, Recorder(page, server)

    yield make
    for page in pages:
        page.close()


# ---------------------------------------------------------------------------------------
# One visit per toc page, shared by the tests

_JS_IMAGES = """async (sel) => {
  const imgs = [...document.querySelectorAll(sel)];
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
    setTimeout(done, 5000);
  })));
  return imgs.map(img => ({src: img.currentSrc || img.src, alt: img.getAttribute('alt'),
                           naturalWidth: img.naturalWidth, complete: img.complete}));
}"""

_JS_MATHJAX = """async () => {
  const MJ = window.MathJax;
  if (!MJ || !MJ.startup || !MJ.startup.promise) return {loaded: false};
  const timeout = new Promise((_, fail) => setTimeout(() => fail(new Error('timed out')), 8000));
  try { await Promise.race([MJ.startup.promise, timeout]); }
  catch (e) { return {loaded: true, error: String(e)}; }
  return {loaded: true, version: MJ.version || ''};
}"""

_JS_MATH_STATE = """(sel) => {
  const article = document.querySelector(sel);
  const math = [...article.querySelectorAll('.math')];
  // TeX mistakes: MathJax shows an <merror> box, or (noundefined) a red \\macro.
  const errors = [];
  const MJ = window.MathJax;
  if (MJ && MJ.startup && MJ.startup.document && MJ.startup.toMML) {
    try {
      for (const item of MJ.startup.document.math) {
        const mml = MJ.startup.toMML(item.root);
        const tex = String(item.math).trim().slice(0, 80);
        const bad = mml.match(/<merror[^>]*>/) ? 'TeX error' : null;
        const undef = mml.match(/<mtext mathcolor="red">(\\\\[^<]*)<\\/mtext>/);
        if (bad) errors.push(`${bad} in ${tex}`);
        if (undef) errors.push(`undefined macro ${undef[1]} in ${tex}`);
      }
    } catch (e) { errors.push('could not inspect the typeset math: ' + e); }
  }
  return {
    math_elements: math.length,
    containers: article.querySelectorAll('mjx-container').length,
    untypeset: math.filter(m => !m.querySelector('mjx-container'))
                   .map(m => m.textContent.trim().slice(0, 80)),
    errors: errors,
  };
}"""

# The article's text outside code, scripts and typeset math: where leftover TeX would show.
_JS_PROSE_TEXT = """(sel) => {
  const article = document.querySelector(sel);
  const skip = 'pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight';
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT
                                                  : NodeFilter.FILTER_ACCEPT});
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  return parts.join('');
}"""

# Widths at the session's viewport (1280 px): notebook figures, code input cells, tables
# and the page itself. Folded code (hide-input) is unfolded while it is measured, since a
# reader can unfold it; solutions were opened by the solutions step before this one.
_JS_LAYOUT = """async (sel) => {
  const FIGURES = '.cell_output img, img.nb-output';
  const article = document.querySelector(sel);
  const closed = [...article.querySelectorAll('details:not([open])')];
  closed.forEach(d => { d.open = true; });
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const shown = el => { const b = el.getBoundingClientRect();
                        return b.width > 0 && b.height > 0; };
  const label = el => {
    const fig = el.closest('figure');
    const cap = fig && fig.querySelector('figcaption .caption-number');
    return cap ? cap.textContent.trim() : '';
  };
  const figures = [...article.querySelectorAll(FIGURES)].map(img => ({
    src: img.currentSrc || img.src, alt: (img.getAttribute('alt') || '').slice(0, 60),
    label: label(img), width_attr: img.getAttribute('width'),
    natural_width: img.naturalWidth, natural_height: img.naturalHeight, shown: shown(img),
    displayed: Math.round(img.getBoundingClientRect().width * 10) / 10,
    displayed_height: Math.round(img.getBoundingClientRect().height * 10) / 10}));
  const inputs = [...article.querySelectorAll('.cell_input pre')].map((pre, i) => {
    const lines = pre.textContent.split('\\n');
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
    const cell = pre.closest('.cell');
    return {index: i + 1, id: cell && cell.id || '', shown: shown(pre),
            folded: !!pre.closest('details'), scroll: pre.scrollWidth, client: pre.clientWidth,
            longest: longest.length, line: longest.slice(0, 90)};
  });
  const scrollerOf = el => {
    for (let p = el.parentElement; p && p !== article.parentElement; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return p;
    }
    return null;
  };
  const as = getComputedStyle(article);
  const aw = article.clientWidth - parseFloat(as.paddingLeft) - parseFloat(as.paddingRight);
  const tables = [...article.querySelectorAll('table')].filter(shown).map((t, i) => {
    const box = scrollerOf(t);
    const head = t.querySelector('th, td');
    return {index: i + 1, head: head ? head.textContent.trim().slice(0, 40) : '',
            width: Math.round(t.getBoundingClientRect().width),
            scroller: box ? {cls: box.className.split(' ')[0], client: box.clientWidth,
                             scroll: box.scrollWidth,
                             right: Math.round(box.getBoundingClientRect().right)} : null};
  });
  const result = {figures, inputs, tables, article_width: aw,
                  article_right: Math.round(article.getBoundingClientRect().right
                                            - parseFloat(as.paddingRight)),
                  article_scroll: article.scrollWidth - parseFloat(as.paddingLeft)
                                  - parseFloat(as.paddingRight),
                  page_scroll: document.documentElement.scrollWidth,
                  page_client: document.documentElement.clientWidth};
  closed.forEach(d => { d.open = false; });
  return result;
}"""

# The page in the dark theme (then the theme it had is restored): the computed CSS
# filter of every notebook figure (in a cell's output, or pasted with {glue:figure}:
# class nb-output) and of every other image; the alpha of each article image's own
# corner pixels (figures must keep an opaque background, or their dark labels vanish on
# the dark page); and whether the article's images outside solutions are displayed.
_JS_DARK = """async (sel) => {
  const FIGURES = '.cell_output img, img.nb-output';
  const root = document.documentElement, before = root.dataset.theme;
  root.dataset.theme = 'dark';
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const article = document.querySelector(sel);
  const name = img => (img.currentSrc || img.src).split('/').pop();
  const figures = [...article.querySelectorAll(FIGURES)].map(img => {
    const st = getComputedStyle(img);
    return {src: name(img), filter: st.filter, colour_map: img.classList.contains('nb-colour-map'),
            padding: ['Top', 'Right', 'Bottom', 'Left'].map(k => parseFloat(st['padding' + k]) || 0),
            background: st.backgroundColor};
  });
  const others = [...document.querySelectorAll('img')].filter(img => !img.matches(FIGURES))
    .map(img => ({src: name(img), filter: getComputedStyle(img).filter}));
  const corners = [...article.querySelectorAll('img')].map(img => {
    if (!img.complete || !img.naturalWidth) return {src: name(img), alpha: null};
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = (x, y) => ctx.getImageData(x, y, 1, 1).data[3];
    return {src: name(img), alpha: Math.min(px(0, 0), px(c.width - 1, 0),
                                            px(0, c.height - 1), px(c.width - 1, c.height - 1))};
  });
  const outside = [...article.querySelectorAll('img')]
    .filter(img => !img.closest('.solution, .toggle-hidden'));
  const shown = img => { const b = img.getBoundingClientRect(), st = getComputedStyle(img);
    return b.width > 0 && b.height > 0 && st.visibility !== 'hidden' && st.display !== 'none'; };
  const hidden = outside.filter(img => !shown(img)).map(img => img.getAttribute('alt') || name(img));
  if (before === undefined) delete root.dataset.theme; else root.dataset.theme = before;
  return {theme_applied: true, figures, others, corners, images: outside.length, hidden};
}"""

# The page narrowed to a phone (the visit resizes the window, it does not reload): the
# page's own width, each notebook figure's rendered and natural size, and the header's
# visible buttons with their size.
PHONE = {"width": 390, "height": 844}
_JS_PHONE = """async (sel) => {
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const article = document.querySelector(sel);
  const shown = el => { const b = el.getBoundingClientRect(), st = getComputedStyle(el);
    return b.width > 0 && b.height > 0 && st.visibility !== 'hidden' && st.display !== 'none'; };
  const figures = [...article.querySelectorAll('.cell_output img, img.nb-output')]
    .filter(shown).map(img => { const b = img.getBoundingClientRect();
      return {src: (img.currentSrc || img.src).split('/').pop().slice(0, 16),
              alt: (img.getAttribute('alt') || '').slice(0, 50),
              width: b.width, height: b.height,
              natural_width: img.naturalWidth, natural_height: img.naturalHeight}; });
  const buttons = [...document.querySelectorAll(
      '.bd-header-article .header-article-items button, .bd-header-article .header-article-items .btn')]
    .filter(b => !b.closest('.dropdown-menu')).filter(shown).map(b => {
      const r = b.getBoundingClientRect();
      return {name: b.getAttribute('aria-label') || b.getAttribute('title') || b.className.slice(0, 40),
              cls: String(b.className), width: Math.round(r.width * 10) / 10,
              height: Math.round(r.height * 10) / 10}; });
  const doc = document.documentElement;
  const vw = doc.clientWidth;
  const clipped = el => { for (let p = el.parentElement; p && p !== doc && p !== document.body;
                               p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
  const wide = doc.scrollWidth > vw + 1 ? [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > vw + 1 && !clipped(el)
                  && getComputedStyle(el).position !== 'fixed')
    .slice(0, 5).map(el => `${el.tagName.toLowerCase()}.${String(el.className).split(' ')[0]}: `
                           + (el.textContent || '').trim().slice(0, 50)) : [];
  return {page_scroll: doc.scrollWidth, page_client: vw, figures, buttons, wide};
}"""

_JS_ICONS = """() => [...document.querySelectorAll('link[rel~="icon"]')].map(l => l.href)"""


@dataclass
class PageVisit:
    entry: str
    url: str
    status: int | None = None
    final_url: str = ""
    article_found: bool = False
    requests: list = field(default_factory=list)
    external: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    bad_responses: list = field(default_factory=list)
    server_errors: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    icons: list = field(default_factory=list)  # (url, status)
    images: list = field(default_factory=list)
    source_has_math: bool = False
    mathjax: dict = field(default_factory=dict)
    math: dict = field(default_factory=dict)
    prose_text: str = ""
    solutions: list = field(default_factory=list)
    download: dict = field(default_factory=dict)
    layout: dict = field(default_factory=dict)
    dark: dict = field(default_factory=dict)
    phone: dict = field(default_factory=dict)
    viewport_metas: int = 0
    title: str = ""
    not_run: dict = field(default_factory=dict)  # step -> why that check could not run


class Site:
    def __init__(self, server: Server, new_page):
        self.server = server
        self.page, self.rec = new_page()
        self._visits: dict[str, PageVisit] = {}

    def page_url(self, entry: str) -> str:
        return self.server.url(f"{entry}.html")

    def visit(self, entry: str) -> PageVisit:
        if entry not in self._visits:
            self._visits[entry] = self._visit(entry)
        return self._visits[entry]

    def _visit(self, entry: str) -> PageVisit:
        page, rec = self.page, self.rec
        v = PageVisit(entry=entry, url=self.page_url(entry))
        html_file = self.server.root / f"{entry}.html"
        raw = html_file.read_text(encoding="utf-8") if html_file.is_file() else ""
        v.source_has_math = bool(re.search(r'class="[^"]*\bmath\b', raw))
        head = raw.split("</head>", 1)[0]
        v.viewport_metas = len(re.findall(r'<meta\s+name="viewport"', head))
        title = re.search(r"<title>(.*?)</title>", head, re.S)
        v.title = html_lib.unescape(title.group(1)).strip() if title else ""

        # Other tests open pages of their own; a background tab gets throttled
        # timers, which made every visit wait out its timeouts (20 s a page).
        page.bring_to_front()
        rec.reset()
        response = page.goto(v.url, wait_until="load")
        v.status = response.status if response else None
        v.final_url = page.url
        v.article_found = page.locator(ARTICLE).count() == 1
        for step in (self._images, self._math, self._solutions, self._layout, self._dark,
                     self._phone, self._download):
            name = step.__name__.lstrip("_")
            if v.status != 200 or not v.article_found:
                v.not_run[name] = f"the page did not load (HTTP {v.status}, article found: " \
                                  f"{v.article_found})"
                continue
            try:
                step(page, v)
            except Exception as exc:  # recorded; the test of this step then fails with it
                v.not_run[name] = f"{type(exc).__name__}: {exc}"
        self._icons(page, v)
        if not rec.settle(page):
            v.not_run["requests"] = ("requests still in flight after 5 s: "
                                     + ", ".join(r.url for r in list(rec.pending)[:5]))
        v.requests = list(rec.requests)
        v.external = rec.external
        v.failed = list(rec.failed)
        v.bad_responses = list(rec.bad_responses)
        v.server_errors = rec.server_errors
        v.console_errors = list(rec.console_errors)
        v.page_errors = list(rec.page_errors)
        return v

    # -- steps -----------------------------------------------------------------------

    def _images(self, page, v: PageVisit):
        v.images = page.evaluate(_JS_IMAGES, f"{ARTICLE} img")

    def _math(self, page, v: PageVisit):
        v.mathjax = page.evaluate(_JS_MATHJAX)
        v.math = page.evaluate(_JS_MATH_STATE, ARTICLE)
        v.prose_text = page.evaluate(_JS_PROSE_TEXT, ARTICLE)

    def _solutions(self, page, v: PageVisit):
        sols = page.locator(f"{ARTICLE} .solution")
        for i in range(sols.count()):
            sol = sols.nth(i)
            title = sol.locator(":scope > .admonition-title")
            body = sol.locator(":scope > :not(.admonition-title)")
            info = {
                "id": sol.get_attribute("id") or f"solution #{i + 1}",
                "title": title.first.inner_text().strip() if title.count() else "",
                "classes": sol.get_attribute("class") or "",
                "body_parts": body.count(),
                "title_visible": title.count() > 0 and title.first.is_visible(),
                "visible_before": [body.nth(j).is_visible() for j in range(body.count())],
            }
            if info["title_visible"] and info["body_parts"]:
                sol.scroll_into_view_if_needed()
                title.first.click()
                try:
                    body.first.wait_for(state="visible", timeout=3_000)
                except Exception:
                    pass
                info["visible_after"] = [body.nth(j).is_visible() for j in range(body.count())]
                info["text_after"] = " ".join(
                    body.nth(j).inner_text() for j in range(body.count())).strip()
                button = sol.locator("button.toggle-button")
                info["aria_expanded"] = (button.first.get_attribute("aria-expanded")
                                         if button.count() else None)
            v.solutions.append(info)

    def _layout(self, page, v: PageVisit):
        v.layout = page.evaluate(_JS_LAYOUT, ARTICLE)

    def _dark(self, page, v: PageVisit):
        v.dark = page.evaluate(_JS_DARK, ARTICLE)

    def _phone(self, page, v: PageVisit):
        before = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            v.phone = page.evaluate(_JS_PHONE, ARTICLE)
        finally:
            page.set_viewport_size(before)

    def _download(self, page, v: PageVisit):
        menu = page.locator(".dropdown-download-buttons")
        links = menu.locator("a")
        hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
        ipynb = [h for h in hrefs if urlsplit(h).path.endswith(".ipynb")]
        v.download = {"menus": menu.count(), "hrefs": hrefs, "ipynb": None}
        if not ipynb or menu.count() != 1:
            return
        # Open the menu the way a reader does, and check the link then shows.
        toggle = menu.locator("button.dropdown-toggle")
        toggle.click()
        link = menu.locator(f'a[href="{ipynb[0]}"]')
        try:
            link.wait_for(state="visible", timeout=3_000)
        except Exception:
            pass
        v.download["visible_after_click"] = link.is_visible()
        page.keyboard.press("Escape")
        url = urljoin(page.url, ipynb[0])
        resp = page.request.get(url)
        v.download["ipynb"] = {"url": url, "status": resp.status, "body": resp.text()}

    def _icons(self, page, v: PageVisit):
        """The favicon: every declared icon must load; with none declared the browser
        asks for /favicon.ico, so that must exist."""
        try:
            hrefs = page.evaluate(_JS_ICONS)
        except Exception as exc:
            v.not_run["icons"] = f"{type(exc).__name__}: {exc}"
            return
        for href in hrefs or [self.server.url("favicon.ico")]:
            if not is_local_url(href, self.server.origin):
                v.icons.append((href, "external"))
                continue
            v.icons.append((href, page.request.get(href).status))


@pytest.fixture(scope="session")
def site(server, new_page) -> Site:
    return Site(server, new_page)


# ---------------------------------------------------------------------------------------
# Report how many pages have exercise solutions (so the count is visible without -s)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    info = config.stash.get(SOLUTIONS_KEY, None)
    if info is None:
        return
    terminalreporter.write_sep("-", "book solutions")
    terminalreporter.write_line(info["line"])


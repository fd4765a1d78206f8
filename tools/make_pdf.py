"""The whole book as one PDF, printed by headless Chromium from the built site (`make pdf`).

    python tools/make_pdf.py [--html _build/html] [--out _build/html/dropout-book.pdf]

Jupyter Book 1's single-page builder fails with this theme, and a LaTeX build needs TeX.
So the PDF is printed from the site itself, offline:

1. The site folder is served on 127.0.0.1 (a free port) and headless Chromium (Debian's,
   /usr/bin/chromium or $CHROMIUM; never `playwright install`) opens an empty page that
   carries the site's stylesheets (the theme's, reader.css, print.css) and its MathJax.
2. A script in that page fetches every page of _toc.yml, in order, and appends each
   page's article: internal links become links inside the PDF (every id is prefixed by
   its page), code the site folds (plotting code, hidden cells) is left out but a folded
   cell's table is printed (the "Full results"), dropdown asides are opened, and exercise
   solutions move to an appendix at the end. A title page with the contents comes
   first.
3. MathJax typesets the math (its own fonts, from the site's _static), every image is
   loaded, and Chromium prints the page to A4 with page numbers and PDF bookmarks.
   print.css wraps long code lines instead of clipping them.
4. The contents on the title page get their page numbers: Chromium's PDF bookmarks (one
   per h1, read back with pypdf) say on which page each part starts; the numbers are
   written into the contents, whose lines kept room for them, and the book is printed
   again (once more if a number moved, which it cannot while the contents fit their
   page).

The default output is inside the site (dropout-book.pdf at its root), where every page's
download menu links to it (_ext/book_pdf.py).
"""
from __future__ import annotations

import argparse
import html
import http.server
import os
import re
import sys
import threading
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HTML = ROOT / "_build" / "html"
PDF_NAME = "dropout-book.pdf"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# The empty page the book is assembled in, written into the site folder while printing
# (so the site's relative _static/ paths hold) and removed afterwards.
SKELETON = "_pdf_book.html"
TIMEOUT_MS = 120_000


def toc_pages() -> list[str]:
    """The site paths of the toc's pages, in reading order ("book/intro.html", ...)."""
    sys.path.insert(0, str(ROOT))
    from courseware.book import toc_entries

    return [f"{entry}.html" for entry in toc_entries()]


def book_meta() -> dict:
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return {"title": config.get("title", ""), "author": config.get("author", ""),
            "copyright": str(config.get("copyright", ""))}


def skeleton(site: Path, first_page: str, meta: dict) -> str:
    """An empty page with the head of the site's first page: its stylesheets and the
    MathJax configuration and loader (paths made relative to the site's root)."""
    source = (site / first_page).read_text(encoding="utf-8")
    head = source.split("</head>", 1)[0]
    depth = first_page.count("/")
    prefix = "../" * depth

    def rebase(tag: str) -> str:
        return re.sub(r'(href|src)="' + re.escape(prefix),
                      lambda m: f'{m.group(1)}="', tag) if prefix else tag

    links = [rebase(t) for t in re.findall(r'<link rel="stylesheet"[^>]*>', head)]
    scripts = [rebase(m.group(0)) for m in re.finditer(r"<script[^>]*>.*?</script>", head, re.S)
               if "mathjax" in m.group(0).lower()]
    # MathJax would typeset the empty page at load; the script below typesets the book.
    scripts = [s.replace('window.MathJax = {', 'window.MathJax = {"startup": {"typeset": false}, ', 1)
               for s in scripts]
    title = html.escape(meta["title"])
    return ("<!DOCTYPE html>\n"
            f'<html lang="en" data-theme="light" data-mode="light"><head><meta charset="utf-8">'
            f"<title>{title}</title>\n" + "\n".join(links + scripts) + "\n</head>\n"
            '<body class="pdf-book"><main class="bd-main"><div class="bd-content">'
            '<div class="bd-article-container"><article class="bd-article" id="pdf-book">'
            "</article></div></div></main></body></html>\n")


# Runs in the empty page: fetches the toc's pages and appends their articles.
_JS_ASSEMBLE = r"""async ({pages, meta}) => {
  const book = document.getElementById('pdf-book');
  const base = location.href;
  const abs = pages.map(p => new URL(p, base).href);
  const prefixOf = url => 'p-' + new URL(url).pathname.replace(/^\//, '')
                                   .replace(/\.html$/, '').replace(/[^A-Za-z0-9_-]/g, '-');
  const inBook = new Map(abs.map(u => [u, prefixOf(u)]));
  const titles = [], solutions = [];
  let figures = 0;
  for (const url of abs) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const article = doc.querySelector('article.bd-article');
    if (!article) throw new Error(`${url}: no article.bd-article`);
    const prefix = inBook.get(url);
    // A folded cell whose output is a table (the chapters' "Full results", tagged
    // hide-cell so that a phone reader opens only the table they want): on paper the
    // table is printed, without its code.
    article.querySelectorAll('details.hide').forEach(d => {
      const tables = [...d.querySelectorAll('.cell_output')].filter(o => o.querySelector('table'));
      if (tables.length) d.replaceWith(...tables);
    });
    // What the site folds away is left out: plotting code and hidden cells (details.hide),
    // and the page's own scripts and heading anchors.
    article.querySelectorAll('details.hide, script, .headerlink, .toggle-button')
           .forEach(el => el.remove());
    // Asides folded in a dropdown are prose: open them.
    article.querySelectorAll('details').forEach(d => { d.open = true; });
    // Links: a page of the book (with or without #anchor) becomes an anchor of the PDF;
    // other files of the site are unlinked (the PDF cannot open them); the rest stays.
    article.querySelectorAll('[href]').forEach(el => {
      const target = new URL(el.getAttribute('href'), url);
      const page = target.href.split('#')[0];
      if (inBook.has(page)) {
        const p = inBook.get(page), hash = decodeURIComponent(target.hash.slice(1));
        el.setAttribute('href', '#' + (hash ? `${p}--${hash}` : p));
      } else if (target.origin === location.origin) {
        if (el.tagName === 'A') el.removeAttribute('href');
      } else {
        el.setAttribute('href', target.href);
      }
    });
    article.querySelectorAll('[src]').forEach(el => {
      el.setAttribute('src', new URL(el.getAttribute('src'), url).href);
    });
    article.querySelectorAll('img').forEach(img => { img.loading = 'eager'; });
    figures += article.querySelectorAll('img').length;
    article.querySelectorAll('[id]').forEach(el => { el.id = `${prefix}--${el.id}`; });
    const h1 = article.querySelector('h1');
    const title = h1 ? h1.textContent.trim() : url;
    titles.push(title);
    // Solutions go to the appendix, after a link back to their exercise.
    const moved = [...article.querySelectorAll('.solution')];
    moved.forEach(sol => sol.remove());
    if (moved.length) solutions.push({title, prefix, moved});
    const section = document.createElement('section');
    section.className = 'pdf-page';
    section.id = prefix;
    section.append(...article.childNodes);
    book.append(section);
  }
  if (solutions.length) {
    const appendix = document.createElement('section');
    appendix.className = 'pdf-page pdf-solutions';
    appendix.id = 'pdf-solutions';
    appendix.innerHTML = '<h1>Solutions to the exercises</h1>';
    for (const group of solutions) {
      const h2 = document.createElement('h2');
      const a = document.createElement('a');
      a.href = '#' + group.prefix;
      a.textContent = group.title;
      h2.append(a);
      // Each solution's title is a heading of the appendix (and a bookmark under it).
      group.moved.forEach(sol => {
        const t = sol.querySelector(':scope > .admonition-title');
        if (t) { t.setAttribute('role', 'heading'); t.setAttribute('aria-level', '3'); }
      });
      appendix.append(h2, ...group.moved);
    }
    book.append(appendix);
    titles.push('Solutions to the exercises');
  }
  // The title page: title, author, copyright, and the contents.
  const front = document.createElement('section');
  front.className = 'pdf-title';
  const esc = s => s.replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  const ids = [...abs.map(u => inBook.get(u)), ...(solutions.length ? ['pdf-solutions'] : [])];
  front.innerHTML = `<p class="pdf-book-title">${esc(meta.title)}</p>
    <p class="pdf-book-author">${esc(meta.author)}</p>
    <nav class="pdf-contents"><p class="pdf-contents-title">Contents</p><ol>
    ${titles.map((t, i) => `<li><a href="#${ids[i]}">${esc(t)}</a>`
      + `<span class="pdf-contents-leader"></span>`
      + `<span class="pdf-contents-page"></span></li>`).join('')}
    </ol></nav>
    <p class="pdf-book-note">Printed from the book's website, whose pages show the same
    text, figures and numbers. Code the website folds (the plotting code) is left out;
    the solutions to the exercises are at the end. &copy; ${esc(meta.copyright)}
    ${esc(meta.author)}.</p>`;
  book.prepend(front);
  return {pages: abs.length, titles, figures,
          solutions: solutions.reduce((n, g) => n + g.moved.length, 0)};
}"""

# The contents' page numbers, one per line of the contents, in order.
_JS_PAGE_NUMBERS = r"""(numbers) => {
  const cells = [...document.querySelectorAll('.pdf-contents .pdf-contents-page')];
  if (cells.length !== numbers.length) throw new Error(
    `${cells.length} lines in the contents, ${numbers.length} page numbers`);
  cells.forEach((cell, i) => { cell.textContent = String(numbers[i]); });
}"""

# Typeset the math and wait for every image; report what could not be done.
_JS_FINISH = r"""async () => {
  const MJ = window.MathJax;
  if (!MJ || !MJ.startup || !MJ.startup.promise) throw new Error('MathJax did not load');
  await MJ.startup.promise;
  await MJ.typesetPromise([document.getElementById('pdf-book')]);
  const imgs = [...document.querySelectorAll('img')];
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
  })));
  await document.fonts.ready;
  const broken = imgs.filter(img => !img.naturalWidth).map(img => img.src);
  const untypeset = [...document.querySelectorAll('#pdf-book .math')]
    .filter(m => !m.querySelector('mjx-container')).length;
  return {images: imgs.length, broken, untypeset,
          math: document.querySelectorAll('#pdf-book mjx-container').length};
}"""

_FOOTER = ('<div style="width:100%;font-size:8px;color:#555;padding:0 12mm;'
           'display:flex;justify-content:space-between;font-family:sans-serif">'
           '<span>{title}</span><span><span class="pageNumber"></span> / '
           '<span class="totalPages"></span></span></div>')


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass


def build(site: Path = DEFAULT_HTML, out: Path | None = None, browser=None) -> dict:
    """Print the built site in `site` into one PDF at `out`; returns what was done.

    `browser` is a Playwright Chromium browser to use (the browser tests pass theirs: one
    thread cannot run two Playwright instances); without one, Chromium is launched."""
    site = Path(site).resolve()
    out = Path(out or site / PDF_NAME).resolve()
    if not (site / "index.html").is_file():
        raise SystemExit(f"No built site at {site}: run `make site` first.")
    start = time.monotonic()
    pages, meta = toc_pages(), book_meta()
    missing = [p for p in pages if not (site / p).is_file()]
    if missing:
        raise SystemExit(f"pages of the toc missing from {site}: {missing}")
    (site / SKELETON).write_text(skeleton(site, pages[0], meta), encoding="utf-8")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        if browser is not None:
            info = _print(browser, origin, pages, meta, out)
        else:
            from playwright.sync_api import sync_playwright

            if not os.access(CHROMIUM, os.X_OK):
                raise SystemExit(f"No Chromium at {CHROMIUM}: run tools/ensure_chromium.sh "
                                 "(never `playwright install`).")
            with sync_playwright() as pw:
                own = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    info = _print(own, origin, pages, meta, out)
                finally:
                    own.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
        (site / SKELETON).unlink(missing_ok=True)
    info.update(out=str(out), bytes=out.stat().st_size, seconds=round(time.monotonic() - start, 1))
    return info


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def part_pages(pdf: Path, titles: list[str]) -> list[int] | None:
    """The page (1-based) on which each of `titles` starts in `pdf`, from its top-level
    bookmarks (Chromium writes one per h1, in order); None if they do not match."""
    import pypdf

    reader = pypdf.PdfReader(str(pdf))
    marks = [(_squeeze(item.title), reader.get_destination_page_number(item) + 1)
             for item in reader.outline if not isinstance(item, list)]
    found, at = [], 0
    for title in titles:
        want = _squeeze(title)
        while at < len(marks) and marks[at][0] != want:
            at += 1
        if at == len(marks):
            return None
        found.append(marks[at][1])
        at += 1
    return found


def _print(browser, origin: str, pages: list[str], meta: dict, out: Path) -> dict:
    context = browser.new_context(service_workers="block")
    try:
        # Offline: anything not from the local server is refused at once.
        blocked: list[str] = []

        def refuse(route):
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

        context.route(re.compile(rf"^(?!{re.escape(origin)}/|data:|blob:)"), refuse)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{origin}/{SKELETON}", wait_until="load")
        info = page.evaluate(_JS_ASSEMBLE, {"pages": pages, "meta": meta})
        info.update(page.evaluate(_JS_FINISH))
        if info["broken"] or info["untypeset"] or errors or blocked:
            raise SystemExit(f"the book did not render: {info['broken'][:5]} broken images, "
                             f"{info['untypeset']} untypeset formulas, errors {errors[:5]}, "
                             f"requests off this machine {blocked[:5]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.emulate_media(media="print")

        def print_book():
            page.pdf(path=str(out), format="A4", print_background=True,
                     margin={"top": "16mm", "bottom": "18mm", "left": "16mm",
                             "right": "16mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=_FOOTER.format(title=html.escape(meta["title"])),
                     outline=True, tagged=True)

        print_book()
        numbers = part_pages(out, info["titles"])
        if numbers is None:
            raise SystemExit("the PDF's bookmarks do not match the book's parts "
                             f"({info['titles']}): cannot number the contents")
        for _ in range(3):
            page.evaluate(_JS_PAGE_NUMBERS, numbers)
            print_book()
            again = part_pages(out, info["titles"])
            if again == numbers or again is None:
                break
            numbers = again
        else:
            raise SystemExit(f"the contents' page numbers do not settle: {numbers}")
        info["contents_pages"] = numbers
        return info
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--html", type=Path, default=DEFAULT_HTML, help="the built site")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the PDF (default: {PDF_NAME} at the site's root)")
    args = parser.parse_args(argv)
    info = build(args.html, args.out)
    mib = info["bytes"] / 2**20
    print(f"wrote {info['out']}: {info['pages']} pages of the toc, {info['images']} images, "
          f"{info['math']} formulas, {info['solutions']} solutions in the appendix; "
          f"{mib:.1f} MiB in {info['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

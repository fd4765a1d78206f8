"""The whole book as one PDF (`make pdf`, tools/make_pdf.py), read back with pypdf.

The PDF is printed once per session from the built site ($BOOK_HTML, default
_build/html) into a temporary folder, then checked against the site's own pages: one
file, every page's title in its text, a sane page count, every long code line whole
(printed pages used to clip them at the right edge), no raw TeX (the math is typeset),
every figure embedded, no missing glyph, a contents page with page numbers, solution
titles as headings, and every page's download menu linking to where `make pdf` writes
the file when the file is there (and to nothing after a plain site build).
"""
from __future__ import annotations

import importlib.util
import re
import time
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

from site_checks import listing, raw_math_fragments
from toc import toc_entries

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("make_pdf", ROOT / "tools" / "make_pdf.py")
make_pdf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_pdf)

PAGES = toc_entries()
#: Code lines at least this long are checked whole (shorter ones were never clipped).
LONG_LINE = 60
#: Seconds `make pdf` may take on top of the site build.
MAX_SECONDS = 120


class ArticleParts(HTMLParser):
    """What the PDF should show of one built page: the article's title (its first h1),
    its code lines and its images, leaving out what the site folds (details.hide)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, starts a part left out)
        self.in_article = self.done = False
        self.title: list[str] = []
        self.h1 = 0  # 1 while in the first h1, 2 after it
        self.pre: list[str] | None = None
        self.code: list[str] = []
        self.images: list[str] = []
        self.headerlink = 0

    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "article" and "bd-article" in cls and not self.done:
            self.in_article = True
            return
        if not self.in_article:
            return
        if tag == "img" and not self._hidden():
            self.images.append(a.get("src") or "")
        if tag in self.VOID:
            return
        self.stack.append((tag, tag == "details" and "hide" in cls))
        if tag == "h1" and self.h1 == 0:
            self.h1 = 1
        if tag == "a" and "headerlink" in cls:
            self.headerlink += 1
        if tag == "pre" and not self._hidden():
            self.pre = []

    def handle_endtag(self, tag):
        if not self.in_article:
            return
        if tag == "article" and not self.stack:
            self.in_article, self.done = False, True
            return
        while self.stack:
            top, _ = self.stack.pop()
            if top == "a" and self.headerlink:
                self.headerlink -= 1
            if top == "h1" and self.h1 == 1:
                self.h1 = 2
            if top == "pre" and self.pre is not None:
                self.code.extend("".join(self.pre).splitlines())
                self.pre = None
            if top == tag:
                break

    def handle_data(self, data):
        if not self.in_article:
            return
        if self.h1 == 1 and not self.headerlink:
            self.title.append(data)
        if self.pre is not None:
            self.pre.append(data)


def parts(site: Path, entry: str) -> ArticleParts:
    parser = ArticleParts()
    parser.feed((site / f"{entry}.html").read_text(encoding="utf-8"))
    parser.close()
    return parser


def squeeze(text: str) -> str:
    """Text without whitespace, ligatures and other compatibility forms (fi for the
    ligature), so a line wrapped across two lines of the PDF still matches."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.fixture(scope="session")
def book_pdf(book_html, browser, tmp_path_factory):
    try:
        import pypdf  # noqa: F401
    except ImportError:
        pytest.fail("Python package `pypdf` is missing (it reads the PDF back): `make setup`",
                    pytrace=False)
    out_dir = tmp_path_factory.mktemp("pdf")
    start = time.monotonic()
    info = make_pdf.build(book_html, out_dir / make_pdf.PDF_NAME, browser=browser)
    info["wall"] = time.monotonic() - start
    info["dir"] = out_dir
    return info


@pytest.fixture(scope="session")
def reader(book_pdf):
    import pypdf

    return pypdf.PdfReader(book_pdf["out"])


#: make_pdf.py prints with 16 mm side margins; in points.
SIDE_MARGIN = 16 / 25.4 * 72


@pytest.fixture(scope="session")
def extracted(reader) -> dict:
    """The PDF's text, and every run of monospace (code) text that ends past the right
    margin: text extraction also finds text the page hides under a clip or off its edge,
    so the runs are measured too. One pass (pypdf takes ~15 s for the book)."""
    texts, outside = [], []
    runs = 0
    sizes: dict[float, int] = {}  # printed size (pt) of proportional text -> characters
    for number, page in enumerate(reader.pages, 1):
        limit = float(page.mediabox.right) - SIDE_MARGIN + 2

        def visit(text, cm, tm, font, size, number=number, limit=limit):
            nonlocal runs
            em = _fixed_pitch_width(font) if font and text.strip() else None
            scale = tm[0] * cm[0] + tm[1] * cm[2]
            if em is None:
                if font and text.strip():
                    pt = round(abs(size * scale), 1)
                    sizes[pt] = sizes.get(pt, 0) + len(text.strip())
                return
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            runs += 1
            end = x + len(text.rstrip("\n")) * em * size * scale
            if end > limit:
                outside.append(f"page {number}: {text.strip()[:60]!r} ends at {end:.0f} pt "
                               f"(limit {limit:.0f})")

        texts.append(page.extract_text(visitor_text=visit) or "")
    return {"text": "\n".join(texts), "code_runs": runs, "outside": outside, "sizes": sizes}


@pytest.fixture(scope="session")
def pdf_text(extracted) -> str:
    return extracted["text"]


@pytest.fixture(scope="session")
def articles(book_html) -> dict[str, ArticleParts]:
    return {entry: parts(book_html, entry) for entry in PAGES}


def test_one_file_and_nothing_left_in_the_site(book_pdf, book_html):
    files = sorted(p.name for p in book_pdf["dir"].iterdir())
    assert files == [make_pdf.PDF_NAME], files
    assert not (book_html / make_pdf.SKELETON).exists(), "the assembled page was left behind"
    data = Path(book_pdf["out"]).read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1_000_000
    assert book_pdf["wall"] < MAX_SECONDS, f"make pdf took {book_pdf['wall']:.0f} s"


def test_every_page_of_the_toc_is_in_it(book_pdf, articles, pdf_text):
    assert book_pdf["pages"] == len(PAGES)
    text = squeeze(pdf_text)
    titles = {entry: "".join(a.title).strip() for entry, a in articles.items()}
    assert all(titles.values()), f"pages without an h1: {[e for e, t in titles.items() if not t]}"
    missing = [f"{entry}: {title!r}" for entry, title in titles.items()
               if squeeze(title) not in text]
    assert not missing, f"page titles not found in the PDF's text:\n{listing(missing)}"
    # In reading order after the title page (which lists them all): each title comes
    # after the previous one.
    start = text.find(squeeze("Printed from the book's website"))
    assert start > 0, "no title page"
    out_of_order = []
    for entry, title in titles.items():
        found = text.find(squeeze(title), start)
        if found < 0:
            out_of_order.append(f"{entry}: {title!r}")
        start = max(start, found)
    assert not out_of_order, (f"pages not in the toc's order (not found after the page "
                              f"before them):\n{listing(out_of_order)}")


def test_page_count_is_sane(reader, articles):
    n = len(reader.pages)
    # Every toc page starts on a new sheet, after the title page; the book is ~120 pages.
    assert len(articles) + 1 < n < 400, f"{n} pages"


def test_no_code_line_is_clipped(articles, pdf_text):
    text = squeeze(pdf_text)
    lines = {line.strip() for a in articles.values() for line in a.code
             if len(line.strip()) >= LONG_LINE}
    assert len(lines) > 20, f"only {len(lines)} long code lines found in the site"
    longest = max(lines, key=len)
    assert squeeze(longest) in text, f"the longest code line is not whole: {longest!r}"
    missing = sorted(line for line in lines if squeeze(line) not in text)
    assert not missing, (f"{len(missing)} of {len(lines)} long code lines are not whole in "
                         f"the PDF:\n{listing(missing)}")


def _fixed_pitch_width(font) -> float | None:
    """The advance of a fixed-pitch (monospace) Type0 font, in em; None for other fonts."""
    try:
        cid = font["/DescendantFonts"][0].get_object()
        if not int(cid["/FontDescriptor"].get_object().get("/Flags", 0)) & 1:
            return None
        widths = cid.get("/W")
        return float(widths[-1] if widths else cid.get("/DW", 1000)) / 1000
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def test_code_stays_within_the_page(extracted):
    """No run of code text ends past the right margin (off the page, or under a clip)."""
    assert extracted["code_runs"] > 1000, (
        f"only {extracted['code_runs']} runs of monospace text: is the code's font fixed-pitch?")
    outside = extracted["outside"]
    assert not outside, (f"{len(outside)} runs of code run past the right margin:\n"
                         f"{listing(outside)}")


def test_math_is_typeset(book_pdf, pdf_text):
    assert book_pdf["math"] > 100 and book_pdf["untypeset"] == 0
    raw = [f for f in raw_math_fragments(pdf_text) if not f.startswith("$...$")]
    assert not raw, f"raw TeX in the PDF's text:\n{listing(raw)}"


def _images(obj, seen: set, out: set):
    """Image XObjects reachable from a page or form's resources (by object number)."""
    resources = obj.get("/Resources")
    resources = resources.get_object() if resources is not None else {}
    xobjects = resources.get("/XObject")
    for ref in (xobjects.get_object() if xobjects is not None else {}).values():
        key = getattr(ref, "idnum", id(ref))
        if key in seen:
            continue
        seen.add(key)
        x = ref.get_object()
        if x.get("/Subtype") == "/Image":
            out.add(key)
        elif x.get("/Subtype") == "/Form":
            _images(x, seen, out)


def test_figures_are_embedded(reader, articles, book_html):
    shown = {urljoin(f"{entry}.html", src) for entry, a in articles.items() for src in a.images}
    assert len(shown) >= 30, f"only {len(shown)} images in the site's articles"
    seen: set = set()
    embedded: set = set()
    for page in reader.pages:
        _images(page, seen, embedded)
    assert len(embedded) >= len(shown), (
        f"{len(embedded)} images in the PDF, {len(shown)} distinct images in the pages")


def _book_pdf_links(page: str) -> tuple[list[str], list[str]]:
    """The hrefs to the book's PDF in a built page's download menu, and in the rest."""
    menu = page.split('class="dropdown dropdown-download-buttons"', 1)
    assert len(menu) == 2, "no download menu"
    items = menu[1].split("</ul>", 1)[0]
    in_menu = re.findall(r'<a href="([^"]+)"[^>]*btn-download-book-pdf-button', items)
    rest = page.replace(items, "")
    elsewhere = [h for h in re.findall(r'href="([^"]+)"', rest) if h.endswith(make_pdf.PDF_NAME)]
    return in_menu, elsewhere


@pytest.mark.parametrize("entry", PAGES)
def test_download_menu_links_to_the_book_pdf_when_there_is_one(entry, book_html):
    """Every page's download menu offers the whole book's PDF, at the path `make pdf`
    writes (tools/make_pdf.py: dropout-book.pdf at the site's root), when that file is
    there; after a plain site build it is not, and no page may link to it (the menu's
    "book .pdf" was a 404)."""
    present = (book_html / make_pdf.PDF_NAME).is_file()
    page = (book_html / f"{entry}.html").read_text(encoding="utf-8")
    in_menu, elsewhere = _book_pdf_links(page)
    if not present:
        assert not in_menu and not elsewhere, (
            f"{entry} links to {make_pdf.PDF_NAME}, which this build has not made: "
            f"{in_menu + elsewhere}")
        return
    assert len(in_menu) == 1, f"{entry}: no 'book .pdf' link in the download menu"
    target = (book_html / entry).parent / in_menu[0]
    assert target.resolve() == (book_html / make_pdf.PDF_NAME).resolve(), in_menu[0]

# The browser's print of one page (the download menu's "print page") wraps code too.
_JS_PRINTED_CODE = """(sel) => [...document.querySelectorAll(sel + ' pre')]
  .filter(pre => pre.getBoundingClientRect().width > 0)
  .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
  .map(pre => pre.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, ''))"""


@pytest.mark.parametrize("entry", [e for e in PAGES if re.search(r"/\d\d_", e)])
def test_printing_one_page_wraps_its_code(entry, new_page, site):
    page, _ = new_page()
    # An A4 sheet's printable width at 96 px per inch, with the browser's usual margins.
    page.set_viewport_size({"width": 720, "height": 1000})
    page.goto(site.page_url(entry), wait_until="load")
    page.emulate_media(media="print")
    wide = page.evaluate(_JS_PRINTED_CODE, "article.bd-article")
    assert not wide, (f"{entry}: {len(wide)} code blocks scroll (are clipped) when the page "
                      f"is printed; their longest lines:\n{listing(wide)}")


def test_intro_offers_the_book_pdf(book_html):
    """The intro's "On paper" paragraph links to the PDF when it exists, and otherwise
    says, unlinked, what prints it."""
    root = toc_entries()[0]
    page = (book_html / f"{root}.html").read_text(encoding="utf-8")
    hrefs = [h for h in re.findall(r'href="([^"]+)"', page) if h.endswith(make_pdf.PDF_NAME)]
    targets = {((book_html / root).parent / h).resolve() for h in hrefs}
    if (book_html / make_pdf.PDF_NAME).is_file():
        assert (book_html / make_pdf.PDF_NAME).resolve() in targets, (
            f"{root}: no link to {make_pdf.PDF_NAME} at the site's root: {hrefs}")
    else:
        assert not hrefs, f"{root} links to a PDF this build has not made: {hrefs}"
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
        assert "The whole book as one PDF" in text and "make pdf" in text, (
            f"{root}: the intro no longer says what prints the PDF")


def test_no_missing_glyphs(pdf_text):
    """No character the fonts lack (a box on paper; NUL or U+FFFD in the text): every
    exercise title ended with one, the pencil icon the site draws after it."""
    bad = [m.start() for m in re.finditer("[\x00\ufffd]", pdf_text)]
    context = [repr(pdf_text[max(0, i - 40):i + 2]) for i in bad]
    assert not bad, f"{len(bad)} missing glyphs in the PDF's text:\n{listing(context)}"


def _bookmarks(reader, items=None, depth=0):
    """(depth, title, page number) of every bookmark of the PDF, in order."""
    out = []
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            out += _bookmarks(reader, item, depth + 1)
        else:
            out.append((depth, item.title, reader.get_destination_page_number(item) + 1))
    return out


def test_contents_give_page_numbers(reader, articles):
    """The title page's contents give, for each part, the page it starts on: the page
    of its bookmark (Chromium writes one per h1)."""
    first = reader.pages[0].extract_text()
    parts = [(title, page) for depth, title, page in _bookmarks(reader) if depth == 0]
    assert len(parts) == len(articles) + 1, f"{len(parts)} top-level bookmarks: {parts}"
    lines = [squeeze(line) for line in first.splitlines()]
    problems = []
    for title, page in parts:
        want = squeeze(title) + str(page)
        if not any(line.endswith(want) and line.startswith(squeeze(title)[:12])
                   for line in lines):
            problems.append(f"{title!r}: starts on page {page}")
    assert not problems, (f"contents lines without the right page number:\n"
                          f"{listing(problems)}\nthe title page reads:\n{first[:1500]}")


def test_solution_titles_are_headings(reader, book_pdf):
    """In the appendix each solution's title is a heading (bold, and a bookmark under its
    chapter), not a line of body text."""
    marks = _bookmarks(reader)
    solutions = [t for d, t, _ in marks if d > 0 and t.startswith("Solution to Exercise")]
    assert book_pdf["solutions"] >= 10
    assert len(solutions) == book_pdf["solutions"], (
        f"{len(solutions)} solution bookmarks for {book_pdf['solutions']} solutions")


def test_folded_tables_are_printed(articles, book_html, pdf_text):
    """A table the site folds (the chapters' "Full results", one fold per table for a
    phone reader) is printed, caption and all: on paper nothing can be unfolded."""
    text = squeeze(pdf_text)
    captions = []
    for entry in PAGES:
        page = (book_html / f"{entry}.html").read_text(encoding="utf-8")
        for fold in re.findall(r'<details class="admonition hide[^"]*">(.*?)</details>', page, re.S):
            captions += [re.sub(r"<[^>]+>", "", c) for c in
                         re.findall(r"<caption>(.*?)</caption>", fold, re.S)]
    assert len(captions) >= 10, f"only {len(captions)} folded tables with a caption"
    import html as html_lib

    missing = [c for c in captions if squeeze(html_lib.unescape(c)) not in text]
    assert not missing, f"folded tables not in the PDF:\n{listing(missing)}"


def test_body_text_is_printed_at_full_size(extracted):
    """Most text is printed at 11-13 pt (the site's 16 px at 100%): anything wider than
    the page (a 905 px equation did it) makes Chromium shrink the whole book to fit, and
    the book was printed at 74%, its body text at 9 pt."""
    sizes = extracted["sizes"]
    total = sum(sizes.values())
    assert total > 100_000, f"only {total} characters of proportional text measured"
    body = max(sizes, key=sizes.get)
    assert 11 <= body <= 13, (f"the body text is printed at {body} pt; sizes by share: "
                              f"{sorted(sizes.items(), key=lambda kv: -kv[1])[:5]}")

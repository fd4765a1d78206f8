"""Pure helpers of the browser tests: judging alt text, URLs and leftover TeX.

Nothing here needs a browser or a built site, so test_helpers.py checks each judge on
examples that must pass and examples that must fail.
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

# The main content of a sphinx-book-theme page: where images, math and solutions are checked.
ARTICLE = "#main-content article.bd-article"

# Where the solutions test leaves its count for the terminal summary (conftest.py).
SOLUTIONS_KEY = pytest.StashKey[dict]()

# ---------------------------------------------------------------------------------------
# Alt text

IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".pdf")

# myst-nb gives an output image without `mystnb.image.alt` metadata its own path as alt,
# e.g. "../_images/9dcb78…a5ca.png"; nbconvert-style names look like "output_3_0.png".
_FILE_NAME_LIKE = re.compile(
    r"""^(?:[\w.\-]*/)*          # any folders, e.g. ../_images/
        (?:[0-9a-f]{16,}         # a content hash
          |output_\d+_\d+        # nbconvert's output_<cell>_<n>
          |_images|image\d*|figure\d*|fig\d*|img\d*|plot\d*)
        (?:\.\w{2,5})?$""",
    re.IGNORECASE | re.VERBOSE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*|\d+")
MIN_ALT_WORDS = 3


def alt_text_problem(alt: str | None) -> str | None:
    """Why `alt` does not describe an image, or None if it is acceptable.

    Acceptable alt text is present, is not a file name or path, and has at least
    three words: "A histogram of kept counts against the binomial pmf" is fine,
    "", "output_3_0.png", "../_images/3fa9….png" and "plot" are not.
    """
    if alt is None:
        return "no alt attribute"
    text = alt.strip()
    if not text:
        return "empty alt text"
    if text.lower().endswith(IMAGE_SUFFIXES):
        return f"alt text is a file name ({text!r})"
    if _FILE_NAME_LIKE.match(text) or (" " not in text and "/" in text):
        return f"alt text looks like a file name or path ({text!r})"
    words = _WORD.findall(text)
    if len(words) < MIN_ALT_WORDS:
        return (f"alt text {text!r} has {len(words)} word(s); describe the image "
                f"in at least {MIN_ALT_WORDS}")
    return None


# ---------------------------------------------------------------------------------------
# Offline: every request must stay on the local test server

def is_local_url(url: str, origin: str) -> bool:
    """True if the browser may request `url` from a site served at `origin`.

    `origin` is "http://127.0.0.1:<port>". Allowed: that origin (exactly: same host
    and port), and data:/blob: URLs, which never touch the network.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("data", "blob"):
        return True
    try:
        want, got = urlsplit(origin), urlsplit(url)
        return (got.scheme, got.hostname, got.port) == (want.scheme, want.hostname, want.port)
    except ValueError:  # e.g. a port that is not a number: "http://127.0.0.1:80.evil.com/"
        return False


def external_urls(urls: list[str], origin: str) -> list[str]:
    """The URLs (deduplicated, in first-seen order) that leave `origin`."""
    seen: dict[str, None] = {}
    for url in urls:
        if not is_local_url(url, origin):
            seen.setdefault(url, None)
    return list(seen)


# ---------------------------------------------------------------------------------------
# Math: TeX that MathJax should have typeset but that is still visible as text

_RAW_MATH = [
    ("$$", re.compile(r"\$\$")),
    (r"\(", re.compile(r"\\\(")),
    (r"\[", re.compile(r"\\\[")),
    (r"\begin{", re.compile(r"\\begin\{")),
    # TeX-style inline math: no space just inside the dollars ("$x^2$", not "$5 and $10").
    ("$...$", re.compile(r"(?<![\\$])\$(?=[^\s$])[^$\n]{1,200}?(?<=[^\s$\\])\$(?!\$)")),
]


def raw_math_fragments(text: str) -> list[str]:
    """Snippets of `text` that look like un-typeset TeX, each with a little context."""
    found = []
    for name, pattern in _RAW_MATH:
        for m in pattern.finditer(text):
            start, end = max(0, m.start() - 30), min(len(text), m.end() + 30)
            found.append(f"{name}: …{text[start:end]}…".replace("\n", " "))
    return found


# ---------------------------------------------------------------------------------------
# Messages

def listing(items, limit: int = 20) -> str:
    """A bullet list for assertion messages."""
    items = list(items)
    lines = [f"  - {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"  … and {len(items) - limit} more")
    return "\n".join(lines)


def notebook_problem(text: str) -> str | None:
    """Why `text` is not a valid Jupyter notebook (nbformat 4), or None if it is one."""
    import nbformat

    try:
        json.loads(text)
    except ValueError as exc:
        return f"not JSON: {exc}"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several kinds
        return f"not a valid notebook: {type(exc).__name__}: {str(exc)[:300]}"
    if nb.nbformat != 4:
        return f"nbformat {nb.nbformat}, expected 4"
    if not nb.cells:
        return "the notebook has no cells"
    return None


# ---------------------------------------------------------------------------------------
# Figures: the width a figure was drawn for

# The book's figures are drawn at 100 dpi (1 inch = 100 CSS px) and saved at 2x pixel
# density ("retina"), which records the CSS size as the <img>'s width attribute.
LOGICAL_DPI = 100
MIN_FIGURE_SHARE = 0.85  # displayed width / intended width, at 1280 px


def png_dpi(data: bytes) -> float | None:
    """The resolution a PNG records in its pHYs chunk (dots per inch), or None."""
    import struct

    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs" and length >= 9:
            x_per_unit, _, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            return x_per_unit * 0.0254 if unit == 1 else None
        if kind in (b"IDAT", b"IEND"):
            return None  # pHYs must come before the image data
        pos += 12 + length
    return None


def css_pixels(value: str | None) -> float | None:
    """A width attribute in CSS px ("680", "680px", "680.5"), or None ("", "80%")."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(px)?\s*", value)
    return float(m.group(1)) if m else None


def intended_width(width_attr: str | None, natural_width: int, dpi: float | None) -> float:
    """The CSS width a notebook figure was drawn for.

    Its width attribute when it has one in px; otherwise its pixel width, halved for an
    image saved at 2x density (a PNG recording at least twice LOGICAL_DPI)."""
    width = css_pixels(width_attr)
    if width:
        return width
    if dpi is not None and dpi >= 2 * LOGICAL_DPI - 1:
        return natural_width / 2
    return float(natural_width)


# ---------------------------------------------------------------------------------------
# Keyboard focus

_COLOUR = re.compile(r"rgba?\(([^)]*)\)")


def _alpha(colour: str) -> float:
    m = _COLOUR.search(colour)
    if not m:
        return 0.0 if colour.strip() in ("", "transparent") else 1.0
    parts = [p for p in re.split(r"[\s,/]+", m.group(1).strip()) if p]
    return float(parts[3]) if len(parts) > 3 else 1.0


def focus_ring_visible(outline_style: str, outline_width: str, outline_color: str,
                       box_shadow: str) -> bool:
    """Whether computed outline/box-shadow values draw something a reader can see: an
    outline at least 1 px wide in a colour that is not transparent, or a box shadow
    with a visible colour and some blur or spread (computed style writes the colour
    first: "rgb(1, 2, 3) 0px 0px 0px 3px")."""
    width = float(re.sub(r"[^\d.]", "", outline_width) or 0)
    if outline_style not in ("none", "hidden", "") and width >= 1 and _alpha(outline_color) > 0:
        return True
    if box_shadow in ("none", ""):
        return False
    for shadow in re.split(r",(?![^()]*\))", box_shadow):
        colour = _COLOUR.search(shadow)
        lengths = [float(x) for x in re.findall(r"(-?\d+(?:\.\d+)?)px",
                                                _COLOUR.sub("", shadow))]
        blur_spread = lengths[2:4]
        if (colour is None or _alpha(colour.group(0)) > 0) and any(abs(v) > 0 for v in blur_spread):
            return True
    return False

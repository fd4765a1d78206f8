"""Mark the figures that notebooks drew: class `nb-output` on their <img>.

myst-nb writes every image output of a notebook under a name that is its content hash
(64 hex digits). Those in a code cell's output already sit inside `.cell_output`, but a
figure pasted elsewhere with `{glue:figure}` is a bare <figure><img>, like an image an
author placed by hand. The class lets book/_static/reader.css give notebook figures
their dark-mode variant without touching any other image (logos, photographs,
diagrams), and lets the browser tests find them.

A figure that shows a colour map (a heat map, an image grid) also gets class
`nb-colour-map`. In dark mode reader.css inverts the other figures (a dark variant with
the same hues), but inverting a colour map flips its lightness: viridis turns pink and
olive, and its colour bar no longer matches what a reader knows. Those figures keep
their colours on their own white background. A figure shows a colour map when the code
cell that drew it maps values to colours: it calls imshow, matshow, pcolor(mesh),
contourf, hist2d, hexbin or colorbar, or passes cmap= (the notebook's output is matched
to the image by myst-nb's file name, the SHA-256 of the image). That holds for a figure
pasted elsewhere with {glue:figure} too, and needs no tag. An image whose cell is not
found (none in the book today) falls back on its pixels: at least
`notebook_figures_colour_map_min` (12) distinct saturated colours each covering 0.1% of
it (line, bar and scatter plots have at most 10; chapter 5's heat map of 15 cells has 10,
which is why the pixels alone missed it).

On the written page every such <img> also gets its size as attributes instead of an
inline style. myst-nb writes a 2x figure's CSS size as `style="width: 691px; height:
351px;"`; the theme's `max-width: 100%` then narrows the width on a phone but not the
height, and a figure was squashed to half its aspect ratio at 390 px. As `width` and
`height` attributes the size only tells the browser the intrinsic aspect ratio (so it
reserves the right box before the image loads), and reader.css's `height: auto` keeps
that ratio at every width. Every figure after the page's first is lazy-loaded. Sphinx
already wraps a sized image in a link to the image file (a tap opens it full size);
a figure without one is wrapped here.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path, PurePosixPath

from docutils import nodes

OUTPUT_NAME = re.compile(r"^[0-9a-f]{64}\.(png|jpe?g|svg|gif|webp)$")
CLASS = "nb-output"
COLOUR_MAP = "nb-colour-map"


def is_output_image(uri: str) -> bool:
    return bool(OUTPUT_NAME.match(PurePosixPath(uri.replace("\\", "/")).name))


def distinct_colours(path) -> int:
    """How many distinct saturated colours (16 levels a channel) each cover at least
    0.1% of the image at `path`; 0 if it cannot be read."""
    try:
        import numpy as np
        from PIL import Image

        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB")).reshape(-1, 3).astype(np.int32)
    except Exception:  # not an image Pillow reads (an SVG), or no Pillow: no colour map
        return 0
    hi, lo = rgb.max(axis=1), rgb.min(axis=1)
    colourful = rgb[((hi - lo) > 0.25 * np.maximum(hi, 1)) & (hi > 40)] // 16
    if not len(colourful):
        return 0
    _, counts = np.unique(colourful @ np.array([256, 16, 1]), return_counts=True)
    return int((counts >= 0.001 * len(rgb)).sum())


_COLOURS: dict[str, int] = {}

# A call that maps values to colours, in the code that drew a figure.
COLOUR_MAP_CODE = re.compile(
    r"\b(?:imshow|matshow|pcolor|pcolormesh|contourf|hist2d|hexbin|colorbar)\s*\("
    r"|\bcmap\s*=")


def drawn_by(notebook) -> dict[str, str]:
    """The code of the cell that drew each image output of `notebook` (a path to an
    .ipynb), by the image's file name as myst-nb writes it: the SHA-256 of its bytes."""
    try:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        for output in cell.get("outputs", []):
            for mime, data in (output.get("data") or {}).items():
                if not mime.startswith("image/") or mime == "image/svg+xml":
                    continue
                try:
                    raw = base64.b64decode("".join(data) if isinstance(data, list) else data)
                except (ValueError, TypeError):
                    continue
                found[hashlib.sha256(raw).hexdigest()] = source
    return found


def is_colour_map(source: str) -> bool:
    return bool(COLOUR_MAP_CODE.search(source))


_SOURCES: dict[str, dict[str, str]] = {}


def _image_path(app, uri: str):
    path = Path(uri)
    return path if path.is_absolute() else Path(app.srcdir) / uri


def _mark(app, doctree, docname):
    notebook = str(app.env.doc2path(docname))
    if not notebook.endswith(".ipynb"):
        return
    if notebook not in _SOURCES:
        _SOURCES[notebook] = drawn_by(notebook)
    sources = _SOURCES[notebook]
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if not is_output_image(uri):
            continue
        if CLASS not in image["classes"]:
            image["classes"].append(CLASS)
        digest = PurePosixPath(uri.replace("\\", "/")).stem
        if digest in sources:
            colour_map = is_colour_map(sources[digest])
        else:
            key = str(_image_path(app, uri))
            if key not in _COLOURS:
                _COLOURS[key] = distinct_colours(key)
            colour_map = _COLOURS[key] >= app.config.notebook_figures_colour_map_min
        if colour_map and COLOUR_MAP not in image["classes"]:
            image["classes"].append(COLOUR_MAP)


_IMG = re.compile(r"<img\b[^>]*>")
_STYLE_SIZE = re.compile(
    r'\sstyle="\s*width:\s*(\d+(?:\.\d+)?)px;\s*height:\s*(\d+(?:\.\d+)?)px;?\s*"')
_LINK_BEFORE = re.compile(r"<a\b[^>]*>\s*$")


def _has_class(tag: str, name: str) -> bool:
    m = re.search(r'\sclass="([^"]*)"', tag)
    return bool(m) and name in m.group(1).split()


def sized_figures(body: str) -> tuple[str, int]:
    """`body` with each notebook figure's inline size turned into width/height attributes,
    every figure after the first lazy-loaded, and every figure inside a link to its file.
    Returns the new body and how many figures were rewritten."""
    out, pos, count = [], 0, 0
    for m in _IMG.finditer(body):
        tag = m.group(0)
        if not _has_class(tag, CLASS):
            continue
        new = tag
        size = _STYLE_SIZE.search(new)
        if size:
            w, h = (str(round(float(v))) for v in size.groups())
            new = new.replace(size.group(0), f' width="{w}" height="{h}"')
        extra = ' decoding="async"' if "decoding=" not in new else ""
        if count and "loading=" not in new:
            extra += ' loading="lazy"'
        new = re.sub(r"\s*/?>$", lambda end: extra + end.group(0), new, count=1)
        src = re.search(r'\ssrc="([^"]*)"', new)
        if src and not _LINK_BEFORE.search(body[max(0, m.start() - 300):m.start()]):
            new = f'<a class="{CLASS}-link" href="{src.group(1)}">{new}</a>'
        out.append(body[pos:m.start()])
        out.append(new)
        pos = m.end()
        count += 1
    out.append(body[pos:])
    return "".join(out), count


def _size(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and CLASS in body:
        context["body"], _ = sized_figures(body)


def setup(app):
    app.add_config_value("notebook_figures_colour_map_min", 12, "html")
    app.connect("doctree-resolved", _mark)
    app.connect("html-page-context", _size)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

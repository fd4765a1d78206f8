"""Mark the figures that notebooks drew: class `nb-output` on their <img>.

myst-nb writes every image output of a notebook under a name that is its content hash
(64 hex digits). Those in a code cell's output already sit inside `.cell_output`, but a
figure pasted elsewhere with `{glue:figure}` is a bare <figure><img>, like an image an
author placed by hand. The class lets book/_static/reader.css give notebook figures
their dark-mode variant without touching any other image (logos, photographs,
diagrams), and lets the browser tests find them.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from docutils import nodes

OUTPUT_NAME = re.compile(r"^[0-9a-f]{64}\.(png|jpe?g|svg|gif|webp)$")
CLASS = "nb-output"


def is_output_image(uri: str) -> bool:
    return bool(OUTPUT_NAME.match(PurePosixPath(uri.replace("\\", "/")).name))


def _mark(app, doctree, docname):
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    for image in doctree.findall(nodes.image):
        if is_output_image(image.get("uri", "")) and CLASS not in image["classes"]:
            image["classes"].append(CLASS)


def setup(app):
    app.connect("doctree-resolved", _mark)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

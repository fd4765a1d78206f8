"""Work around Sphinx 7 emitting inline <script> blocks twice (sphinx-doc/sphinx#13402,
fixed in Sphinx 8.2, which Jupyter Book 1 cannot use): "const THEBE_JS_URL" declared
twice is an uncaught SyntaxError on every page."""


def _dedupe(app, pagename, templatename, context, doctree):
    files = context.get("script_files")
    if not files:
        return
    seen, unique = set(), []
    for js in files:
        key = (js.filename or "", tuple(sorted(js.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""A chapter as JupyterLab shows it, and as the website does: numbers as values, folds closed.

**Numbers.** A number in the prose is computed by a hidden code cell,
``glue("masks_p_drop", f"{p:.1f}", display=False)``. myst-nb pastes it on the site with
``{glue:text}`masks_p_drop```, but JupyterLab has no renderer for that role and shows the
name. So the stored markdown carries the value itself, between two HTML comments that
name its source (the role's text: a glue name, and ``:fmt`` if a format spec is used)::

    With <!--num:masks_p_drop-->0.3<!--/num--> of the units dropped ...

Both renderers hide HTML comments (myst-parser on the site, jupyterlab-myst in
JupyterLab), so both show the value, and so do the PDF and the search index. The glue()
calls stay: they are the computed source of truth, and nbval checks their outputs.

- :func:`write_numbers` (run by ``make execute``, ``tools/execute_notebooks.py``) rewrites
  every marked value from the notebook's glue outputs and turns every ``{glue:text}`` role
  into the marked form;
- :func:`number_problems` (the hygiene tests) lists every marked value that differs from
  its glue output, every name no glue() defines, and every role left;
- :func:`plain_numbers` writes the values without markers (the student edition and the
  nbgrader release, ``courseware.assignment.handout``).

One function computes a value, :func:`glue_value`: myst-nb's ``{glue:text}`` formatting
(``myst_nb.core.variables.format_plain_text``) of the glue's stored ``text/plain``,
escaped for Markdown.

**Folds.** The site folds or removes cells by their tags; :func:`collapse` gives JupyterLab
the same view through the cells' ``jupyter`` metadata (``source_hidden``,
``outputs_hidden``), and :func:`collapse_problems` lists the cells that disagree.
"""
from __future__ import annotations

import re
from ast import literal_eval
from collections.abc import Container, Mapping

from nbformat import NotebookNode

__all__ = ["COLLAPSE", "MARKED", "ROLE", "collapse", "collapse_problems", "format_text",
           "glue_value", "glued", "marked", "number_problems", "plain_numbers",
           "write_numbers"]

#: The MIME prefix of ``glue(..., display=False)`` outputs (myst_nb.ext.glue.GLUE_PREFIX).
GLUE_PREFIX = "application/papermill.record/"

#: A marked value: ``<!--num:REF-->VALUE<!--/num-->``, REF as in ``{glue:text}`REF```.
MARKED = re.compile(r"<!--num:(?P<ref>[^<>]*?)-->(?P<value>.*?)<!--/num-->", re.DOTALL)
#: The role that :func:`write_numbers` converts.
ROLE = re.compile(r"(?<!`)\{glue:text\}`(?P<ref>[^`]+)`")
#: Every glue role (JupyterLab shows each as its name); only {glue:text} is converted.
ANY_ROLE = re.compile(r"(?<!`)\{glue(?::\w+)?\}`[^`]+`")
_EITHER = re.compile(r"<!--num:(?P<ref>[^<>]*?)-->.*?<!--/num-->"
                     r"|(?<!`)\{glue:text\}`(?P<role>[^`]+)`", re.DOTALL)
_OPENERS = re.compile(r"<!--/?num\b")

# Markdown that a value's characters could start: escaped with a backslash, which both
# renderers drop (CommonMark backslash escapes).
_SPECIAL = re.compile(r"([\\`*_$<>|~{}&])")
# A marker at the start of a line (after indentation and block-quote markers) would open
# an HTML block in CommonMark, and the whole line would be shown as raw HTML.
_LINE_START = re.compile(r"^(?P<prefix>[ \t]*(?:>[ \t]?)*)(?=<!--num:)", re.MULTILINE)
# A word that could start a block (list item, quote, heading, table, fence, option...).
_UNSAFE_START = re.compile(r"^(?:[-*+>#|=~:_]|\d+[.)]$)")
# A line that a following line cannot simply continue.
_NOT_PROSE = re.compile(r"^\s*(?:$|`{3,}|~{3,}|:{3,}|\$\$|\||:[\w-]+:|#|<|(?:[-*+]|\d+[.)])\s*$)")


def glued(nb: NotebookNode, skip: Container[int] = ()) -> dict[str, str]:
    """name -> stored ``text/plain`` of every glue() output of ``nb``'s code cells, except
    the cells whose index is in ``skip``. As myst-nb reads them: ``display=False`` outputs
    (MIME prefix :data:`GLUE_PREFIX`) and displayed ones, the last of a duplicate name wins."""
    found: dict[str, str] = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or i in skip:
            continue
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta or "name" not in meta:
                continue
            prefix = meta.get("mime_prefix", "")
            text = out.get("data", {}).get(prefix + "text/plain")
            if text is not None:
                found[meta["name"]] = "".join(text) if isinstance(text, list) else text
    return found


def format_text(text: str, fmt_spec: str) -> str:
    """``text`` (a stored text/plain) as ``{glue:text}`name:fmt_spec``` shows it: myst-nb's
    ``format_plain_text`` (myst_nb/core/variables.py, myst-nb 1.x), line for line."""
    try:
        value = literal_eval(text)            # removes the quotes of a str's repr
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    type_char = fmt_spec[-1]
    if type_char == "s":
        value = str(value)
    elif type_char in ("b", "c", "d", "o", "x", "X"):
        value = int(value)
    elif type_char in ("e", "E", "f", "F", "g", "G", "n", "%"):
        value = float(value)
    return format(value, fmt_spec)


def _split(ref: str) -> tuple[str, str]:
    """(name, format spec) of a role's text, split as myst-nb's PasteTextRole does."""
    key_format = ref.rsplit(":", 1)
    return (key_format[0], key_format[1]) if len(key_format) == 2 else (ref, "s")


def escape(text: str) -> str:
    """``text`` with the characters that could start Markdown escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def glue_value(values: Mapping[str, str], ref: str) -> str:
    """The Markdown of ``{glue:text}`ref``` (``name`` or ``name:fmt``) given the stored
    outputs ``values`` (:func:`glued`): formatted as myst-nb formats it, then escaped.

    Raises ``KeyError`` if no glue() output has the name, ``ValueError`` if the value
    cannot be formatted with the spec, or cannot sit in a line of prose, or the reference
    cannot sit in an HTML comment."""
    name, fmt = _split(ref)
    if "::" in name:
        raise ValueError(f"{ref!r}: a number from another notebook cannot be written in")
    if "--" in ref or ref.endswith("-") or re.search(r"[<>\s]", ref):
        raise ValueError(f"{ref!r}: a glue name or format with '--', '<', '>', a space or "
                         "a final '-' cannot sit in an HTML comment; rename it")
    if name not in values:
        raise KeyError(name)
    try:
        text = format_text(values[name], fmt)
    except Exception as err:  # noqa: BLE001 - myst-nb reports any formatting error
        raise ValueError(f"{ref!r}: cannot format {values[name]!r}: {err}") from err
    if "\n" in text or "\r" in text:
        raise ValueError(f"{ref!r}: the value {text!r} spans lines; glue one line of text")
    return escape(text)


def marked(ref: str, value: str) -> str:
    """The stored form of a number: ``value`` (Markdown) between its two comments."""
    return f"<!--num:{ref}-->{value}<!--/num-->"


def _joinable(lines: list[str], k: int) -> bool:
    """Whether line ``k`` may be joined to the line before it (a soft line break is a
    space in Markdown): that line is prose, and does not end in a hard break."""
    return k > 0 and not _NOT_PROSE.match(lines[k - 1]) \
        and not re.search(r"(  |\\)$", lines[k - 1])


def _line_starts(source: str, where: str) -> list[str]:
    """A problem for every line that starts with a marker."""
    lines = source.split("\n")
    problems = []
    for k, line in enumerate(lines):
        if re.match(r"^\s*(?:>\s?)*(?:[-*+]|\d+[.)])\s+<!--num:", line) or (
                _LINE_START.match(line) and not _joinable(lines, k)):
            problems.append(f"{where}, line {k + 1}: a number starts a paragraph, item or "
                            f"block ({line.strip()[:60]!r}); Markdown would show the line as "
                            "raw HTML. Begin it with a word.")
        elif _LINE_START.match(line):
            problems.append(f"{where}, line {k + 1}: a number starts a line, which Markdown "
                            "would show as raw HTML; `make execute` joins it to the line "
                            "before")
    return problems


def _reflow(source: str) -> str:
    """``source`` with no line starting with a marker, where the line before is prose:
    that line's last word moves down to start the line (or, if the word could itself
    start a block or holds code or math, the two lines are joined). Only whitespace
    changes: a soft line break and a space trade places."""
    lines = source.split("\n")
    k = 1
    while k < len(lines):
        m = _LINE_START.match(lines[k])
        if not (m and _joinable(lines, k)):
            k += 1
            continue
        prev, prefix = lines[k - 1].rstrip(), m.group("prefix")
        word = re.search(r"(?<=\S)[ \t]+(?P<w>\S+)$", prev)
        if word and not _UNSAFE_START.match(word.group("w")) \
                and not re.search(r"[`$<>\\]", word.group("w")):
            lines[k - 1] = prev[:word.start()]
            lines[k] = prefix + word.group("w") + " " + lines[k][len(prefix):]
        else:
            lines[k - 1] = prev + " " + lines[k][len(prefix):]
            del lines[k]
    return "\n".join(lines)


def write_numbers(source: str, values: Mapping[str, str], where: str = "cell"
                  ) -> tuple[str, list[str]]:
    """``source`` (a markdown cell) with every number written from ``values``
    (:func:`glued`): each marked value rewritten, each ``{glue:text}`` role replaced by
    its marked form. A number whose glue is unknown or cannot be written in is left as it
    is and reported in the returned problems."""
    problems: list[str] = []

    def one(m: re.Match) -> str:
        ref = m.group("ref") if m.group("ref") is not None else m.group("role")
        try:
            return marked(ref, glue_value(values, ref))
        except KeyError:
            problems.append(f"{where}: no glue() output named {_split(ref)[0]!r} "
                            f"(in {m.group(0)[:80]!r})")
        except ValueError as err:
            problems.append(f"{where}: {err}")
        return m.group(0)

    text = _reflow(_EITHER.sub(one, source))
    return text, problems + _line_starts(text, where)


def number_problems(nb: NotebookNode) -> list[str]:
    """Every number of ``nb``'s prose that :func:`write_numbers` would write differently:
    a marked value that differs from its glue output, a marker naming no glue() output, a
    glue role left (JupyterLab would show its name), a broken or line-initial marker."""
    values = glued(nb)
    problems: list[str] = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        where = f"cell {i}"
        for m in ANY_ROLE.finditer(cell.source):
            problems.append(f"{where}: {m.group(0)} left in the prose (JupyterLab shows its "
                            "name): run `make execute` to write the value in")
        for m in MARKED.finditer(cell.source):
            ref, shown = m.group("ref"), m.group("value")
            try:
                want = glue_value(values, ref)
            except KeyError:
                problems.append(f"{where}: {m.group(0)[:80]!r} names no glue() output")
                continue
            except ValueError as err:
                problems.append(f"{where}: {err}")
                continue
            if shown != want:
                problems.append(f"{where}: {ref} reads {shown!r} but its glue() output gives "
                                f"{want!r}; run `make execute`")
        rest = MARKED.sub("", cell.source)
        if _OPENERS.search(rest):
            problems.append(f"{where}: a <!--num:...--> marker without its <!--/num--> "
                            "(or the reverse)")
        problems += _line_starts(cell.source, where)
    return problems


def plain_numbers(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every number as its bare value, no markers (the handouts): marked
    values and ``{glue:text}`` roles alike, from ``values`` (:func:`glued`, perhaps
    without the solutions' cells). A number whose glue is not in ``values`` is left as
    its ``{glue:text}`` role."""
    def one(m: re.Match) -> str:
        ref = m.group("ref") if m.group("ref") is not None else m.group("role")
        try:
            return glue_value(values, ref)
        except (KeyError, ValueError):
            return f"{{glue:text}}`{ref}`"
    return _EITHER.sub(one, text)


# --------------------------------------------------------------------------- folds

#: Tag -> the ``jupyter`` metadata keys that fold the cell the way the site shows it.
COLLAPSE = {
    "hide-input": ("source_hidden",),
    "remove-input": ("source_hidden",),
    "hide-output": ("outputs_hidden",),
    "remove-output": ("outputs_hidden",),
    "hide-cell": ("source_hidden", "outputs_hidden"),
    "remove-cell": ("source_hidden", "outputs_hidden"),
}
_KEYS = ("source_hidden", "outputs_hidden")


def _folds(cell: NotebookNode) -> dict[str, bool]:
    keys = {k for tag in cell.get("metadata", {}).get("tags", []) or []
            for k in COLLAPSE.get(tag, ())}
    if cell.cell_type != "code":
        keys.discard("outputs_hidden")
    return {k: True for k in _KEYS if k in keys}


def collapse(nb: NotebookNode) -> int:
    """Set every cell's ``jupyter.source_hidden``/``outputs_hidden`` from its tags
    (:data:`COLLAPSE`), removing them where no tag asks for them; return how many cells
    changed."""
    changed = 0
    for cell in nb.cells:
        want = _folds(cell)
        meta = cell.setdefault("metadata", {})
        jupyter = {k: v for k, v in (meta.get("jupyter") or {}).items() if k not in _KEYS}
        jupyter.update(want)
        before = meta.get("jupyter")
        if jupyter:
            meta["jupyter"] = jupyter
        else:
            meta.pop("jupyter", None)
        changed += meta.get("jupyter") != before
    return changed


def collapse_problems(nb: NotebookNode) -> list[str]:
    """The cells whose JupyterLab folds differ from what their tags fold on the site."""
    problems = []
    for i, cell in enumerate(nb.cells):
        want = _folds(cell)
        have = {k: v for k, v in (cell.get("metadata", {}).get("jupyter") or {}).items()
                if k in _KEYS and v}
        if have != want:
            tags = cell.get("metadata", {}).get("tags", [])
            problems.append(f"cell {i} (tags {tags}): JupyterLab folds {sorted(have) or 'nothing'}"
                            f", the site {sorted(want) or 'nothing'}; run `make execute`")
    return problems

"""Checks that a committed notebook is what nbval and a reader need.

Each check takes a notebook (nbformat NotebookNode) and returns a list of problems,
each a string naming the cell. The checks are applied to every chapter in
test_notebooks.py, and tested against deliberately broken notebooks there too.
"""
from __future__ import annotations

import re

from courseware import lab_view

KERNEL_NAME = "dropout-book"  # tools/numeric_env.py installs it

# Output text that would differ between machines or runs, or that leaks the author's machine.
FORBIDDEN = {
    "a memory address": re.compile(r"0x[0-9a-fA-F]{6,}"),
    "a local path": re.compile(r"(/work/|/home/|/root/|/tmp/|/Users/|[A-Z]:\\\\|site-packages)"),
    "a timing": re.compile(
        r"(Wall time|CPU times|\b\d+(\.\d+)?\s?(ms|µs|us|ns|s|sec|secs|seconds|min)\b|\bit/s\b|\bs/it\b)"
    ),
    "a NumPy scalar repr (print a rounded value instead)": re.compile(
        r"\bnp\.(float|int|uint|bool|complex)\w*\("
    ),
}

TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex")


def _code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _output_texts(output) -> list[str]:
    if output.get("output_type") == "stream":
        return [output.get("text", "")]
    if output.get("output_type") == "error":
        return ["\n".join(output.get("traceback", []))]
    data = output.get("data", {})
    texts = []
    for mime, value in data.items():
        if mime in TEXT_MIMES or mime.endswith("/text/plain"):
            texts.append("".join(value) if isinstance(value, list) else str(value))
    return texts


def check_executed_in_order(nb) -> list[str]:
    """Every code cell ran, once, in order, from a fresh kernel (counts 1, 2, 3, ...)."""
    problems = []
    for n, (i, cell) in enumerate(_code_cells(nb), start=1):
        if not cell.source.strip():
            problems.append(f"cell {i}: empty code cell (delete it)")
        elif cell.get("execution_count") != n:
            problems.append(
                f"cell {i}: execution_count is {cell.get('execution_count')}, expected {n}; "
                "re-run the notebook from a fresh kernel (make execute)"
            )
    if not _code_cells(nb):
        problems.append("the notebook has no code cell")
    elif not any(cell.get("outputs") for _, cell in _code_cells(nb)):
        problems.append("no code cell has a stored output; was the notebook saved after running?")
    return problems


def check_no_errors(nb) -> list[str]:
    """No stored error output, unless the cell is tagged raises-exception."""
    problems = []
    for i, cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and "raises-exception" not in _tags(cell):
                problems.append(f"cell {i}: stored error {out.get('ename')}: {out.get('evalue')}")
            if (out.get("output_type") == "stream" and out.get("name") == "stderr"
                    and "raises-exception" not in _tags(cell)):
                problems.append(f"cell {i}: writes to stderr (a warning?): {out.get('text', '')[:80]!r}")
    return problems


def check_outputs_portable(nb) -> list[str]:
    """No memory addresses, local paths, timings or raw NumPy scalar reprs in any output."""
    problems = []
    for i, cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            for text in _output_texts(out):
                for what, pattern in FORBIDDEN.items():
                    match = pattern.search(text)
                    if match:
                        problems.append(f"cell {i}: output contains {what}: {match.group(0)!r}")
    return problems


def check_figures_described(nb) -> list[str]:
    """Every image output has alt text and a caption in the cell's mystnb metadata."""
    problems = []
    for i, cell in _code_cells(nb):
        has_image = any(
            any(m.startswith("image/") for m in out.get("data", {}))
            for out in cell.get("outputs", [])
        )
        if not has_image:
            continue
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        alt = mystnb.get("image", {}).get("alt", "")
        caption = mystnb.get("figure", {}).get("caption", "")
        if len(alt.split()) < 4 or re.search(r"\.(png|svg|jpe?g)$", alt.strip()):
            problems.append(f"cell {i}: figure needs alt text that describes it (metadata mystnb.image.alt)")
        if len(caption.split()) < 4:
            problems.append(f"cell {i}: figure needs a caption that states the finding (mystnb.figure.caption)")
    return problems


def check_clean_metadata(nb) -> list[str]:
    """The book's pinned kernel and no execution timestamps in cell metadata."""
    problems = []
    if nb.metadata.get("kernelspec", {}).get("name") != KERNEL_NAME:
        problems.append(
            f"notebook kernelspec must be {KERNEL_NAME} (its env pins the numeric environment)"
        )
    for i, cell in enumerate(nb.cells):
        if "execution" in cell.get("metadata", {}):
            problems.append(f"cell {i}: execution timestamps in metadata (use make execute)")
    return problems


ALL_CHECKS = [
    check_executed_in_order,
    check_no_errors,
    check_outputs_portable,
    check_figures_described,
    check_clean_metadata,
]


# --------------------------------------------------------------------------- reading

#: A code line wider than this scrolls sideways in the 688 px text column.
MAX_LINE = 79
_HIDDEN = {"remove-input", "remove-cell", "hide-input", "hide-cell"}


def _has_image(cell) -> bool:
    return any(any(m.startswith("image/") for m in out.get("data", {}))
               for out in cell.get("outputs", []))


def _plain_output_lines(cell):
    """Lines a reader sees as monospace text: streams, and text/plain with no richer view."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            yield from out.get("text", "").splitlines()
        data = out.get("data", {})
        if "text/plain" in data and not ({"text/html", "text/markdown"} & set(data)
                                         or any(m.startswith("image/") for m in data)):
            text = data["text/plain"]
            yield from ("".join(text) if isinstance(text, list) else text).splitlines()


def check_line_length(nb) -> list[str]:
    """No code line and no printed line is wider than MAX_LINE characters."""
    problems = []
    for i, cell in _code_cells(nb):
        if "remove-input" in _tags(cell) or "remove-cell" in _tags(cell):
            continue
        for n, line in enumerate(cell.source.splitlines(), start=1):
            if len(line) > MAX_LINE:
                problems.append(f"cell {i}, line {n}: {len(line)} > {MAX_LINE} characters")
    for i, cell in _code_cells(nb):
        if "remove-output" in _tags(cell) or "remove-cell" in _tags(cell):
            continue
        wide = [ln for ln in _plain_output_lines(cell) if len(ln) > MAX_LINE]
        if wide:
            problems.append(f"cell {i}: {len(wide)} printed line(s) wider than {MAX_LINE} "
                            "characters (wrap them, or show a table)")
    return problems


def check_scaffolding_hidden(nb) -> list[str]:
    """glue() calls sit in cells readers do not see; plotting code is folded."""
    problems = []
    for i, cell in _code_cells(nb):
        tags = set(_tags(cell))
        if re.search(r"\bglue\(", cell.source) and not tags & {"remove-input", "remove-cell"}:
            problems.append(f"cell {i}: glue() call shown to readers (move it into a cell "
                            "tagged remove-input)")
        if _has_image(cell) and not tags & _HIDDEN:
            problems.append(f"cell {i}: plotting code shown unfolded (tag it hide-input)")
    return problems


def check_numbers_written(nb) -> list[str]:
    """Every number of the prose is written in as a value (so JupyterLab shows it), and
    each value is its glue() output as the site's {glue:text} would format it
    (courseware/lab_view.py)."""
    return lab_view.number_problems(nb)


def check_folds_collapsed(nb) -> list[str]:
    """The cells the site folds or removes are collapsed in JupyterLab (jupyter metadata
    source_hidden/outputs_hidden, from the tags), and no other cell is."""
    return lab_view.collapse_problems(nb)


ALL_CHECKS += [check_line_length, check_scaffolding_hidden, check_numbers_written,
               check_folds_collapsed]


_FENCE = re.compile(r"^(`{3,}|:{3,})(\{[\w-]+\})?(.*)$")


def _prose_lines(source: str):
    """Markdown lines a reader reads unfolded: no code, math, directive options or dropdowns."""
    stack = []          # one entry per open fence: (fence, folded?)
    in_math = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("$$"):
            in_math = not (in_math or stripped.endswith("$$") and len(stripped) > 2)
            continue
        if in_math:
            continue
        m = _FENCE.match(stripped)
        if m and stack and m.group(1)[0] == stack[-1][0][0] and not m.group(2) \
                and len(m.group(1)) >= len(stack[-1][0]):
            stack.pop()
            continue
        if m and (m.group(2) or not stack):
            folded = bool(stack and stack[-1][1]) or m.group(2) in (
                None, "{code-cell}", "{code}", "{math}", "{dropdown}")
            stack.append((m.group(1), folded))
            continue
        if stack and stack[-1][1]:
            continue
        if stripped.startswith(":class:") and "dropdown" in stripped and stack:
            stack[-1] = (stack[-1][0], True)
            continue
        if stripped.startswith(":") and stripped.count(":") >= 2 and stack:
            continue        # a directive option such as :label:
        yield line


def prose_words(nb) -> int:
    """Words of prose a reader meets unfolded (solutions and dropdowns left out)."""
    words = 0
    in_solution = False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        src = cell.source
        if "{solution-start}" in src:
            in_solution = True
        if in_solution:
            in_solution = "{solution-end}" not in src
            continue
        text = "\n".join(_prose_lines(src))
        text = lab_view.MARKED.sub(" x ", text)                     # a number: a word
        text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
        text = re.sub(r"\$[^$]+\$", " x ", text)                      # inline math: a word
        text = re.sub(r"\{[\w:-]+\}`[^`]*`", " x ", text)            # roles: a word
        text = re.sub(r"`[^`]*`", " x ", text)
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)           # link text only
        words += len(re.findall(r"[A-Za-z0-9][\w'’.-]*", text))
    return words

"""Checks that a committed notebook is what nbval and a reader need.

Each check takes a notebook (nbformat NotebookNode) and returns a list of problems,
each a string naming the cell. The checks are applied to every chapter in
test_notebooks.py, and tested against deliberately broken notebooks there too.
"""
from __future__ import annotations

import re

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

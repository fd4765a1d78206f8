"""Results tables for the book: an HTML table on the website, aligned text elsewhere.

A notebook cell that ends with ``table(...)`` shows a real HTML table on the website and
in JupyterLab; its plain-text form (what a terminal and the notebook tests see) is the
same table as aligned columns, so it is deterministic.

See Also
--------
book/03_co_adaptation.ipynb, book/04_ensembles.ipynb : where the results tables are used.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

__all__ = ["Table", "table"]


@dataclass(frozen=True)
class Table:
    """A formatted table: every cell is already a string.

    Attributes
    ----------
    columns : tuple of str
        Column headings.
    rows : tuple of tuple of str
        One tuple per row, as long as ``columns``.
    numeric : tuple of bool
        Whether each column holds numbers (right-aligned).
    caption : str or None
        Shown above the table.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    caption: str | None = None

    def __repr__(self) -> str:
        widths = [max(len(c), *(len(r[j]) for r in self.rows))
                  for j, c in enumerate(self.columns)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.rjust(w) if num else c.ljust(w)
                             for c, w, num in zip(cells, widths, self.numeric)).rstrip()

        out = [self.caption] if self.caption else []
        out += [line(self.columns), line(["-" * w for w in widths])]
        out += [line(r) for r in self.rows]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        def cells(tag: str, row: Sequence[str]) -> str:
            return "".join(
                f'<{tag} style="text-align:{"right" if num else "left"}">'
                f"{html.escape(c)}</{tag}>" for c, num in zip(row, self.numeric))

        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        body = "".join(f"<tr>{cells('td', r)}</tr>" for r in self.rows)
        return ('<div class="book-table" style="overflow-x:auto">'
                f'<table class="table">{cap}<thead><tr>{cells("th", self.columns)}'
                f"</tr></thead><tbody>{body}</tbody></table></div>")


def _format(value: Any, decimals: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return f"{float(value):.{decimals}f}"
    raise TypeError(f"table cells must be str, int or float; got {type(value).__name__}")


def table(rows: Sequence[Sequence[Any]], columns: Sequence[str], *,
          caption: str | None = None, decimals: int = 3) -> Table:
    """Make a :class:`Table`, rounding floats to ``decimals`` places.

    Parameters
    ----------
    rows : sequence of sequences
        Cell values: str, int or float. Every row has ``len(columns)`` cells.
    columns : sequence of str
        Column headings.
    caption : str, optional
        A line shown above the table.
    decimals : int, default 3
        Decimal places for float cells.

    Returns
    -------
    Table
        Shows as HTML in a notebook, as aligned text in ``repr``.
    """
    from ._checks import check_int

    decimals = check_int(decimals, "decimals", low=0)
    columns = tuple(str(c) for c in columns)
    if not columns:
        raise ValueError("columns must name at least one column")
    raw = [tuple(r) for r in rows]
    for i, r in enumerate(raw):
        if len(r) != len(columns):
            raise ValueError(f"rows[{i}] has {len(r)} cells; columns has {len(columns)}")
    numeric = tuple(
        bool(raw) and all(isinstance(r[j], Real) and not isinstance(r[j], bool) for r in raw)
        for j in range(len(columns)))
    cells = tuple(tuple(_format(v, decimals) for v in r) for r in raw)
    return Table(columns, cells, numeric, caption)

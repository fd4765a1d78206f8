"""Progress bars for long command-line runs, drawn by tqdm.

tqdm is imported only when a bar is asked for (``progress=True``), so the
library itself needs nothing but NumPy.
"""

from __future__ import annotations

import sys


class _Quiet:
    """The bar of a run that was not asked to show progress."""

    def tick(self, text: str = "") -> None:
        pass

    def close(self) -> None:
        pass


class _Bar(_Quiet):
    """One tqdm bar on stderr; ``tick`` advances it by one step."""

    def __init__(self, total: int, desc: str) -> None:
        try:
            from tqdm import tqdm
        except ImportError as err:  # pragma: no cover - tqdm is in requirements.txt
            raise ImportError("progress=True needs tqdm: pip install tqdm") from err
        self.bar = tqdm(total=total, desc=desc, file=sys.stderr, dynamic_ncols=True)

    def tick(self, text: str = "") -> None:
        if text:
            self.bar.set_postfix_str(text, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def progress_bar(total: int, desc: str, show: bool) -> _Quiet:
    """A bar of ``total`` steps when ``show``, else one that prints nothing."""
    return _Bar(total, desc) if show else _Quiet()

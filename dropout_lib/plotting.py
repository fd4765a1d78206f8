"""Figures for the book: one style, colour-blind-safe colours, and mask images.

Every function that draws takes ``ax=None`` (a new figure is made when it is None),
returns the Axes, and never calls ``plt.show()``: a notebook shows the figure when
the cell ends.

See Also
--------
book/quickstart.ipynb, book/01_masks.ipynb : where these figures are used.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common form
# of colour-vision deficiency. Black is left out; it disappears on a dark page.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "grey": "#999999",
}
CYCLE: list[str] = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple")]

#: Two-colour map for masks: dropped units dark grey, kept units blue.
MASK_COLOURS: tuple[str, str] = ("#3a3a3a", OKABE_ITO["blue"])


#: Width of the website's text column in inches at 100 dpi (688 CSS px, less a margin).
COLUMN_WIDTH: float = 6.8


def book_style() -> dict[str, Any]:
    """The matplotlib rcParams the book's figures use.

    Figures are :data:`COLUMN_WIDTH` inches wide at 100 dpi, so they fill the website's
    text column without being shrunk, and tick labels (9 pt) show at 12 CSS px. They keep
    an opaque white background; the website's dark theme shows an inverted copy.

    Returns
    -------
    dict
        rcParams, for ``plt.rcParams.update(book_style())`` or ``plt.style.context``.
    """
    from cycler import cycler

    return {
        "figure.figsize": (COLUMN_WIDTH, 3.4),
        "figure.dpi": 100,
        "figure.constrained_layout.use": True,
        "savefig.dpi": 200,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "axes.facecolor": "white",
        "axes.prop_cycle": cycler(color=CYCLE),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "legend.frameon": False,
        "image.cmap": "viridis",
    }


def use_book_style() -> None:
    """Apply :func:`book_style` globally, and show notebook figures at 2x pixel density."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(book_style())
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:         # not in a notebook kernel
        return
    set_matplotlib_formats("retina")


def show_mask(mask: np.ndarray, ax=None, *, title: str | None = None,
              xlabel: str = "unit", ylabel: str = "example"):
    """Draw a 2-D boolean mask as an image: kept units blue, dropped units dark grey.

    Parameters
    ----------
    mask : ndarray of bool, shape (N, D)
        True where a unit is kept.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    title, xlabel, ylabel : str
        Axis title and labels.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (examples x units), got shape {mask.shape}")
    if mask.dtype != bool:
        raise TypeError(f"mask must have dtype bool, got {mask.dtype}")
    if ax is None:
        _, ax = plt.subplots()
    ax.imshow(mask, cmap=ListedColormap(MASK_COLOURS), vmin=0, vmax=1,
              interpolation="nearest", aspect="auto")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    if title is not None:
        ax.set_title(title)
    ax.legend(handles=[Patch(color=MASK_COLOURS[1], label="kept"),
                       Patch(color=MASK_COLOURS[0], label="dropped")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax

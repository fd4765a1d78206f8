"""Draw the book's favicon: a 4x4 dropout mask (kept units filled, dropped units empty).

Run once with `.venv/bin/python tools/make_favicon.py`; the PNG is committed.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

KEPT = np.array([[1, 0, 1, 1], [1, 1, 0, 1], [0, 1, 1, 0], [1, 0, 1, 1]], dtype=bool)


def main() -> None:
    fig, ax = plt.subplots(figsize=(1, 1), dpi=64)
    fig.patch.set_alpha(0.0)
    for (i, j), kept in np.ndenumerate(KEPT):
        ax.add_patch(plt.Circle((j, 3 - i), 0.38, color="#0072B2", fill=bool(kept), lw=3))
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(-0.5, 3.5)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.subplots_adjust(0, 0, 1, 1)
    out = Path(__file__).resolve().parents[1] / "book" / "_static" / "favicon.png"
    fig.savefig(out, transparent=True)
    print(f"wrote {out.name}")


if __name__ == "__main__":
    main()

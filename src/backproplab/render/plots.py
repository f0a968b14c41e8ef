"""Drawing a variant's plots to PNG with matplotlib.

One Figure per process is reused: creating a fresh Figure costs more than the
drawing itself when a class of 1,000 is generated. Plots of variants carry no
title (the pages print the caption under the picture, with its math typeset),
so they use a fixed layout instead of the costlier tight_layout.
"""

from __future__ import annotations

import io
import os

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..problems.variant import Plot  # noqa: E402

WIDTH, HEIGHT, DPI = 4.5, 3.2, 80  # inches, dots per inch: 360 × 256 pixels
CAPTION_SIZE = 9

_FIGURE: Figure | None = None


def _after_fork() -> None:
    """A forked worker must open its own FreeType faces: sharing the parent's file
    positions corrupts glyph loading ("FT_Load_Glyph ... invalid outline")."""
    global _FIGURE
    _FIGURE = None
    from matplotlib import font_manager

    font_manager._get_font.cache_clear()


os.register_at_fork(after_in_child=_after_fork)


def render_png(plot: Plot, title: bool = True) -> bytes:
    """The plot as PNG bytes (4.5 × 3.2 inches at 80 dpi), identical for identical input.

    `title=False` leaves the caption out of the picture, for pages that print it
    under the figure (the handout, the notebook, the key).
    """
    global _FIGURE
    if _FIGURE is None:
        _FIGURE = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
        FigureCanvasAgg(_FIGURE)
    fig = _FIGURE
    fig.clf()
    ax = fig.add_subplot()
    plot.draw(ax)
    if title:
        ax.set_title(plot.caption, fontsize=CAPTION_SIZE)
        fig.tight_layout()
    else:
        fig.subplots_adjust(left=0.14, right=0.97, bottom=0.14, top=0.96)
    buf = io.BytesIO()
    # No timestamps or software tags, so regenerating gives the same bytes.
    fig.canvas.print_png(buf, metadata={"Software": None})
    return buf.getvalue()

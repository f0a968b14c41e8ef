"""Drawing a variant's plots to PNG with matplotlib.

One figure per process is reused: creating a fresh Figure costs more than the
drawing itself when a class of 1,000 is generated.
"""

from __future__ import annotations

import io
import os

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..problems.variant import Plot  # noqa: E402

_FIGURE: Figure | None = None


def _after_fork() -> None:
    """A forked worker must open its own FreeType faces: sharing the parent's file
    positions corrupts glyph loading ("FT_Load_Glyph ... invalid outline")."""
    global _FIGURE
    _FIGURE = None
    from matplotlib import font_manager

    font_manager._get_font.cache_clear()


os.register_at_fork(after_in_child=_after_fork)


def render_png(plot: Plot) -> bytes:
    """The plot as PNG bytes (4.5 × 3.2 inches, 80 dpi), identical for identical input."""
    global _FIGURE
    if _FIGURE is None:
        _FIGURE = Figure(figsize=(4.5, 3.2), dpi=80)
        FigureCanvasAgg(_FIGURE)
    fig = _FIGURE
    fig.clf()
    ax = fig.add_subplot()
    plot.draw(ax)
    ax.set_title(plot.caption, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    # No timestamps or software tags, so regenerating gives the same bytes.
    fig.canvas.print_png(buf, metadata={"Software": None})
    return buf.getvalue()

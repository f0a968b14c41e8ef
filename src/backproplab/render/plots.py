"""Drawing plots to PNG with matplotlib, fast enough for a class of 1,000.

Most of matplotlib's time goes into a plot's axes (ticks and their labels), not its
data. A variant's plot is data (problems.variant.Plot: a Frame and its marks), and
one problem's frames take few distinct values across a class. So each frame is cut
into three parts, and each part is drawn once per process, alone on white, and
kept: the x axis, the y axis, and the rest (spines and the legend, which sits
above the axes so that no data needs to be drawn under it). A plot starts from
the darkest-pixel union of its three parts, and matplotlib draws the marks on top,
as in matplotlib's blitting technique. A plot's pixels depend only on the plot,
never on what the process drew before (tests/test_plots.py renders plots in two
orders and compares the bytes).

The report's charts, a few per run, are drawn with plain matplotlib (`chart_png`).
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass, replace
from typing import Any, Callable

import matplotlib
import numpy as np

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from PIL import Image  # noqa: E402  (matplotlib's own PNG writer)

from ..problems.figures import AXES_BOX, DPI, FIGURE_INCHES, NOTE_SIZE, ROUND_STEPS  # noqa: E402
from ..problems.variant import Frame, Line, Note, Plot  # noqa: E402

WIDTH, HEIGHT = FIGURE_INCHES  # inches; at DPI dots per inch: 360 × 256 pixels
BOX = AXES_BOX  # where the axes sit in the figure (problems/figures.py places labels by it)
CAPTION_SIZE = 9
# No text smaller than this (points; 11 pixels at 80 dpi): tick labels and legends must be
# readable with the page at 100%.
MIN_FONT_SIZE = 10.0
PALETTE = 64  # colours in a plot's PNG
PARTS_KEPT = 512  # per process; a kept part is its inked rectangle, 45 KB on average

Part = tuple[int, int, np.ndarray]  # top row, left column, RGBA pixels


def _figure() -> Figure:
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


@functools.cache
def _marks_axes() -> Any:
    """The one Axes that marks are drawn with; only its data transform is used."""
    return _figure().add_axes(BOX)


@functools.cache
def _parts_axes() -> Any:
    """The one Axes that frames are drawn on; `_set_frame` sets all of it each time.

    Reused, not created per frame: a new Axes and its ticks cost more than drawing them.
    """
    return _figure().add_axes(BOX)


def _after_fork() -> None:
    """A forked worker must open its own FreeType faces: sharing the parent's file
    positions corrupts glyph loading ("FT_Load_Glyph ... invalid outline")."""
    _marks_axes.cache_clear()
    _parts_axes.cache_clear()
    _part.cache_clear()
    from matplotlib import font_manager

    font_manager._get_font.cache_clear()


os.register_at_fork(after_in_child=_after_fork)


def _line_style(line: Line) -> dict[str, Any]:
    return {"color": line.color, "linestyle": line.linestyle or "None", "marker": line.marker or "None",
            "linewidth": line.width, "markersize": line.markersize}


def _set_frame(ax: Any, frame: Frame, legend: tuple[Line, ...]) -> None:
    """Every setting of `frame` on `ax`, defaults included, so that nothing of the last frame remains;
    and a legend of the given lines (their labels and styles; they hold no points)."""
    ax.set_xscale("linear")  # also resets the x ticks that an earlier frame fixed
    ax.set_yscale("log" if frame.ylog else "linear")
    ax.set_xlim(*frame.xlim)
    ax.set_ylim(*frame.ylim)
    size = font_size(frame)
    label_size = matplotlib.rcParams["axes.labelsize"] if frame.fontsize is None else size + 1
    ax.set_xlabel(frame.xlabel, fontsize=label_size)
    ax.set_ylabel(frame.ylabel, fontsize=label_size)
    ax.tick_params(which="both", labelsize=size)
    # At most 6 labelled ticks a side, on round steps: matplotlib's default fits up to 9 on a
    # small figure, and labels such as "−7.5" then nearly touch.
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=ROUND_STEPS))
    if not frame.ylog:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=ROUND_STEPS))
    if frame.xticks:
        ax.set_xticks(frame.xticks)
    if frame.xgrid:
        ax.set_xticks(frame.xgrid, minor=True)
    if frame.grid:
        ax.grid(True, which="both", alpha=0.4)
    else:
        ax.grid(False, which="both")
    ax.set_aspect("equal" if frame.equal else "auto")
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if legend:
        handles = [Line2D([], [], label=line.label, **_line_style(line)) for line in legend]
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(handles), frameon=False,
                  fontsize=size, borderaxespad=0.2, handlelength=1.3, handletextpad=0.5, columnspacing=1.0)


def font_size(frame: Frame) -> float:
    """The size of a frame's tick labels and legend: its own, or matplotlib's default, never below MIN_FONT_SIZE."""
    default = FontProperties(size=matplotlib.rcParams["xtick.labelsize"]).get_size_in_points()
    return max(frame.fontsize or default, MIN_FONT_SIZE)


@functools.lru_cache(maxsize=PARTS_KEPT)
def _part(frame: Frame, which: str, legend: tuple[Line, ...]) -> Part:
    """One part of a frame ("x", "y" or "rest"), drawn alone on white and cut to its ink.

    Callers pass a frame reduced to what the part shows, so equal parts share one entry.
    """
    ax = _parts_axes()
    fig = ax.figure
    _set_frame(ax, frame, legend)
    ax.xaxis.set_visible(which == "x")
    ax.yaxis.set_visible(which == "y")
    for spine in ax.spines.values():
        spine.set_visible(which == "rest")
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    rows = np.flatnonzero((rgba[..., :3] < 255).any(axis=(1, 2)))
    cols = np.flatnonzero((rgba[..., :3] < 255).any(axis=(0, 2)))
    if rows.size == 0:
        return 0, 0, rgba[:0, :0].copy()
    return int(rows[0]), int(cols[0]), rgba[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].copy()


def _parts(frame: Frame, legend: tuple[Line, ...]) -> list[Part]:
    """The frame's three parts, each keyed by only what it shows, so that frames share parts.

    A part leaves the other axis's limits out; with equal scales it keeps that axis's
    length, on which the shape of the axes box depends.
    """
    def other(lim: tuple[float, float]) -> tuple[float, float]:
        return (0.0, lim[1] - lim[0]) if frame.equal else (0.0, 1.0)

    common = {"fontsize": frame.fontsize, "grid": frame.grid, "equal": frame.equal}
    x_axis = Frame(frame.xlim, other(frame.ylim), xlabel=frame.xlabel, xticks=frame.xticks, xgrid=frame.xgrid, **common)
    y_axis = Frame(other(frame.xlim), frame.ylim, ylabel=frame.ylabel, ylog=frame.ylog, **common)
    rest = Frame(other(frame.xlim), other(frame.ylim), fontsize=frame.fontsize, equal=frame.equal)
    return [_part(x_axis, "x", ()), _part(y_axis, "y", ()), _part(rest, "rest", legend)]


def _artist(ax: Any, mark: Line | Note) -> Any:
    if isinstance(mark, Line):
        art = Line2D(mark.xs, mark.ys, **_line_style(mark))
        art.set_transform(ax.transData)
        art.set_clip_box(ax.bbox)
    else:
        art = Annotation(mark.text, (mark.x, mark.y), textcoords="offset points", xytext=mark.offset, fontsize=NOTE_SIZE)
        art.axes = ax
    art.set_figure(ax.figure)
    return art


def render_png(plot: Plot) -> bytes:
    """The plot as PNG bytes (4.5 × 3.2 inches at 80 dpi), identical for identical input.

    The caption is not in the picture: the pages print it under the figure, with its math typeset.
    """
    frame = plot.frame
    # the legend's key: the labelled lines without their points, which it does not show
    legend = tuple(replace(line, xs=(), ys=()) for line in plot.lines() if line.label)
    ax = _marks_axes()
    scale = "log" if frame.ylog else "linear"
    if ax.get_yscale() != scale:  # only the data transform matters here, and setting a scale costs
        ax.set_yscale(scale)
    ax.set_xlim(*frame.xlim)
    ax.set_ylim(*frame.ylim)
    ax.set_aspect("equal" if frame.equal else "auto")
    ax.apply_aspect()
    canvas = ax.figure.canvas
    renderer = canvas.get_renderer()
    pixels = np.asarray(renderer.buffer_rgba())
    pixels.fill(255)
    for top, left, ink in _parts(frame, legend):
        window = pixels[top:top + ink.shape[0], left:left + ink.shape[1]]
        np.minimum(window, ink, out=window)
    # Lines under notes, as matplotlib's z-order has it.
    for mark in [*plot.lines(), *(m for m in plot.marks if isinstance(m, Note))]:
        _artist(ax, mark).draw(renderer)
    # 64 colours hold white, the greys, the few mark colours and their anti-aliased edges: the
    # file is a third of full colour's, and quantising costs less than filtering four channels.
    rgb = Image.frombuffer("RGBA", (pixels.shape[1], pixels.shape[0]), pixels, "raw", "RGBA", 0, 1).convert("RGB")
    image = rgb.quantize(PALETTE, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=3)
    return buf.getvalue()


@dataclass(frozen=True)
class TextLayout:
    """Where a plot's text lands when drawn, in pixels: what a reader must be able to read."""

    figure: Any  # the figure's Bbox
    notes: list[Any]  # one Bbox per Note
    legend: Any | None  # the legend's Bbox
    font_sizes: list[float]  # points, of every tick label and legend entry


def text_layout(plot: Plot) -> TextLayout:
    """The layout of a plot's text as render_png draws it (on a figure of its own)."""
    fig = _figure()
    ax = fig.add_axes(BOX)
    _set_frame(ax, plot.frame, tuple(replace(line, xs=(), ys=()) for line in plot.lines() if line.label))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    notes = []
    for mark in plot.marks:
        if isinstance(mark, Note):
            art = _artist(ax, mark)
            notes.append(art.get_window_extent(renderer))
    legend = ax.get_legend()
    sizes = [t.get_fontsize() for t in [*ax.get_xticklabels(), *ax.get_yticklabels()] if t.get_text()]
    sizes += [t.get_fontsize() for t in legend.get_texts()] if legend is not None else []
    return TextLayout(fig.bbox, notes, legend.get_window_extent(renderer) if legend is not None else None, sizes)


def chart_png(title: str, draw: Callable[[Any], None]) -> bytes:
    """A chart drawn by `draw(ax)` with plain matplotlib, titled, as PNG bytes."""
    fig = _figure()
    ax = fig.add_subplot()
    draw(ax)
    ax.set_title(title, fontsize=CAPTION_SIZE)
    fig.tight_layout()
    buf = io.BytesIO()
    # No timestamps or software tags, so the same data gives the same bytes.
    fig.canvas.print_png(buf, metadata={"Software": None})
    return buf.getvalue()

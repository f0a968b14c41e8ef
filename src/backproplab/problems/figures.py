"""Plot data that several problems share: round limits, a function's curve, the contours of a quadratic,
labels next to points that do not run into each other.

Frames use round limits (matplotlib's tick steps). Then one problem's frames take
few distinct values across a class, and render/plots.py draws each of them once.
The size of a plot is fixed here too (render/plots.py draws at this size), so that
labels can be placed from the plot's data alone.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .variant import Frame, Line, Note

CURVE_POINTS = 100
ROUND_STEPS = [1, 2, 2.5, 5, 10]  # tick steps, times a power of ten

FIGURE_INCHES = (4.5, 3.2)  # width, height
DPI = 80  # 360 × 256 pixels
# The axes box (left, bottom, width, height as fractions of the figure): fixed, not tight_layout
# per plot. The legend goes in one row above the axes, where no data can be.
AXES_BOX = (0.17, 0.17, 0.78, 0.72)
NOTE_SIZE = 10.0  # points: the text of a Note
# Where a note may sit relative to its point (in points), in the order tried: above right first.
NOTE_OFFSETS = ((4.0, 6.0), (4.0, -16.0), (-18.0, 6.0), (-18.0, -16.0))


def round_range(lo: float, hi: float) -> tuple[float, float]:
    """From the round number at or below `lo` to the one at or above `hi`, in matplotlib's tick steps."""
    from matplotlib.ticker import MaxNLocator  # here: generating without plots need not import matplotlib

    if hi - lo < 1e-9 * max(1.0, abs(lo)):  # a flat curve: show a unit around it
        lo, hi = lo - 1, hi + 1
    ticks = MaxNLocator(nbins=5, steps=ROUND_STEPS).tick_values(lo, hi)
    return float(ticks[0]) + 0.0, float(ticks[-1]) + 0.0  # + 0.0: no -0.0, which would print as "−0"


def function_curve(f: Callable[[float], float], lo: float, hi: float, xlabel: str, ylabel: str,
                   ylim: tuple[float, float] | None = None) -> tuple[Frame, Line]:
    """A frame holding f on [lo, hi] (widened to round numbers), or the given y range, and f's curve across it."""
    xlim = round_range(lo, hi)
    xs = np.linspace(*xlim, CURVE_POINTS)
    ys = np.asarray(f(xs), dtype=float)  # f is arithmetic on floats, so it takes an array too
    frame = Frame(xlim, ylim or round_range(float(ys.min()), float(ys.max())), xlabel=xlabel, ylabel=ylabel)
    return frame, Line(tuple(xs.tolist()), tuple(ys.tolist()), "0.3")


def parabola(a: float, c: float) -> Callable[[float], float]:
    """t ↦ a(t − c)², on floats (or arrays of them)."""
    return lambda t: a * (t - c) ** 2


def ellipses(m: np.ndarray, centre: tuple[float, float], levels: list[float]) -> Line:
    """The contours (p − centre)ᵀ m (p − centre) = L of a positive definite 2 × 2 matrix m, as one line.

    Each is an ellipse along m's eigenvectors, with half-axes sqrt(L / eigenvalue); a NaN
    point between two ellipses lifts the pen (one line draws faster than ten).
    """
    eigenvalues, vectors = np.linalg.eigh(m)
    turn = np.append(np.linspace(0.0, 2 * np.pi, CURVE_POINTS), np.nan)
    circle = np.vstack([np.cos(turn), np.sin(turn)])
    rings = np.hstack([vectors @ (np.sqrt(level / eigenvalues)[:, None] * circle) for level in levels])
    return Line(tuple((rings[0] + centre[0]).tolist()), tuple((rings[1] + centre[1]).tolist()), "0.6", width=0.8)


def note_box(frame: Frame, note: Note) -> tuple[float, float, float, float]:
    """Where a note's text lands, in points from the axes' lower left corner: (left, bottom, right, top).

    The size is an upper bound for the short labels problems use ("$x_3$", "start"): 0.65 em per
    character written (a subscript counts as one) and 1.3 em high.
    """
    width_pt = FIGURE_INCHES[0] * 72 * AXES_BOX[2]
    height_pt = FIGURE_INCHES[1] * 72 * AXES_BOX[3]
    (x0, x1), (y0, y1) = frame.xlim, frame.ylim
    if frame.ylog:
        y, y0, y1 = np.log10(note.y), np.log10(y0), np.log10(y1)
    else:
        y = note.y
    px = (note.x - x0) / (x1 - x0) * width_pt + note.offset[0]
    py = (y - y0) / (y1 - y0) * height_pt + note.offset[1]
    shown = sum(1 for ch in note.text if ch not in "${}_\\")
    return px, py, px + 0.65 * NOTE_SIZE * max(shown, 1), py + 1.3 * NOTE_SIZE


def boxes_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Do two (left, bottom, right, top) boxes overlap?"""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def iterate_notes(frame: Frame, labelled: list[tuple[str, float, float]]) -> list[Note]:
    """A label next to each point (text, x, y), moved to another side where it would run into an
    earlier label, and left out where every side is taken (the point keeps its marker): iterates
    crowd together near a minimum."""
    kept: list[Note] = []
    for text, x, y in labelled:
        for offset in NOTE_OFFSETS:
            note = Note(text, x, y, offset)
            if not any(boxes_overlap(note_box(frame, note), note_box(frame, other)) for other in kept):
                kept.append(note)
                break
    return kept

"""Plot data that several problems share: round limits, a function's curve, the contours of a quadratic.

Frames use round limits (matplotlib's tick steps). Then one problem's frames take
few distinct values across a class, and render/plots.py draws each of them once.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .variant import Frame, Line

CURVE_POINTS = 100
ROUND_STEPS = [1, 2, 2.5, 5, 10]  # tick steps, times a power of ten


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

"""Pictures of training runs: loss (or gradient norm) against epochs, on a logarithmic axis.

Losses of different runs span from near the noise floor to many powers of ten (a
diverging run), so their axis is logarithmic, with limits at powers of ten: few
distinct frames across a class (render/plots.py draws each once).
"""

from __future__ import annotations

import math
from typing import Iterable

from .variant import Frame, Line, Plot

LOWEST = 1e-8  # a log axis goes no lower: a gradient that converges to 0 runs off its bottom edge
MIN_DECADES = 2
# Colours by role, the same in every picture: a colour never tells which answer is right.
TRAIN, VAL, FLOOR = "tab:blue", "tab:orange", "0.4"


def log_limits(values: Iterable[float], lowest: float = LOWEST) -> tuple[float, float]:
    """Limits of a log axis holding every (positive) value: powers of ten, at or below the smallest (but
    not below `lowest`) and at or above the largest, at least MIN_DECADES apart (then matplotlib labels
    only the powers of ten, and never crowds the axis with labels such as 2×10⁻¹)."""
    positive = [v for v in values if v > 0]
    lo = math.floor(math.log10(max(min(positive), lowest)) + 1e-12)
    hi = math.ceil(math.log10(max(positive)) - 1e-12)
    lo = min(lo, hi - MIN_DECADES)
    return 10.0**lo, 10.0**hi


def epoch_frame(epochs: float, values: Iterable[float], ylabel: str, lowest: float = LOWEST) -> Frame:
    """A frame from epoch 0 to `epochs`, log y axis around `values` (not below `lowest`), with a grid."""
    return Frame((0.0, float(epochs)), log_limits(values, lowest), xlabel="epoch", ylabel=ylabel, ylog=True,
                 grid=True)


def loss_plot(caption: str, epochs: int, train: list[float], val: list[float] | None = None,
              floor: float | None = None) -> Plot:
    """The student's picture of a run: training loss (and validation loss) after each epoch, the noise floor dashed."""
    xs = tuple(float(e) for e in range(len(train)))
    values = train + (val or []) + ([floor] if floor is not None else [])
    frame = epoch_frame(epochs, values, "loss")
    marks = [Line(xs, tuple(train), TRAIN, label="training loss")]
    if val is not None:
        marks.append(Line(xs, tuple(val), VAL, label="validation loss"))
    if floor is not None:
        marks.append(Line(frame.xlim, (floor, floor), FLOOR, linestyle="--", label="noise floor"))
    return Plot(caption, frame, marks, audience="student")


def gradient_plot(caption: str, epochs: int, grad: list[float]) -> Plot:
    """The student's picture of the norm of the gradient after each epoch."""
    xs = tuple(float(e) for e in range(len(grad)))
    frame = epoch_frame(epochs, grad, "gradient norm")
    return Plot(caption, frame, [Line(xs, tuple(grad), "tab:green")], audience="student")

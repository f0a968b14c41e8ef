"""Plots are drawn from kept frame parts (render/plots.py): a plot's bytes must depend on the plot only,
not on what the process drew before, nor on which worker drew it."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from backproplab.course.generate import generate
from backproplab.course.layout import Layout
from backproplab.problems import registry
from backproplab.problems.qa import make_variant
from backproplab.problems.variant import Frame, Line, Plot
from backproplab.render import plots

# every problem type that draws plots, several variants each
PLOTTING = ["gd_steps_1d", "gd_steps_2d", "steps_to_epsilon", "read_training_curves", "overshooting",
            "local_minimum", "momentum_steps", "learning_rate_curves", "match_batch_curves", "diagnose_training_run"]


def _plots(per_problem: int) -> list[Plot]:
    return [p for pid in PLOTTING for seed in range(per_problem) for p in make_variant(registry()[pid], seed).plots]


def test_every_plotting_problem_is_covered():
    drawn = {pid for pid, t in registry().items() for seed in range(3) if make_variant(t, seed).plots}
    assert drawn == set(PLOTTING)


def test_a_plot_does_not_depend_on_what_was_drawn_before():
    sample = _plots(6)
    first = [plots.render_png(p) for p in sample]
    # parts drawn again in the reverse order, on an axes that other frames have set
    plots._part.cache_clear()
    again = [plots.render_png(p) for p in reversed(sample)][::-1]
    assert again == first
    # and each plot alone, its parts drawn on a new axes
    alone = []
    for p in sample:
        plots._part.cache_clear()
        plots._parts_axes.cache_clear()
        alone.append(plots.render_png(p))
    assert alone == first


def test_parts_and_marks_line_up():
    """A line along the frame's edges lands on the spines, and a point's marker at its place."""
    frame = Frame((0.0, 10.0), (-2.0, 2.0), xlabel="$x$", ylabel="$y$")
    edge = Line((0.0, 10.0, 10.0, 0.0, 0.0), (-2.0, -2.0, 2.0, 2.0, -2.0), "#ff0000", width=1.0)
    png = plots.render_png(Plot("box", frame, [edge]))
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    red = (rgb[..., 0] > 200) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)
    rows, cols = np.flatnonzero(red.any(axis=1)), np.flatnonzero(red.any(axis=0))
    width, height = rgb.shape[1], rgb.shape[0]
    left, bottom, w, h = plots.BOX
    # the red box is the axes box (to a pixel and a half, for line width and rounding)
    assert abs(cols[0] - left * width) <= 1.5 and abs(cols[-1] - (left + w) * width) <= 1.5
    assert abs(rows[0] - (1 - bottom - h) * height) <= 1.5 and abs(rows[-1] - (1 - bottom) * height) <= 1.5
    # no red outside it: the marks are clipped to the axes
    outside = red.copy()
    outside[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = False
    assert not outside.any()


def _digests(course: Path) -> dict[str, str]:
    return {str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("release", ".backproplab/keys") for p in sorted((course / folder).rglob("*"))
            if p.is_file() and p.name != "roster.txt"}  # the roster keeps the order it was given


def test_generate_gives_the_same_bytes_in_any_order_and_with_any_workers(tmp_path):
    students = [f"s{i:02d}" for i in range(24)]
    one = tmp_path / "one"
    generate("hw1-gradient-descent", one, students, jobs=2, nbgrader=False)
    other = tmp_path / "other"
    (other / ".backproplab").mkdir(parents=True)
    shutil.copy(one / ".backproplab" / "secret", other / ".backproplab" / "secret")
    generate("hw1-gradient-descent", other, students[::-1], jobs=1, nbgrader=False)
    a, b = _digests(one), _digests(other)
    assert Layout(one, "hw1-gradient-descent").key_json("s00").exists()
    assert len(a) >= 4 * len(students) and a == b


def test_labels_next_to_points_never_overlap_and_text_is_readable():
    """Iterates crowd together near a minimum; their labels are moved or left out (problems/figures.py)
    so that, as matplotlib lays them out, no two overlap and all stay in the figure; every tick label
    and legend entry is at least MIN_FONT_SIZE, and every legend fits in the figure."""
    import itertools

    crowded = 0
    for pid in PLOTTING:
        for seed in range(40 if pid == "gd_steps_1d" else 4):
            for plot in make_variant(registry()[pid], seed).plots:
                layout = plots.text_layout(plot)
                for a, b in itertools.combinations(layout.notes, 2):
                    assert not a.overlaps(b), (pid, seed, plot.caption)
                fig = layout.figure
                for box in layout.notes + ([layout.legend] if layout.legend is not None else []):
                    assert fig.x0 <= box.x0 and box.x1 <= fig.x1 and fig.y0 <= box.y0 and box.y1 <= fig.y1, (pid, seed)
                assert min(layout.font_sizes) >= plots.MIN_FONT_SIZE, (pid, seed)
                if pid == "gd_steps_1d" and plot.audience == "key":
                    iterates = next(line for line in plot.lines() if line.label == "iterates")
                    crowded += len(layout.notes) < len(iterates.xs) - 1 or any(
                        n.offset != (4.0, 6.0) for n in plot.marks if hasattr(n, "offset"))
    assert crowded > 0, "no crowded iterates: the test does not see the case it is for"

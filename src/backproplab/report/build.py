"""`backproplab report`: one self-contained HTML page about a graded assignment.

The page embeds its plots as PNG (data: URLs) and sorts its tables with a few
lines of inline JavaScript, so it can be mailed or opened from any folder.
It is for the instructor: it names students and shows copying flags.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import jinja2
import numpy as np

from ..render.jinja import TEMPLATES
from ..errors import BackproplabError
from ..render.plots import chart_png
from . import stats
from .data import ClassGrades, GradesError, load_class

# The render package's environment (escaping, filters), reading this package's templates.
PAGE = TEMPLATES.overlay(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"))
PAGE.filters["num"] = lambda x, places=2: "—" if x is None else f"{x:.{places}f}".rstrip("0").rstrip(".")
PAGE.filters["pct"] = lambda x: "—" if x is None else f"{100 * x:.0f}%"


class ReportError(BackproplabError):
    """The report cannot be written (one line)."""


def _png(caption: str, draw) -> str:
    return "data:image/png;base64," + base64.b64encode(chart_png(caption, draw)).decode()


def histogram(totals: list[float], max_score: float) -> str:
    """The distribution of total scores, as a data: URL."""
    bins = np.linspace(0.0, max_score, int(min(20, max(5, np.ceil(max_score)))) + 1)

    def draw(ax) -> None:
        ax.hist(np.clip(totals, 0.0, max_score), bins=bins, color="#4a78b5", edgecolor="white")
        ax.set_xlabel(f"total score (of {max_score:g})")
        ax.set_ylabel("submissions")
        ax.yaxis.get_major_locator().set_params(integer=True)

    return _png("Score distribution", draw)


def difficulty_chart(rows: list[stats.ProblemStats]) -> str:
    """Mean fraction of the points per problem, as a data: URL."""

    def draw(ax) -> None:
        ax.bar([r.key for r in rows], [r.difficulty or 0.0 for r in rows], color="#5b9a68")
        ax.set_ylim(0, 1)
        ax.set_ylabel("mean fraction of points")

    return _png("Difficulty per problem", draw)


def render(grades: ClassGrades) -> str:
    """The report page for `grades`."""
    over = stats.overview(grades)
    problems = stats.problem_stats(grades)
    return PAGE.get_template("report.html.j2").render(
        a=grades.assignment, over=over, problems=problems, checks=stats.check_stats(grades),
        misconceptions=stats.misconceptions(grades), attention=stats.attention(grades),
        flags=stats.copying_flags(grades), students=grades.students, keys=grades.keys,
        wrong=grades.wrong_notebooks,
        histogram=histogram(over.totals, grades.max_score) if over.totals else None,
        difficulty=difficulty_chart(problems) if over.totals else None,
        when=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def write_report(assignment: str, course: Path, out: Path | None = None) -> Path:
    """Write the report of `assignment` (default course/reports/<HW>.html); ReportError on bad input."""
    try:
        grades = load_class(assignment, course)
    except GradesError as e:
        raise ReportError(str(e)) from None
    path = Path(out) if out is not None else grades.layout.course / "reports" / f"{grades.assignment.name}.html"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(grades), encoding="utf-8")
    except OSError as e:
        raise ReportError(f"cannot write {path}: {e.strerror or e}") from None
    return path

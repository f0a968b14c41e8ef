"""Per-student feedback: what was wrong, by name, without hidden inputs or expected values.

The scores on the page are the gradebook's (gradebook.read_book): a manual score,
extra credit or a comment a grader entered in formgrader shows as soon as the
feedback is written again (`backproplab feedback HW`, or at the end of every
`backproplab grade`). The check lines come from the submission's results.json,
each labelled by the answer or check it is about. Copying flags are for the
instructor (results.json, the report), not the student.

nbgrader's `release_feedback` needs the submission's timestamp.txt and
submission_secret.txt beside the page (nbgrader's `collect` brings them); they are
copied from the submission folder.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..assignment import Assignment
from ..course.layout import Layout
from ..files import write_if_changed
from ..render.jinja import TEMPLATES
from .gradebook import Book, BookSubmission, read_book
from .result import labelled

EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")  # what nbgrader's release_feedback reads


@dataclass
class ProblemView:
    index: int
    key: str
    score: float
    points: float
    by_grader: bool = False  # a grader set this score (or added extra credit)
    comment: str = ""  # the grader's comment
    error: str | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)  # (css class, labelled line)


@dataclass
class FeedbackView:
    title: str
    student: str
    score: float
    max_score: float
    error: str | None
    notes: list[str]
    problems: list[ProblemView]


def _css(score: float) -> str:
    return "ok" if score >= 1 else ("part" if score > 0 else "bad")


def feedback_view(assignment: Assignment, student: str, results: dict | None,
                  entry: BookSubmission | None) -> FeedbackView:
    """What one student's page shows: the gradebook's scores (`entry`), results.json's lines."""
    results = results or {}
    by_key = {p.get("key"): p for p in results.get("problems", []) if isinstance(p, dict)}
    problems = []
    for index, spec in enumerate(assignment.problems, start=1):
        p = by_key.get(spec.key, {})
        score = entry.scores.get(spec.key, 0.0) if entry else float(p.get("score", 0.0))
        lines = [(_css(float(c.get("score", 0.0))), c.get("line") or labelled(c.get("name", ""), c.get("message", "")))
                 for c in p.get("checks", [])]
        problems.append(ProblemView(index, spec.key, score, spec.points,
                                    by_grader=bool(entry and spec.key in entry.by_grader),
                                    comment=entry.comments.get(spec.key, "") if entry else "",
                                    error=p.get("error"), lines=lines))
    total = entry.total if entry else float(results.get("score", 0.0))
    return FeedbackView(assignment.title, student, total, assignment.points, results.get("error"),
                        list(results.get("notes", [])), problems)


def render_feedback(view: FeedbackView) -> str:
    return TEMPLATES.get_template("feedback.html.j2").render(v=view)


def _results(layout: Layout, student: str) -> dict | None:
    try:
        data = json.loads(layout.results_json(student).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_feedback(layout: Layout, assignment: Assignment, student: str, book: Book | None = None) -> Path | None:
    """feedback/<student>/<HW>/feedback.html from the gradebook and results.json; None when the
    student has nothing graded (no results.json and no score in the gradebook)."""
    results = _results(layout, student)
    entry = (book or read_book(layout, assignment)).submissions.get(student)
    if results is None and entry is None:
        return None
    out = layout.feedback_html(student)
    write_if_changed(out, render_feedback(feedback_view(assignment, student, results, entry)))
    for name in EXCHANGE_FILES:
        src = layout.submission_dir(student) / name
        if src.is_file() and not src.is_symlink():
            shutil.copyfile(src, out.parent / name)
    return out


def write_class_feedback(layout: Layout, assignment: Assignment, students: list[str],
                         failed: list[tuple[str, str]] | None = None) -> list[str]:
    """The feedback of every student in `students` that has something graded; returns them. A page
    that cannot be written costs that student's page (a row appended to `failed`), never the rest."""
    book = read_book(layout, assignment)
    written = []
    for s in students:
        try:
            if write_feedback(layout, assignment, s, book) is not None:
                written.append(s)
        except Exception as e:  # noqa: BLE001 — one student's page, never the class's
            if failed is not None:
                failed.append((s, f"its feedback page could not be written: {type(e).__name__}: {e}"[:300]))
    return written


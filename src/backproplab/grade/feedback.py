"""Per-student feedback: what was wrong, by name, without hidden inputs or expected values.

Copying flags are for the instructor (results.json, the report), not the student.
"""

from __future__ import annotations

from ..assignment import Assignment
from ..course.layout import Layout
from ..render.jinja import TEMPLATES


def write_feedback(layout: Layout, assignment: Assignment, result: dict) -> None:
    """feedback/<student>/<HW>/feedback.html for one graded submission, from its results.json record
    (whose strings are already safe to write: SubmissionResult.to_json); autoescaped HTML."""
    out = layout.feedback_html(result["student"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(TEMPLATES.get_template("feedback.html.j2").render(title=assignment.title, r=result),
                   encoding="utf-8")

"""Per-student feedback: what was wrong, by name, without hidden inputs or expected values.

Copying flags are for the instructor (results.json, the report), not the student.
"""

from __future__ import annotations

from ..assignment import Assignment
from ..course.layout import Layout
from ..render.jinja import TEMPLATES


def write_feedback(layout: Layout, assignment: Assignment, result) -> None:
    """feedback/<student>/<HW>/feedback.html for one graded submission."""
    out = layout.feedback_html(result.student)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(TEMPLATES.get_template("feedback.html.j2").render(title=assignment.title, r=result))

"""The HTML handout (what the student sees) and the HTML answer key (worked solutions)."""

from __future__ import annotations

import base64
import re

from ..assignment import Assignment
from ..problems.exact import latex
from .items import Item
from .markdown import math_html, md_to_html, mathml
from .notebook import TEMPLATES


def _inline(text: str) -> str:
    """Markdown of one line (labels, table cells) without the wrapping paragraph."""
    return re.sub(r"^<p>(.*)</p>\s*$", r"\1", md_to_html(text).strip(), flags=re.S)


def _problem(item: Item, key: bool) -> dict:
    v = item.variant
    images = item.images if key else item.student_images()
    page = {
        "key": item.spec.key,
        "title": v.title,
        "points": item.spec.points,
        "statement": md_to_html(v.statement),
        "images": [{"caption": p.caption, "data": base64.b64encode(png).decode()} for p, png in images],
        "answers": [{"name": a.name, "label": _inline(a.label), "value": mathml(latex(a.value))} for a in v.answers],
    }
    if key:
        page["steps"] = [
            {"text": md_to_html(s.text), "math": math_html(s.math) if s.math else "",
             "table": [[_inline(c) for c in row] for row in s.table] if s.table else None}
            for s in v.steps
        ]
        if v.code is not None:
            page["steps"].append({"text": "<pre><code>" + _escape(v.code.solution) + "</code></pre>", "math": "", "table": None})
        page["misconceptions"] = [{"name": m.name, "answer": m.answer, "value": mathml(latex(m.value)),
                                   "feedback": m.feedback} for m in v.misconceptions]
    return page


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def handout_html(assignment: Assignment, student: str, items: list[Item]) -> str:
    """The student's problems as a self-contained page with typeset math and plots."""
    return TEMPLATES.get_template("page.html.j2").render(
        title=assignment.title, subtitle=f"Student {student} · {assignment.points:g} points",
        problems=[_problem(it, key=False) for it in items], key=False)


def key_html(assignment: Assignment, student: str, items: list[Item]) -> str:
    """The instructor's key for one student: answers, worked solutions, recognised mistakes."""
    return TEMPLATES.get_template("page.html.j2").render(
        title=f"Answer key — {assignment.title}", subtitle=f"Student {student} · {assignment.points:g} points",
        problems=[_problem(it, key=True) for it in items], key=True)

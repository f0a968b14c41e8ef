"""`backproplab solve`: a student's notebook filled with the reference answers."""

from __future__ import annotations

from pathlib import Path

from ..assignment import load
from ..render.notebook import build_notebook, dumps
from .layout import course_secret
from .fingerprint import fingerprint
from .variants import student_items


def solve(name: str, course: Path, student: str, out: Path) -> Path:
    """Write the solved notebook of `student` to `out`; the same cells as their released one."""
    assignment = load(name)
    secret = course_secret(Path(course), create=False)
    items = student_items(assignment, secret, student)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps(build_notebook(assignment, items, "solved", fingerprint(secret, assignment, student))))
    return out

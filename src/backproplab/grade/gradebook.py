"""Recording results in nbgrader's gradebook.db (so `nbgrader export`, formgrader and
generate_feedback see them): the score of each test cell `pN_test`, and our
feedback as the auto-comment of each answer cell `pN`."""

from __future__ import annotations

import warnings
from typing import Callable

from ..assignment import Assignment
from ..course.layout import Layout
from ..course.nbgrader_env import ensure_tools_on_path, gradebook_url

BATCH = 25  # submissions per transaction: commits dominate the cost


class GradebookWriter:
    """Buffered writer; `on_commit(data)` runs for each result only after its grades are committed."""

    def __init__(self, layout: Layout, assignment: Assignment, on_commit: Callable[[dict], None] | None = None):
        self.layout, self.assignment, self.on_commit = layout, assignment, on_commit
        self.pending: list[dict] = []
        self.gb = None

    def __enter__(self) -> "GradebookWriter":
        ensure_tools_on_path()
        from nbgrader.api import Gradebook

        # nbgrader's own relationship bookkeeping warns on every new submission; harmless.
        warnings.filterwarnings("ignore", message=".*not in session.*")
        if not self.layout.gradebook.exists():
            raise FileNotFoundError(f"no gradebook at {self.layout.gradebook}: run `backproplab generate` first")
        self.gb = Gradebook(gradebook_url(self.layout.course))
        return self

    def record(self, data: dict) -> None:
        self.pending.append(data)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        gb = self.gb
        for data in self.pending:
            student = data["student"]
            gb.update_or_create_student(student)
            sub = gb.update_or_create_submission(self.assignment.name, student)
            by_key = {p["key"]: p for p in data["problems"]}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    p = by_key.get(grade.name.removesuffix("_test"))
                    grade.auto_score = p["score"] if p else 0.0
                for comment in nb.comments:
                    p = by_key.get(comment.name)
                    comment.auto_comment = _comment(p, data)
        gb.db.commit()
        done, self.pending = self.pending, []
        if self.on_commit:
            for data in done:
                self.on_commit(data)

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None or exc[0] is KeyboardInterrupt:
                self.flush()
        finally:
            self.gb.close()


def _comment(problem: dict | None, data: dict) -> str:
    if data["status"] == "error":
        return f"Not graded: {data['error']}"
    if problem is None:
        return ""
    lines = [c["message"] for c in problem["checks"] if c["message"]]
    if problem.get("error"):
        lines.insert(0, problem["error"])
    return "\n".join(lines)  # copying flags stay with the instructor (results.json, report)

"""Recording results in nbgrader's gradebook.db (so `nbgrader export`, formgrader and
generate_feedback see them): the score of each test cell `pN_test`, and our
feedback as the auto-comment of each answer cell `pN`."""

from __future__ import annotations

import warnings
from typing import Callable

from ..assignment import Assignment
from ..course.layout import Layout
from ..course.nbgrader_env import gradebook_url, prepare_nbgrader

BATCH = 100  # submissions per transaction: each commit is an fsync


class GradebookWriter:
    """Buffered writer; `on_commit(data)` runs for each result only after its grades are committed.

    nbgrader's Gradebook methods commit on every call (a student, a submission:
    two fsyncs each), which costs more than grading. We build the same rows with
    nbgrader's own ORM classes, as `Gradebook.add_submission` does, and commit
    once per batch.
    """

    def __init__(self, layout: Layout, assignment: Assignment, on_commit: Callable[[dict], None] | None = None):
        self.layout, self.assignment, self.on_commit = layout, assignment, on_commit
        self.pending: list[dict] = []
        self.gb = None

    def __enter__(self) -> "GradebookWriter":
        prepare_nbgrader()
        from nbgrader.api import Gradebook, Student, SubmittedAssignment

        # nbgrader's own relationship bookkeeping warns on every new submission; harmless.
        warnings.filterwarnings("ignore", message=".*not in session.*")
        if not self.layout.gradebook.exists():
            raise FileNotFoundError(f"no gradebook at {self.layout.gradebook}: run `backproplab generate` first")
        self.gb = Gradebook(gradebook_url(self.layout.course))
        self.nb_assignment = self.gb.find_assignment(self.assignment.name)
        db = self.gb.db
        self.students = {sid for (sid,) in db.query(Student.id)}
        self.submissions = {s.student_id: s for s in
                            db.query(SubmittedAssignment).filter(SubmittedAssignment.assignment_id == self.nb_assignment.id)}
        return self

    def record(self, data: dict) -> None:
        self.pending.append(data)
        if len(self.pending) >= BATCH:
            self.flush()

    def _submission(self, student: str):
        """The student's submission rows, created like `Gradebook.add_submission` if missing."""
        from nbgrader.api import Comment, Grade, Student, SubmittedAssignment, SubmittedNotebook

        if student not in self.students:
            self.gb.db.add(Student(id=student))
            self.students.add(student)
        sub = self.submissions.get(student)
        if sub is None:
            sub = SubmittedAssignment(assignment=self.nb_assignment, student_id=student)
            for notebook in self.nb_assignment.notebooks:
                nb = SubmittedNotebook(notebook=notebook, assignment=sub)
                for cell in notebook.grade_cells:
                    Grade(cell=cell, notebook=nb)
                for cell in notebook.solution_cells:
                    Comment(cell=cell, notebook=nb)
                for cell in notebook.task_cells:
                    Comment(cell=cell, notebook=nb)
                    Grade(cell=cell, notebook=nb)
            self.gb.db.add(sub)
            self.submissions[student] = sub
        return sub

    def flush(self) -> None:
        if not self.pending:
            return
        for data in self.pending:
            by_key = {p["key"]: p for p in data["problems"]}
            for nb in self._submission(data["student"]).notebooks:
                for grade in nb.grades:
                    p = by_key.get(grade.cell.name.removesuffix("_test"))
                    grade.auto_score = p["score"] if p else 0.0
                    # as nbgrader's SaveAutoGrades: a grader's manual score still needs their review
                    grade.needs_manual_grade = grade.manual_score is not None
                for comment in nb.comments:
                    comment.auto_comment = _comment(by_key.get(comment.cell.name), data)
        self.gb.db.commit()
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

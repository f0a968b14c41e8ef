"""nbgrader's gradebook.db, the one store of scores.

Writing (so `nbgrader export`, formgrader and generate_feedback see them): the score
of each test cell `pN_test`, and our feedback as the auto-comment of each answer
cell `pN`. Reading (`read_book`): what feedback, the report and the exports show,
manual scores, extra credit and a grader's comments from formgrader included,
whichever route (`backproplab grade` or `nbgrader autograde`) graded the submission.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

from ..assignment import Assignment
from ..course.layout import Layout
from ..course.nbgrader_env import gradebook_url, prepare_nbgrader
from ..course.roster import Person
from .result import labelled


@dataclass
class BookSubmission:
    """One student's graded submission as the gradebook holds it, per problem key."""

    scores: dict[str, float] = field(default_factory=dict)  # manual score if set, else auto, plus extra credit
    auto: dict[str, float | None] = field(default_factory=dict)  # what the autograder gave
    by_grader: set[str] = field(default_factory=set)  # problems whose score a grader set or added to
    comments: dict[str, str] = field(default_factory=dict)  # a grader's manual comment on the answer cell

    @property
    def total(self) -> float:
        return round(sum(self.scores.values()), 6)


@dataclass
class Book:
    """What the gradebook knows of a class for one assignment."""

    people: dict[str, Person] = field(default_factory=dict)
    submissions: dict[str, BookSubmission] = field(default_factory=dict)  # only those with a score recorded


def read_book(layout: Layout, assignment: Assignment) -> Book:
    """Every student's person and every scored submission of `assignment` in the course's gradebook.

    A submission counts once any of its grades has a score (auto or manual): nbgrader
    creates the rows at the start of autograde, and a row alone would read as a real zero.
    Two joined queries over nbgrader's ORM classes (walking its relationships lazily
    costs a query per submission and cell: most of a second for 300 students).
    """
    prepare_nbgrader()
    from nbgrader.api import Assignment as Homework
    from nbgrader.api import BaseCell, Comment, Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook

    keys = {p.key for p in assignment.problems}
    book = Book()
    if not layout.gradebook.exists():
        return book

    def of_assignment(query, row):
        return (query.select_from(row)
                .join(SubmittedNotebook, row.notebook_id == SubmittedNotebook.id)
                .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                .join(Homework, SubmittedAssignment.assignment_id == Homework.id)
                .join(BaseCell, row.cell_id == BaseCell.id)
                .filter(Homework.name == assignment.name))

    with Gradebook(gradebook_url(layout.course)) as gb:
        db = gb.db
        for who in db.query(Student):
            book.people[who.id] = Person(who.first_name or "", who.last_name or "", who.email or "",
                                         who.lms_user_id or "")
        entries: dict[str, BookSubmission] = {}
        scored: set[str] = set()
        grades = of_assignment(db.query(SubmittedAssignment.student_id, BaseCell.name, Grade.auto_score,
                                        Grade.manual_score, Grade.extra_credit, Grade.score), Grade)
        for student, cell, auto, manual, extra, score in grades:
            key = cell.removesuffix("_test")
            if key not in keys:
                continue
            entry = entries.setdefault(student, BookSubmission())
            if auto is not None or manual is not None:
                scored.add(student)
            entry.scores[key] = entry.scores.get(key, 0.0) + float(score or 0.0)
            entry.auto[key] = auto
            if manual is not None or extra:
                entry.by_grader.add(key)
        comments = of_assignment(db.query(SubmittedAssignment.student_id, BaseCell.name, Comment.manual_comment), Comment)
        for student, cell, text in comments:
            if student in entries and cell in keys and (text or "").strip():
                entries[student].comments[cell] = text.strip()
    book.submissions = {s: e for s, e in entries.items() if s in scored}
    return book


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
    lines = [c.get("line") or labelled(c["name"], c["message"]) for c in problem["checks"] if c["message"]]
    if problem.get("error"):
        lines.insert(0, problem["error"])
    return "\n".join(lines)  # copying flags stay with the instructor (results.json, report)

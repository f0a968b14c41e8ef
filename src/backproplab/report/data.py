"""The graded class of one assignment, as the report and the exports read it.

Scores come from nbgrader's gradebook.db (the store: a TA's manual score or extra
credit in formgrader wins over the autograder's), everything else — the checks
with their messages and named misconceptions, copying flags, errors — from each
submission's autograded/<student>/<HW>/results.json, and the odd folders and
missing students from the last run's .backproplab/grade/<HW>.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assignment import Assignment
from ..course.layout import Layout, generated
from ..course.nbgrader_env import gradebook_url, prepare_nbgrader
from ..errors import BackproplabError, ConfigError
from ..files import digest

# A student's status in the exports and the report.
GRADED, ERROR, MISSING, UNGRADED, STALE = "graded", "error", "missing", "ungraded", "stale"


class GradesError(BackproplabError):
    """The grades cannot be read (one line): unknown assignment, not generated, nothing graded."""


@dataclass
class Person:
    """What the gradebook knows about a student beyond the id (empty when nothing)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""

    @property
    def display_name(self) -> str:
        """'Last, First' as LMS gradebooks show names, or '' when the gradebook has none."""
        if self.last_name and self.first_name:
            return f"{self.last_name}, {self.first_name}"
        return self.last_name or self.first_name


@dataclass
class StudentGrades:
    """One roster student: status, points per problem key, and the raw results.json.

    `scores` is empty for a student without a graded submission. Status "stale"
    means the student resubmitted after the last grade run (the scores belong to
    the earlier file); "ungraded" means a submission that has not been graded yet.
    """

    student: str
    status: str
    scores: dict[str, float] = field(default_factory=dict)
    results: dict[str, Any] | None = None
    person: Person = field(default_factory=Person)

    @property
    def total(self) -> float | None:
        return round(sum(self.scores.values()), 6) if self.scores else None

    @property
    def error(self) -> str | None:
        return (self.results or {}).get("error")

    def problem(self, key: str) -> dict[str, Any] | None:
        """The results.json entry of problem `key` (checks, error, flags), if graded."""
        for p in (self.results or {}).get("problems", []):
            if p.get("key") == key:
                return p
        return None


@dataclass
class ClassGrades:
    """Every roster student of one assignment, plus the last run's error rows."""

    assignment: Assignment
    layout: Layout
    students: list[StudentGrades]
    run_errors: list[tuple[str, str]] = field(default_factory=list)  # (folder or student, reason)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.assignment.problems]

    @property
    def max_score(self) -> float:
        return self.assignment.points

    def with_status(self, *statuses: str) -> list[StudentGrades]:
        return [s for s in self.students if s.status in statuses]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _status(layout: Layout, student: str, results: dict | None) -> str:
    submitted = layout.submission_dir(student) / layout.notebook_name
    if results is None:
        return UNGRADED if layout.submission_dir(student).is_dir() else MISSING
    if submitted.exists() and results.get("digest") and results["digest"] != digest(submitted):
        return STALE
    return ERROR if results.get("status") == ERROR else GRADED


def _gradebook_scores(layout: Layout, assignment: Assignment, students: list[StudentGrades]) -> None:
    """Fill `scores` (points per problem key) and `person` from nbgrader's gradebook."""
    prepare_nbgrader()
    from nbgrader.api import Gradebook, MissingEntry

    keys = {p.key for p in assignment.problems}
    with Gradebook(gradebook_url(layout.course)) as gb:
        for row in students:
            try:
                who = gb.find_student(row.student)
                row.person = Person(who.first_name or "", who.last_name or "", who.email or "", who.lms_user_id or "")
            except MissingEntry:
                continue
            if row.results is None:
                continue  # nothing graded: a gradebook row alone would read as a real zero
            try:
                sub = gb.find_submission(assignment.name, row.student)
            except MissingEntry:
                continue
            for nb in sub.notebooks:
                for grade in nb.grades:
                    key = grade.name.removesuffix("_test")
                    if key in keys:
                        row.scores[key] = row.scores.get(key, 0.0) + float(grade.score or 0.0)


def load_class(name: str, course: Path) -> ClassGrades:
    """Read the grades of assignment `name` in `course`; GradesError when there are none to read."""
    try:
        assignment, layout, roster = generated(name, course)
    except ConfigError as e:
        raise GradesError(str(e)) from None
    course = layout.course
    if not layout.gradebook.exists():
        raise GradesError(f"no gradebook at {layout.gradebook}: run `backproplab generate` first")
    rows = []
    for student in roster:
        results = _read_json(layout.results_json(student))
        results = results if isinstance(results, dict) else None
        rows.append(StudentGrades(student, _status(layout, student, results), results=results))
    if not any(r.results for r in rows):
        raise GradesError(f"nothing of {assignment.name} has been graded in {course}: run `backproplab grade` first")
    _gradebook_scores(layout, assignment, rows)
    for row in rows:
        if row.results and not row.scores:  # graded, but the gradebook lost it: fall back to our record
            row.scores = {p["key"]: float(p["score"]) for p in row.results.get("problems", [])}
    log = _read_json(layout.run_log)
    entries = log.get("errors", []) if isinstance(log, dict) else []
    on_roster = {r.student for r in rows}
    # Students' own errors are in their results.json; keep the rows only the run log knows (odd folders).
    run_errors = [(str(e[0]), str(e[1])) for e in entries
                  if isinstance(e, list) and len(e) == 2 and e[0] not in on_roster]
    return ClassGrades(assignment, layout, rows, run_errors)

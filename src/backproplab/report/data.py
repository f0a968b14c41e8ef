"""The graded class of one assignment, as the report and the exports read it.

Scores come from nbgrader's gradebook.db (the store: a TA's manual score or extra
credit in formgrader wins over the autograder's), everything else — the checks
with their messages and named misconceptions, copying flags, errors, notebooks
that are not the student's own — from each submission's
autograded/<student>/<HW>/results.json, and the odd folders and missing students
from the last run's .backproplab/grade/<HW>.json. Either route writes both:
`backproplab grade`, and `nbgrader autograde` with the generated config; a
submission the gradebook scored without a results.json (stock in-kernel nbgrader)
is still read, with its scores only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assignment import Assignment
from ..course.layout import Layout, generated
from ..course.roster import Person
from ..errors import BackproplabError, ConfigError
from ..files import digest
from ..grade.gradebook import read_book

# A student's status in the exports and the report.
GRADED, ERROR, MISSING, UNGRADED, STALE = "graded", "error", "missing", "ungraded", "stale"


class GradesError(BackproplabError):
    """The grades cannot be read (one line): unknown assignment, not generated, nothing graded."""


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

    @property
    def wrong_notebook(self) -> dict[str, Any] | None:
        """{"kind", "released_to", "message"} when the submission is not the student's own notebook."""
        found = (self.results or {}).get("wrong_notebook")
        return found if isinstance(found, dict) else None

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

    @property
    def wrong_notebooks(self) -> list[StudentGrades]:
        """Submissions that are another student's notebook, the generic one, or nobody's."""
        return [s for s in self.students if s.wrong_notebook]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _status(layout: Layout, student: str, results: dict | None, in_book: bool) -> str:
    submitted = layout.submission_dir(student) / layout.notebook_name
    if results is None:
        if in_book:  # scored by nbgrader alone (stock in-kernel autograde)
            return GRADED
        return UNGRADED if layout.submission_dir(student).is_dir() else MISSING
    if submitted.exists() and results.get("digest") and results["digest"] != digest(submitted):
        return STALE
    return ERROR if results.get("status") == ERROR else GRADED


def load_class(name: str, course: Path) -> ClassGrades:
    """Read the grades of assignment `name` in `course`; GradesError when there are none to read."""
    try:
        assignment, layout, roster = generated(name, course)
    except ConfigError as e:
        raise GradesError(str(e)) from None
    course = layout.course
    if not layout.gradebook.exists():
        raise GradesError(f"no gradebook at {layout.gradebook}: run `backproplab generate` first")
    book = read_book(layout, assignment)
    rows = []
    for student in roster:
        results = _read_json(layout.results_json(student))
        results = results if isinstance(results, dict) else None
        entry = book.submissions.get(student)
        row = StudentGrades(student, _status(layout, student, results, entry is not None), results=results,
                            person=book.people.get(student, Person()))
        if entry is not None:
            row.scores = dict(entry.scores)
        elif results is not None:  # graded, but the gradebook lost it: fall back to our record
            row.scores = {p["key"]: float(p["score"]) for p in results.get("problems", [])}
        rows.append(row)
    if not any(r.results or r.scores for r in rows):
        raise GradesError(f"nothing of {assignment.name} has been graded in {course}: run `backproplab grade` "
                          "(or `nbgrader autograde`) first")
    log = _read_json(layout.run_log)
    entries = log.get("errors", []) if isinstance(log, dict) else []
    on_roster = {r.student for r in rows}
    # Students' own errors are in their results.json; keep the rows only the run log knows (odd folders).
    run_errors = [(str(e[0]), str(e[1])) for e in entries
                  if isinstance(e, list) and len(e) == 2 and e[0] not in on_roster]
    return ClassGrades(assignment, layout, rows, run_errors)

"""`backproplab export`: the gradebook's scores in the formats other tools import.

    csv         per-question CSV: student_id, p1, ..., total, max, status
    canvas      Canvas gradebook import CSV: Student, ID, SIS User ID, SIS Login ID,
                Section, "<title> (<Canvas assignment id>)", with Canvas's "Points Possible" row
    gradescope  one <student>/results.json per submission in Gradescope's results format
                (export/gradescope.py), for review or an upload by script: Gradescope itself
                grades through the autograder bundle (`backproplab gradescope`)

Scores are the gradebook's (manual scores and extra credit included). A submission that
could not be graded (status "error": not a notebook, a classmate's notebook, ...) is 0 in
every export, as in the gradebook; the csv's status column says "error" and the reason is
in the feedback. Students without a submission get empty cells, never a silent zero: the
status column (csv) says why, and Canvas leaves an empty cell's grade unchanged.

Canvas's gradebook importer fills an existing assignment only when the column header ends
in the assignment's numeric id in parentheses, "Name (1234)", and matches each row to a
student by Canvas ID, then SIS User ID, then SIS Login ID, then name: the export writes the
id it is given and all four identifiers, from the roster columns the instructor names
(`CanvasColumns`), or from what the gradebook keeps (lms_user_id, email, the name).
Feedback text is only what the student's own feedback shows — check messages, problem
errors, notes — never hidden inputs, expected values or copying flags.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import BackproplabError
from ..files import write_if_changed
from ..course.roster import read_roster_columns, roster_columns
from ..report.data import ERROR, GRADED, STALE, ClassGrades, GradesError, StudentGrades, load_class
from .gradescope import Visibility, results_json

Format = Literal["csv", "canvas", "gradescope"]
FORMATS: tuple[str, ...] = ("csv", "canvas", "gradescope")


class ExportError(BackproplabError):
    """The export cannot be written (one line)."""


def number(x: float | None) -> str:
    """A score as a short decimal string ('' for no score): 2, 4.5, 0.3333."""
    if x is None:
        return ""
    return f"{round(x, 4) + 0.0:.4f}".rstrip("0").rstrip(".")  # + 0.0 turns -0.0 into 0.0


def has_score(s: StudentGrades) -> bool:
    """Scores worth exporting: a graded submission (also one resubmitted since) or one that errored (0)."""
    return s.status in (GRADED, STALE, ERROR)


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def per_question_csv(grades: ClassGrades) -> str:
    """student_id, one column per problem key, total, max, status; one row per roster student."""
    rows = [["student_id", *grades.keys, "total", "max", "status"]]
    for s in grades.students:
        scored = has_score(s)
        rows.append([s.student, *(number(s.scores.get(k)) if scored else "" for k in grades.keys),
                     number(s.total) if scored else "", number(grades.max_score), s.status])
    return _csv_text(rows)


CANVAS_ID = re.compile(r"^[0-9]+$")  # Canvas ids (of assignments, of users) are numbers


@dataclass(frozen=True)
class CanvasColumns:
    """Which roster columns hold what Canvas matches students by ('' = not in the roster).

    The defaults are the roster's usual columns; a column named explicitly (`explicit`) must
    exist in the roster, a default one is used only when it does."""

    canvas_id: str = "lms_user_id"
    sis_user_id: str = "student_id"
    sis_login_id: str = "email"
    explicit: frozenset[str] = frozenset()


def canvas_identities(grades: ClassGrades, roster: Path | None, columns: CanvasColumns) -> dict[str, list[str]]:
    """student_id -> [name, Canvas ID, SIS User ID, SIS Login ID], from the roster's named
    columns (and its first_name/last_name) when a roster is given, else from the gradebook."""
    people = {s.student: s.person for s in grades.students}
    if roster is None:
        return {sid: [p.display_name, p.lms_user_id, sid, p.email] for sid, p in people.items()}
    from ..course.roster import read_roster_students

    wanted = [c for c in (columns.canvas_id, columns.sis_user_id, columns.sis_login_id) if c]
    have = set(roster_columns(roster))
    # A column the instructor named must be there (RosterError lists the roster's columns);
    # a default one that is not is left empty.
    usable = [c for c in wanted if c in have or c in columns.explicit]
    values = read_roster_columns(roster, usable)
    names = {r.student_id: r.person.display_name for r in read_roster_students(roster)}
    out = {}
    for sid in people:
        row = values.get(sid, {})
        out[sid] = [names.get(sid) or people[sid].display_name,
                    *(row.get(c, "") if c in usable else "" for c in
                      (columns.canvas_id, columns.sis_user_id, columns.sis_login_id))]
    return out


def canvas_csv(grades: ClassGrades, assignment_id: str, roster: Path | None = None,
               columns: CanvasColumns = CanvasColumns()) -> str:
    """A Canvas gradebook import filling the Canvas assignment `assignment_id` (the number in
    its URL, .../assignments/<id>): one row per roster student with a submission, identified
    by name, Canvas ID, SIS User ID and SIS Login ID (see `canvas_identities`)."""
    if not CANVAS_ID.fullmatch(str(assignment_id)):
        raise ExportError(f"the Canvas assignment id must be a number (the <id> in .../assignments/<id>), not {assignment_id!r}")
    # Canvas reads the id from the last "(digits)" of the header: the title must not end in one itself.
    title = re.sub(r"\s*\(\d+\)\s*$", "", grades.assignment.title) or grades.assignment.name
    column = f"{title} ({assignment_id})"
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
            ["    Points Possible", "", "", "", "", number(grades.max_score)]]
    rows += [[r.name, r.canvas_id, r.sis_user_id, r.sis_login_id, "", r.score] for r in canvas_rows(grades, roster, columns)]
    return _csv_text(rows)


@dataclass(frozen=True)
class CanvasRow:
    """One student as Canvas matches them, and their score ('' = no submission: left unchanged)."""

    student: str
    name: str
    canvas_id: str
    sis_user_id: str
    sis_login_id: str
    score: str


def canvas_rows(grades: ClassGrades, roster: Path | None = None, columns: CanvasColumns = CanvasColumns()) -> list[CanvasRow]:
    """Every roster student's Canvas identifiers and score: an errored submission is 0, a missing one ''."""
    ids = canvas_identities(grades, roster, columns)
    return [CanvasRow(s.student, *ids[s.student], number(s.total if s.status != ERROR else 0.0) if has_score(s) else "")
            for s in grades.students]


def gradescope_results(grades: ClassGrades, s: StudentGrades, visibility: Visibility = Visibility()) -> dict[str, Any]:
    """Gradescope's results.json for one graded submission, with the gradebook's scores."""
    record = s.results or {"status": s.status, "problems": []}
    return results_json(grades.assignment, record, scores=s.scores if s.status != ERROR else None,
                        visibility=visibility, execution_time=record.get("seconds"))


def load_grades(assignment: str, course: Path) -> ClassGrades:
    """The class's grades from the gradebook; ExportError (one line) when there are none to export."""
    try:
        return load_class(assignment, course)
    except GradesError as e:
        raise ExportError(str(e)) from None


def export(assignment: str, course: Path, fmt: Format = "csv", out: Path | None = None, *,
           canvas_assignment_id: str | None = None, roster: Path | None = None,
           columns: CanvasColumns = CanvasColumns()) -> Path:
    """Write the grades of `assignment` in format `fmt`; returns the file (or folder, for gradescope).

    Default output: course/exports/<HW>.csv, <HW>-canvas.csv, or the folder <HW>-gradescope/.
    The canvas format needs `canvas_assignment_id`; `roster` and `columns` say where the
    Canvas identifiers of each student are. ExportError with one line on an unknown format
    or assignment, one not generated, or nothing graded.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    grades = load_grades(assignment, course)
    if fmt == "canvas" and not canvas_assignment_id:
        raise ExportError("the canvas format needs --canvas-assignment-id (the <id> in the assignment's Canvas "
                          "address .../assignments/<id>): without it Canvas makes a new assignment")
    name = grades.assignment.name
    default = {"csv": f"{name}.csv", "canvas": f"{name}-canvas.csv", "gradescope": f"{name}-gradescope"}[fmt]
    path = Path(out) if out is not None else grades.layout.course / "exports" / default
    try:
        if fmt == "csv":
            write_if_changed(path, per_question_csv(grades))
        elif fmt == "canvas":
            write_if_changed(path, canvas_csv(grades, str(canvas_assignment_id), roster, columns))
        else:
            for s in grades.students:
                if has_score(s):
                    write_if_changed(path / s.student / "results.json", json.dumps(gradescope_results(grades, s), indent=1) + "\n")
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None
    return path

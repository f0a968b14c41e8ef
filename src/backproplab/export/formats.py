"""`backproplab export`: the gradebook's scores in the formats other tools import.

    csv         per-question CSV: student_id, p1, ..., total, max, status
    canvas      Canvas gradebook import CSV: Student, ID, SIS User ID, SIS Login ID,
                Section, "<title> (<assignment>)", with Canvas's "Points Possible" row
    gradescope  one <student>/results.json per submission in Gradescope's
                autograder results format

Scores are the gradebook's (manual scores and extra credit included). Students
without a graded submission get empty cells, never a silent zero: the status
column (csv) says why, and Canvas leaves an empty cell's grade unchanged.
Feedback text is only what the student's own feedback shows — check messages,
problem errors, notes — never hidden inputs, expected values or copying flags.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Literal

from ..errors import BackproplabError
from ..files import write_if_changed
from ..grade.result import labelled
from ..report.data import ERROR, GRADED, STALE, ClassGrades, GradesError, StudentGrades, load_class

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


def canvas_csv(grades: ClassGrades) -> str:
    """A Canvas gradebook import: one assignment column; students matched by the gradebook's
    `lms_user_id` (Canvas "ID") when set, else by student_id as "SIS User ID"."""
    column = f"{grades.assignment.title} ({grades.assignment.name})"
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column],
            ["    Points Possible", "", "", "", "", number(grades.max_score)]]
    for s in grades.students:
        # An errored notebook is left blank too: the instructor decides, after reading the error.
        score = number(s.total) if s.status in (GRADED, STALE) else ""
        rows.append([s.person.display_name or s.student, s.person.lms_user_id, s.student, "", "", score])
    return _csv_text(rows)


def gradescope_results(grades: ClassGrades, s: StudentGrades) -> dict[str, Any]:
    """Gradescope's autograder results.json for one submission: one test per problem."""
    tests = []
    for spec in grades.assignment.problems:
        p = s.problem(spec.key) or {}
        lines = ([p["error"]] if p.get("error") else []) + [c.get("line") or labelled(c["name"], c["message"])
                                                           for c in p.get("checks", []) if c.get("message")]
        if s.status == ERROR:
            lines = [f"Not graded: {s.error}"]
        score = s.scores.get(spec.key, 0.0)
        tests.append({"name": f"Problem {spec.key[1:]}: {spec.type.title}", "number": spec.key[1:],
                      "score": round(score, 6), "max_score": spec.points,
                      "status": "passed" if score >= spec.points - 1e-9 else "failed",
                      "output": "\n".join(dict.fromkeys(lines))})  # a problem error is often each check's message too
    notes = list((s.results or {}).get("notes", []))
    if s.status == ERROR:
        notes.insert(0, f"Your notebook could not be graded: {s.error}")
    return {"score": round(s.total or 0.0, 6), "output": "\n".join(notes), "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def export(assignment: str, course: Path, fmt: Format = "csv", out: Path | None = None) -> Path:
    """Write the grades of `assignment` in format `fmt`; returns the file (or folder, for gradescope).

    Default output: course/exports/<HW>.csv, <HW>-canvas.csv, or the folder <HW>-gradescope/.
    ExportError with one line on an unknown format or assignment, one not generated, or nothing graded.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    try:
        grades = load_class(assignment, course)
    except GradesError as e:
        raise ExportError(str(e)) from None
    name = grades.assignment.name
    default = {"csv": f"{name}.csv", "canvas": f"{name}-canvas.csv", "gradescope": f"{name}-gradescope"}[fmt]
    path = Path(out) if out is not None else grades.layout.course / "exports" / default
    try:
        if fmt == "csv":
            write_if_changed(path, per_question_csv(grades))
        elif fmt == "canvas":
            write_if_changed(path, canvas_csv(grades))
        else:
            for s in grades.students:
                if has_score(s):
                    write_if_changed(path / s.student / "results.json", json.dumps(gradescope_results(grades, s), indent=1) + "\n")
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None
    return path

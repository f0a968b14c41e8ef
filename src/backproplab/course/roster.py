"""Reading a roster: a CSV with a `student_id` column, and optionally `first_name`,
`last_name`, `email` and `lms_user_id` (what nbgrader's gradebook keeps of a student);
other columns are allowed and ignored."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

# Ids become folder names under submitted/ and release/: no separators, no dots first.
STUDENT_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}$")
PERSON_COLUMNS = ("first_name", "last_name", "email", "lms_user_id")  # nbgrader's Student columns


class RosterError(ConfigError):
    """The roster cannot be used."""


@dataclass
class Person:
    """What the roster (and nbgrader's gradebook) knows about a student beyond the id ('' when nothing)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""

    @property
    def display_name(self) -> str:
        """'Last, First' as LMS gradebooks show names, or '' when there is none."""
        if self.last_name and self.first_name:
            return f"{self.last_name}, {self.first_name}"
        return self.last_name or self.first_name


@dataclass
class RosterStudent:
    """One line of the roster."""

    student_id: str
    person: Person = field(default_factory=Person)


def check_student_id(student: str) -> str:
    """`student` if it is a safe id, else RosterError naming it."""
    if not STUDENT_ID.fullmatch(student) or ".." in student:
        raise RosterError(f"invalid student id {student!r}: use letters, digits and _ . @ + - (no slashes, not starting with a dot)")
    return student


def read_roster_students(path: Path) -> list[RosterStudent]:
    """The roster's students in order, with the names, email and LMS id it gives;
    RosterError on a missing student_id column, duplicates or unsafe ids."""
    path = Path(path)
    columns, rows = _read_rows(path)
    if "student_id" not in columns:
        raise RosterError(f"roster {path} has no student_id column (columns: {', '.join(columns)})")
    students: list[RosterStudent] = []
    seen: set[str] = set()
    for line, raw in enumerate(rows, start=2):
        student = raw.get("student_id", "")
        if not student:
            raise RosterError(f"roster {path}, line {line}: empty student_id")
        check_student_id(student)
        if student in seen:
            raise RosterError(f"roster {path}, line {line}: duplicate student_id {student!r}")
        seen.add(student)
        students.append(RosterStudent(student, Person(*(raw.get(c, "") for c in PERSON_COLUMNS))))
    if not students:
        raise RosterError(f"roster {path} lists no students")
    return students


def read_roster_columns(path: Path, columns: list[str]) -> dict[str, dict[str, str]]:
    """student_id -> {column: value} for the named `columns` of the roster (values stripped,
    '' where empty). RosterError when a named column is not in the roster, with the columns it has.

    For the LMS exports and the Gradescope bundle, whose matching columns (an email, a Canvas
    id, an SIS id) the instructor names: the roster may carry any columns besides student_id.
    """
    read_roster_students(path)  # validates ids, duplicates, the student_id column
    have, rows = _read_rows(Path(path))
    missing = [c for c in columns if c not in have]
    if missing:
        raise RosterError(f"roster {path} has no column {', '.join(map(repr, missing))} (columns: {', '.join(have)})")
    return {raw["student_id"]: {c: raw.get(c, "") for c in columns} for raw in rows}


def roster_columns(path: Path) -> list[str]:
    """The names of the roster's columns; RosterError when it cannot be read."""
    return _read_rows(Path(path))[0]


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The roster's column names and its rows (names and values stripped); RosterError when unreadable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise RosterError(f"cannot read roster {path}: {e}") from None
    reader = csv.DictReader(text.splitlines())
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None and isinstance(v, (str, type(None)))}
            for row in reader]
    return [f.strip() for f in reader.fieldnames or []], rows


def read_roster(path: Path) -> list[str]:
    """Student ids in roster order (see read_roster_students)."""
    return [s.student_id for s in read_roster_students(path)]

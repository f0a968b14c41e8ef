"""Reading a roster: a CSV with a `student_id` column (extra columns allowed)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..errors import ConfigError

# Ids become folder names under submitted/ and release/: no separators, no dots first.
STUDENT_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}$")


class RosterError(ConfigError):
    """The roster cannot be used."""


def check_student_id(student: str) -> str:
    """`student` if it is a safe id, else RosterError naming it."""
    if not STUDENT_ID.fullmatch(student) or ".." in student:
        raise RosterError(f"invalid student id {student!r}: use letters, digits and _ . @ + - (no slashes, not starting with a dot)")
    return student


def read_roster(path: Path) -> list[str]:
    """Student ids in roster order; RosterError on a missing column, duplicates or unsafe ids."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise RosterError(f"cannot read roster {path}: {e}") from None
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "student_id" not in [f.strip() for f in reader.fieldnames]:
        raise RosterError(f"roster {path} has no student_id column (columns: {', '.join(reader.fieldnames or [])})")
    ids: list[str] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        raw = {k.strip(): v for k, v in row.items() if k is not None}
        student = (raw.get("student_id") or "").strip()
        if not student:
            raise RosterError(f"roster {path}, line {line}: empty student_id")
        check_student_id(student)
        if student in seen:
            raise RosterError(f"roster {path}, line {line}: duplicate student_id {student!r}")
        seen.add(student)
        ids.append(student)
    if not ids:
        raise RosterError(f"roster {path} lists no students")
    return ids

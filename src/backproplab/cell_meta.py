"""nbgrader's cell metadata: what a generated cell carries, and its checksum as nbgrader computes it;
and the one notebook-level entry backproplab adds (metadata.backproplab.fingerprint).

Generation writes the checksum into every locked cell; grading recomputes it to
see whether a student changed a locked cell. Both use `checksum` here, which
hashes what nbgrader's `utils.compute_checksum` hashes (md5 of the source, the
cell type, the grade / solution / locked flags, the grade id and, for a grade
cell, its points).
"""

from __future__ import annotations

import hashlib
from typing import Any


def nbgrader_meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
                  points: float | None = None) -> dict:
    """The nbgrader metadata of a cell (schema version 3)."""
    meta: dict[str, Any] = {"schema_version": 3, "grade": grade, "solution": solution, "locked": locked,
                            "grade_id": grade_id}
    if grade:
        meta["points"] = points
    return meta


def checksum(source: str, cell_type: str, meta: dict) -> str:
    """nbgrader's checksum of a cell with this source, type and nbgrader metadata.

    Raises KeyError, TypeError or ValueError for metadata nbgrader could not hash
    either (a missing grade id, points that are not a number).
    """
    solution, grade = bool(meta.get("solution", False)), bool(meta.get("grade", False))
    locked = False if solution else (True if grade else bool(meta.get("locked", False)))
    h = hashlib.md5()
    for part in (source, str(cell_type), str(grade), str(solution), str(locked), str(meta["grade_id"])):
        h.update(part.encode("utf-8"))
    if grade:
        h.update(str(float(meta["points"])).encode("utf-8"))
    return h.hexdigest()


METADATA = "backproplab"  # the notebook metadata key of what backproplab records in a notebook


def notebook_fingerprint(nb: object) -> str | None:
    """The fingerprint a (student-controlled, already-loaded) notebook carries, or None
    (course/fingerprint.py says whose it is)."""
    meta = nb.get("metadata") if isinstance(nb, dict) else None
    ours = meta.get(METADATA) if isinstance(meta, dict) else None
    value = ours.get("fingerprint") if isinstance(ours, dict) else None
    return value if isinstance(value, str) else None

"""The fingerprint that tells whose variants a notebook holds.

Every released notebook carries it (metadata.backproplab.fingerprint, written by
`generate` and `solve`); the grader recomputes the fingerprint of every roster
student and of the source notebook to tell whose notebook a submission is. Kept
apart from variants.py, which renders plots: grading needs only these HMACs.
"""

from __future__ import annotations

import hashlib
import hmac

from ..assignment import Assignment
from ..problems.seeds import variant_seed
from .layout import SOURCE_STUDENT, Layout, course_secret

FINGERPRINT_VERSION = 1


def fingerprint(secret: bytes, assignment: Assignment, student: str) -> str:
    """The fingerprint of `student`'s notebook of `assignment`: an HMAC of the course secret over
    the assignment, the student and their variant seeds. Without the secret nobody can compute
    another student's (or their own), so it cannot be forged into a classmate's notebook."""
    seeds = [str(variant_seed(secret, assignment.name, student, spec.key)) for spec in assignment.problems]
    msg = "\x1f".join(["backproplab-fingerprint", str(FINGERPRINT_VERSION), assignment.name, student, *seeds])
    return hmac.new(secret, msg.encode(), hashlib.sha256).hexdigest()[:32]


def notebook_owners(secret: bytes, assignment: Assignment, students: list[str]) -> dict[str, str]:
    """fingerprint -> the student whose notebook carries it, for `students` and the source
    notebook (layout.SOURCE_STUDENT, whose fingerprint nbgrader's generic release carries)."""
    return {fingerprint(secret, assignment, s): s for s in [SOURCE_STUDENT, *students]}


def course_notebook_owners(layout: Layout, assignment: Assignment) -> dict[str, str]:
    """notebook_owners for the course's secret and the roster the assignment was generated for."""
    return notebook_owners(course_secret(layout.course, create=False), assignment, layout.roster_ids())

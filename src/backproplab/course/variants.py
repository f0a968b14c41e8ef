"""A student's variants of an assignment, from the course secret, and the fingerprint that
tells whose variants a notebook holds."""

from __future__ import annotations

import hashlib
import hmac

from ..assignment import Assignment
from ..problems.qa import make_variant
from ..problems.seeds import variant_seed
from ..render.items import Item
from ..render.plots import render_png
from .layout import SOURCE_STUDENT, Layout, course_secret

FINGERPRINT_VERSION = 1


def student_items(assignment: Assignment, secret: bytes, student: str, plots: bool = True) -> list[Item]:
    """One `Item` per problem: seed, QA-checked variant and (optionally) rendered plots."""
    items = []
    for spec in assignment.problems:
        seed = variant_seed(secret, assignment.name, student, spec.key)
        variant = make_variant(spec.type, seed, spec.options)
        images = [(p, render_png(p)) for p in variant.plots] if plots else []
        items.append(Item(spec, seed, variant, images))
    return items


def fingerprint(secret: bytes, assignment: Assignment, student: str) -> str:
    """The fingerprint of `student`'s notebook of `assignment`: an HMAC of the course secret over
    the assignment, the student and their variant seeds.

    Every released notebook carries it (metadata.backproplab.fingerprint), so the grader can
    tell whose notebook a submission is; without the secret nobody can compute another
    student's (or their own), so it cannot be forged into a classmate's notebook.
    """
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

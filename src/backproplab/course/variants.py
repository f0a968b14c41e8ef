"""A student's variants of an assignment, from the course secret."""

from __future__ import annotations

from ..assignment import Assignment
from ..problems.qa import make_variant
from ..problems.seeds import variant_seed
from ..render.items import Item
from ..render.plots import render_png


def student_items(assignment: Assignment, secret: bytes, student: str, plots: bool = True) -> list[Item]:
    """One `Item` per problem: seed, QA-checked variant and (optionally) rendered plots."""
    items = []
    for spec in assignment.problems:
        seed = variant_seed(secret, assignment.name, student, spec.key)
        variant = make_variant(spec.type, seed, spec.options)
        images = [(p, render_png(p)) for p in variant.plots] if plots else []
        items.append(Item(spec, seed, variant, images))
    return items

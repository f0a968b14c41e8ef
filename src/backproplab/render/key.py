"""The instructor's answer key as JSON (schema: docs/key-schema.md)."""

from __future__ import annotations

from typing import Any

from ..assignment import Assignment
from ..problems.exact import to_float, to_str
from ..problems.variant import Variant
from .items import Item

SCHEMA = "backproplab-key/1"


def _json_params(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_params(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_params(v) for v in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    return str(value)  # sympy numbers and expressions, exactly


def variant_json(v: Variant) -> dict[str, Any]:
    """A variant's parameters, exact answers, misconceptions and steps as plain JSON."""
    return {
        "type": v.problem,
        "title": v.title,
        "statement": v.statement,
        "style": v.style,
        "params": _json_params(v.params),
        "answers": [
            {
                "name": a.name,
                "label": a.label,
                "kind": a.kind,
                "exact": to_str(a.value),
                "float": to_float(a.value),
                "tolerance": a.tolerance.to_json(),
                "points": a.points,
                "choices": a.choices,
            }
            for a in v.answers
        ],
        "misconceptions": [
            {"name": m.name, "answer": m.answer, "exact": to_str(m.value), "float": to_float(m.value),
             "feedback": m.feedback, "credit": m.credit}
            for m in v.misconceptions
        ],
        "steps": [{"text": s.text, "math": s.math, "table": s.table} for s in v.steps],
        "code": None if v.code is None else {"task": v.code.task, "functions": v.code.functions},
    }


def key_json(assignment: Assignment, student: str, items: list[Item]) -> dict[str, Any]:
    """The whole key of one student's assignment."""
    return {
        "schema": SCHEMA,
        "assignment": assignment.name,
        "title": assignment.title,
        "student": student,
        "points": assignment.points,
        "problems": [
            {"key": it.spec.key, "points": it.spec.points, "seed": f"{it.seed:016x}",
             "credit": it.spec.credit, **variant_json(it.variant)}
            for it in items
        ],
    }

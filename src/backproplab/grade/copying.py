"""Possible copying: a wrong hand answer that is right for another student's variant."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..assignment import Assignment
from ..course.layout import Layout
from .answers import parse_answers, to_floats
from .hand import close


def bucket(value: Any) -> Any:
    """A hashable rounding of an answer (4 significant figures) for fast look-up."""
    if isinstance(value, list):
        return tuple(bucket(v) for v in value)
    if isinstance(value, str):
        return value.strip().lower()
    return float(f"{value:.4g}")


@dataclass
class CopyIndex:
    """For each (problem, answer): rounded right answer -> students whose key it is."""

    right: dict[tuple[str, str], dict[Any, list[str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, layout: Layout, roster: list[str], assignment: Assignment) -> "CopyIndex | None":
        if not any(p.type.kind == "hand" for p in assignment.problems):
            return None
        index = cls()
        for student in roster:
            try:
                key = json.loads(layout.key_json(student).read_text())
            except (OSError, json.JSONDecodeError):
                continue
            for entry in key["problems"]:
                for a in entry["answers"]:
                    if a["kind"] == "choice":
                        continue  # few options: matching a classmate says nothing
                    index.right.setdefault((entry["key"], a["name"]), {}).setdefault(bucket(a["float"]), []).append(student)
        return index

    def flags(self, student: str, entry: dict, source: str) -> list[str]:
        """Answers of `student` that are wrong for them but right for a classmate."""
        parsed = parse_answers(source)
        found = []
        for a in entry["answers"]:
            if a["kind"] == "choice" or a["name"] not in parsed.values:
                continue
            got = to_floats(parsed.values[a["name"]])
            if close(got, a["float"], a["tolerance"]):
                continue
            try:
                others = self.right.get((entry["key"], a["name"]), {}).get(bucket(got), [])
            except (TypeError, ValueError):
                continue
            others = [o for o in others if o != student]
            if others:
                found.append(f"possible copying: `{a['name']}` matches the variant of {', '.join(sorted(others)[:3])}")
        return found

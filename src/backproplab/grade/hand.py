"""Grading a hand-computed problem against the student's key entry.

Each answer is a check worth its points. A wrong answer is compared with the
variant's named misconceptions, so the feedback names the mistake (and gives the
partial credit the assignment allows for it). Messages never state the right value.
"""

from __future__ import annotations

from typing import Any

from .answers import Parsed, form_problem, shape_of, to_floats
from .result import CheckResult, ProblemResult


def close(got: Any, want: Any, tol: dict) -> bool:
    """Does `got` match `want` (JSON floats/strings, nested lists) within `tol`?"""
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(close(g, w, tol) for g, w in zip(got, want))
    if isinstance(want, str) or isinstance(got, str):
        return isinstance(got, str) and isinstance(want, str) and got.strip().lower() == want.strip().lower()
    if isinstance(got, list):
        return False
    return abs(got - want) <= max(tol["abs"], tol["rel"] * abs(want)) + 1e-12


def _form(answer: dict) -> dict:
    form: dict = {"kind": answer["kind"]}
    if isinstance(answer["float"], list):
        form["shape"] = shape_of(answer["float"])
    if answer.get("choices"):
        form["choices"] = answer["choices"]
    return form


def _partly_right(got: Any, want: Any, tol: dict) -> tuple[int, int]:
    """How many entries of a list answer are right, out of how many."""
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        pairs = [_partly_right(g, w, tol) for g, w in zip(got, want)]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    return (1 if close(got, want, tol) else 0), 1


def grade_answer(answer: dict, got: Any, misconceptions: list[dict], credit: dict[str, float]) -> CheckResult:
    """One answer: right, a named misconception, or wrong (with what is known about why)."""
    name, weight = answer["name"], float(answer["points"])
    tol = answer["tolerance"]
    if close(got, answer["float"], tol):
        return CheckResult(name, 1.0, weight, f"`{name}` is correct.")
    for m in misconceptions:
        if m["answer"] == name and close(got, m["float"], tol):
            share = float(credit.get(m["name"], m.get("credit", 0.0)))
            return CheckResult(name, share, weight, f"`{name}` is wrong — {m['feedback']}", misconception=m["name"])
    why = form_problem(got, _form(answer))
    if why:
        return CheckResult(name, 0.0, weight, f"`{name}` {why}.")
    right, total = _partly_right(got, answer["float"], tol)
    if total > 1 and right:
        return CheckResult(name, 0.0, weight, f"`{name}` has {right} of {total} entries right.")
    return CheckResult(name, 0.0, weight, f"`{name}` is not correct.")


def grade_hand(key_entry: dict, parsed: Parsed | None) -> ProblemResult:
    """Grade problem `key_entry` (from the student's key JSON) given their parsed answer cell
    (`parse_answers` of its source; None when the cell is missing)."""
    result = ProblemResult(key_entry["key"], float(key_entry["points"]))
    if parsed is None:
        result.error = "answer cell missing from the notebook"
        result.checks = [CheckResult(a["name"], 0.0, float(a["points"]), f"`{a['name']}`: no answer cell.")
                         for a in key_entry["answers"]]
        return result
    for answer in key_entry["answers"]:
        name = answer["name"]
        if parsed.syntax_error:
            result.checks.append(CheckResult(name, 0.0, float(answer["points"]),
                                             f"`{name}`: the answer cell is not valid Python ({parsed.syntax_error})."))
        elif name in parsed.values:
            result.checks.append(grade_answer(answer, to_floats(parsed.values[name]), key_entry["misconceptions"],
                                              key_entry.get("credit", {})))
        else:
            why = parsed.errors.get(name, "not answered")
            result.checks.append(CheckResult(name, 0.0, float(answer["points"]), f"`{name}`: {why}."))
    return result

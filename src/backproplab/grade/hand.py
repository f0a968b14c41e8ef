"""Grading a hand-computed problem against the student's key entry.

Each answer is a check worth its points. A wrong answer is compared with the
variant's named misconceptions, so the feedback names the mistake (and gives the
partial credit the assignment allows for it). Messages never state the right value.
"""

from __future__ import annotations

from typing import Any

from ..answers import Parsed, form_problem, to_floats
from ..key import KeyAnswer, KeyProblem
from ..tolerance import close, shape
from .result import CheckResult, ProblemResult


def answer_form(answer: KeyAnswer) -> dict:
    """The form an answer must have ({"kind", "shape", "choices"}), as `form_problem` reads it."""
    form: dict = {"kind": answer.kind}
    if isinstance(answer.value, list):
        form["shape"] = list(shape(answer.value))
    if answer.choices:
        form["choices"] = answer.choices
    return form


def _partly_right(got: Any, want: Any, answer: KeyAnswer) -> tuple[int, int]:
    """How many entries of a list answer are right, out of how many."""
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        pairs = [_partly_right(g, w, answer) for g, w in zip(got, want)]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    return (1 if close(got, want, answer.tolerance) else 0), 1


def grade_answer(problem: KeyProblem, answer: KeyAnswer, got: Any) -> CheckResult:
    """One answer: right, a named misconception, or wrong (with what is known about why)."""
    name, weight = answer.name, answer.points
    if close(got, answer.value, answer.tolerance):
        return CheckResult(name, 1.0, weight, f"`{name}` is correct.")
    for m in problem.misconceptions:
        if m.answer == name and close(got, m.value, answer.tolerance):
            return CheckResult(name, problem.credit_for(m), weight, f"`{name}` is wrong — {m.feedback}",
                               misconception=m.name)
    why = form_problem(got, answer_form(answer))
    if why:
        return CheckResult(name, 0.0, weight, f"`{name}` {why}.")
    right, total = _partly_right(got, answer.value, answer)
    if total > 1 and right:
        return CheckResult(name, 0.0, weight, f"`{name}` has {right} of {total} entries right.")
    return CheckResult(name, 0.0, weight, f"`{name}` is not correct.")


def grade_hand(problem: KeyProblem, parsed: Parsed | None) -> ProblemResult:
    """Grade `problem` (the student's key entry) given their parsed answer cell
    (`parse_answers` of its source; None when the cell is missing)."""
    result = ProblemResult(problem.key, problem.points)
    if parsed is None:
        result.error = "answer cell missing from the notebook"
        result.checks = [CheckResult(a.name, 0.0, a.points, f"`{a.name}`: no answer cell.") for a in problem.answers]
        return result
    for answer in problem.answers:
        name = answer.name
        if parsed.syntax_error:
            result.checks.append(CheckResult(name, 0.0, answer.points,
                                             f"`{name}`: the answer cell is not valid Python ({parsed.syntax_error})."))
        elif name in parsed.values:
            result.checks.append(grade_answer(problem, answer, to_floats(parsed.values[name])))
        else:
            why = parsed.errors.get(name, "not answered")
            result.checks.append(CheckResult(name, 0.0, answer.points, f"`{name}`: {why}."))
    return result

"""One graded submission as Gradescope's autograder results.json.

The format is Gradescope's (gradescope-autograders.readthedocs.io, "Autograder
Specifications"): a top-level `score`, `execution_time` (seconds), `output` with its
`output_format`, `visibility` and `stdout_visibility`, and `tests`, each with `name`,
`number`, `score`, `max_score`, `status` ("passed"/"failed"), `output`,
`output_format` and `visibility`.

What the student sees, and when:

* one test per problem, max_score 0, always visible: was the answer cell found and
  read, or why not (a missing cell, a forbidden import, a cell that fails to run);
* one test per check (every check compares with the student's own key or runs a hidden
  test: they are the hidden tests), with the check's share of the problem's points and
  the line the feedback page shows; visible `hidden_tests` (default "after_due_date"),
  so that a verdict cannot be used to search for the answer before the due date;
* the top-level output: notes about the notebook and how the student's code was
  isolated (or that it could not be, and nothing was graded).

Copying flags, hidden inputs and expected values are never written (they are not in
the check lines either). Every output is Markdown with HTML escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..assignment import Assignment
from ..errors import ConfigError
from ..grade.result import labelled

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


@dataclass(frozen=True)
class Visibility:
    """Gradescope visibility of the parts of a result (each one of VISIBILITIES)."""

    hidden_tests: str = "after_due_date"  # the per-check tests (verdicts against the key)
    results: str = "visible"  # the whole result (top-level `visibility`)
    stdout: str = "hidden"  # run_autograder's own output (instructor debugging only)

    def __post_init__(self) -> None:
        for name in ("hidden_tests", "results", "stdout"):
            if getattr(self, name) not in VISIBILITIES:
                raise ConfigError(f"visibility {getattr(self, name)!r} is not one of {', '.join(VISIBILITIES)}")

    def to_json(self) -> dict[str, str]:
        return {"hidden_tests": self.hidden_tests, "results": self.results, "stdout": self.stdout}


def md(text: str) -> str:
    """Student-controlled text, safe in Gradescope's Markdown output (no raw HTML)."""
    return html.escape(text, quote=False)


def _test(name: str, number: str, score: float, max_score: float, output: str, visibility: str,
          passed: bool) -> dict[str, Any]:
    return {"name": name, "name_format": "text", "number": number, "score": round(score, 6),
            "max_score": round(max_score, 6), "status": "passed" if passed else "failed",
            "output": md(output), "output_format": "md", "visibility": visibility}


def _balance(tests: list[dict[str, Any]], score: float, max_score: float) -> None:
    """Make the rounded scores and max_scores of one problem's check tests add up to the problem's
    (the rounding remainder goes to the last check), so Gradescope's sums match the gradebook."""
    if not tests:
        return
    last = tests[-1]
    last["score"] = round(last["score"] + round(score, 6) - sum(t["score"] for t in tests), 6)
    last["max_score"] = round(last["max_score"] + round(max_score, 6) - sum(t["max_score"] for t in tests), 6)


def results_json(assignment: Assignment, record: dict[str, Any], *, scores: dict[str, float] | None = None,
                 visibility: Visibility = Visibility(), execution_time: float | None = None,
                 isolation: str | None = None) -> dict[str, Any]:
    """Gradescope's results.json for one submission.

    `record` is our results.json of the submission (grade.run.SubmissionResult.to_json,
    or what the gradebook export reads back); `scores` the gradebook's points per problem
    key when they may differ from the checks' (a manual grade: shown as an adjustment test);
    `isolation` how the student's code was confined (default: the record's own).
    """
    errored = record.get("status") == "error"
    problems = {p.get("key"): p for p in record.get("problems", [])}
    tests: list[dict[str, Any]] = []
    total = 0.0
    for n, spec in enumerate(assignment.problems, start=1):
        title = f"Problem {n}: {spec.type.title}"
        p = problems.get(spec.key) or {}
        if errored or not p:
            why = record.get("error") or "not graded"
            tests.append(_test(title, str(n), 0.0, spec.points, f"Not graded: {why}", "visible", False))
            continue
        checks = p.get("checks", [])
        weight = sum(c.get("weight", 1.0) for c in checks)
        tests.append(_test(title, str(n), 0.0, 0.0,
                           p.get("error") or f"Your answer was read and graded by {len(checks)} check(s)"
                           + ("" if visibility.hidden_tests == "visible"
                              else f" (their results show {visibility.hidden_tests.replace('_', ' ')})") + ".",
                           "visible", p.get("error") is None))
        earned = 0.0
        for j, c in enumerate(checks, start=1):
            share = spec.points * c.get("weight", 1.0) / weight if weight else 0.0
            got = share * float(c.get("score", 0.0))
            earned += got
            tests.append(_test(f"{title} — {c.get('name') or 'check'}", f"{n}.{j}", got, share,
                               c.get("line") or labelled(c.get("name", ""), c.get("message", "")),
                               visibility.hidden_tests, float(c.get("score", 0.0)) >= 1.0))
        _balance(tests[len(tests) - len(checks):], earned, spec.points if checks else 0.0)
        if not checks and p.get("error"):
            tests.append(_test(f"{title} — not graded", f"{n}.1", 0.0, spec.points, p["error"],
                               visibility.hidden_tests, False))
        given = (scores or {}).get(spec.key, p.get("score", earned))
        if abs(given - earned) > 1e-6:  # a manual grade in formgrader, or extra credit
            tests.append(_test(f"{title} — adjusted by the instructor", f"{n}.{len(checks) + 1}", given - earned, 0.0,
                               f"The instructor set this problem's score to {round(given, 4):g}.",
                               visibility.hidden_tests, given - earned >= 0))
        total += given
    notes = [str(x) for x in record.get("notes", [])]
    if errored:
        notes.insert(0, f"Your notebook could not be graded: {record.get('error') or 'unknown error'}")
    isolation = isolation or record.get("isolation")
    if isolation:
        notes.append(f"Your code ran with this isolation: {isolation}.")
    out: dict[str, Any] = {
        "score": round(0.0 if errored else total, 6),
        "output": "\n\n".join(md(x) for x in notes), "output_format": "md",
        "test_output_format": "md", "test_name_format": "text",
        "visibility": visibility.results, "stdout_visibility": visibility.stdout,
        "tests": tests,
    }
    if execution_time is not None:
        out["execution_time"] = max(0, round(execution_time))
    out["extra_data"] = {"student": record.get("student"), "status": record.get("status"), "isolation": isolation}
    return out


def refusal_json(assignment: Assignment, why: str, *, visibility: Visibility = Visibility(),
                 execution_time: float | None = None) -> dict[str, Any]:
    """results.json for a submission that was not graded at all (score 0, the reason on top,
    every problem one failed visible test): the submission cannot be matched to a student,
    holds no notebook, or its code could not be isolated as the bundle requires."""
    return results_json(assignment, {"status": "error", "error": why, "problems": []}, visibility=visibility,
                        execution_time=execution_time)

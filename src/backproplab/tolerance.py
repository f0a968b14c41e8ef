"""The one rule for "close enough": QA, grading and copying detection all use it.

QA proves that every named misconception lies outside an answer's tolerance;
the grader accepts what lies inside it; copying detection asks whether a wrong
answer is inside a classmate's. If these were three rules they could drift, and
QA would pass a misconception the grader cannot tell apart. So there is one:
`Tolerance.accepts` for one number, `close` for a whole answer (nested lists of
numbers, or a choice string).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Added to every bound, relative to it: float noise in a value that is exactly on it (0.1 + 0.2 vs 0.3).
SLACK = 1e-12


@dataclass(frozen=True)
class Tolerance:
    """How close a student's number must be to the exact answer.

    A value is accepted when |got - want| <= max(abs, rel * |want|).
    `why` is what the statement tells the student (e.g. "rounded to 3 decimal places").
    """

    rel: float = 0.0
    abs: float = 0.0
    why: str = ""

    def accepts(self, got: float, want: float) -> bool:
        bound = max(self.abs, self.rel * abs(want))
        return abs(got - want) <= bound + SLACK * max(bound, abs(want))

    def to_json(self) -> dict[str, Any]:
        return {"rel": self.rel, "abs": self.abs, "why": self.why}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Tolerance":
        return cls(float(data.get("rel", 0.0)), float(data.get("abs", 0.0)), str(data.get("why", "")))


def exact_tolerance() -> Tolerance:
    """Exact answers: fractions, or decimals correct to 4 significant figures."""
    return Tolerance(rel=5e-4, abs=1e-9, why="exact: a fraction, or a decimal to 4 significant figures")


def decimals_tolerance(places: int) -> Tolerance:
    """Answers the student rounds to `places` decimals (sigmoid, tanh, ...)."""
    return Tolerance(rel=0.0, abs=0.6 * 10.0**-places, why=f"rounded to {places} decimal places")


EXACT = exact_tolerance()
# Counts (steps, updates, epochs, shapes, layers, indices): a whole number, exactly (the floor is float slack).
WHOLE = Tolerance(rel=0.0, abs=1e-9, why="exact: a whole number")
# Below this an absolute tolerance is float slack, not rounding the statement allows.
ROUNDING_FLOOR = 1e-8


def flat(x: Any) -> list:
    """The leaves of a (nested) list or tuple, in order; a scalar is a list of itself."""
    if isinstance(x, (list, tuple)):
        return [y for v in x for y in flat(v)]
    return [x]


def shape(x: Any) -> tuple[int, ...]:
    """The nested lengths of a list answer: () for a scalar, (2, 3) for 2 rows of 3.

    A ragged list (rows of different shapes) has -1 where its rows disagree.
    """
    if not isinstance(x, (list, tuple)):
        return ()
    inner = {shape(v) for v in x}
    return (len(x),) + (inner.pop() if len(inner) == 1 else (-1,) if inner else ())


def close(got: Any, want: Any, tol: Tolerance) -> bool:
    """Does `got` match `want` within `tol`? Both are plain values: floats, strings, nested lists.

    Lists must have the same shape and every entry must be close; strings match
    when equal apart from case and surrounding spaces; a string never matches a number.
    """
    if isinstance(want, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(want)
                and all(close(g, w, tol) for g, w in zip(got, want)))
    if isinstance(want, str) or isinstance(got, str):
        return isinstance(got, str) and isinstance(want, str) and got.strip().lower() == want.strip().lower()
    if isinstance(got, (list, tuple)) or isinstance(got, bool) or isinstance(want, bool):
        return False
    return tol.accepts(float(got), float(want))

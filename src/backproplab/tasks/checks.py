"""What a coding task declares: the calls the grader makes and the checks it judges.

An `autograder/<task>.py` module builds, from the student's hidden random
stream and the reference solution, a list of `Check`s: which function to call on
which plain data (`Call`), what the reference returned, how close the student
must be, which known wrong outputs to name (`Probe`), and, for a gradient,
which forward to differentiate numerically when it is wrong for no named reason
(`FD`). The grader (grade/code.py) runs the calls in the sandbox and judges
every check in its own process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Modules a coding task's solution may not use: each would do the task's work for the student.
FORBIDDEN_MODULES = ("torch", "jax", "autograd", "tensorflow", "sympy")

Part = int | str | tuple | None  # which part of a return value: an index, a key, or a path of them


@dataclass
class Probe:
    """A known wrong output: if the student's output matches it, the check names `name`."""

    name: str
    value: Any
    feedback: str


@dataclass
class Call:
    """One call of a student function on plain data (arrays, numbers, {"__rng__": seed}, ...)."""

    fn: str
    args: tuple
    pick: int | str | None = None  # keep only this part of the return value
    hygiene: bool = True  # also call it again, and look at the inputs afterwards


@dataclass
class FD:
    """Finite differences of the student's own forward: d/d args[wrt] of sum(dout * forward(*args))."""

    forward: Call
    wrt: int | tuple[int, str]  # argument index, or (index, key) inside a dict argument
    dout: Any = 1.0
    h: float = 1e-6
    tol: float = 1e-5


@dataclass
class Check:
    """One graded comparison of (a part of) a call's output with the reference's."""

    name: str
    call: Call
    expected: Any
    part: Part = None
    tol: float = 1e-7
    weight: float = 1.0
    probes: list[Probe] = field(default_factory=list)
    fd: FD | None = None


def scale_probes(expected: Any, n: int | None = None, two: bool = False) -> list[Probe]:
    """The misconceptions that only rescale a right answer: sign, N or 1/N, factor 2."""
    probes = [Probe("sign flipped", scaled(expected, -1.0),
                    "your result has the opposite sign: check the direction of the difference or of the step")]
    if n is not None:
        probes += [
            Probe("scaled by N", scaled(expected, float(n)),
                  "your result is N times too large: the loss averages over the N examples, so its gradient carries 1/N"),
            Probe("scaled by 1/N", scaled(expected, 1.0 / n),
                  "your result is N times too small: you averaged over the batch once too often"),
        ]
    if two:
        probes += [
            Probe("factor 2", scaled(expected, 0.5),
                  "your result is half the right one: the derivative of a square (e - y)**2 is 2 (e - y)"),
            Probe("factor 2", scaled(expected, 2.0),
                  "your result is twice the right one: check the factor 2 of the square (no 1/2 in this convention)"),
        ]
    return probes


def scaled(x: Any, k: float) -> Any:
    """A (nested) value with every number multiplied by k (strings and bools kept)."""
    if isinstance(x, (list, tuple)):
        return type(x)(scaled(v, k) for v in x)
    if isinstance(x, dict):
        return {key: scaled(v, k) for key, v in x.items()}
    return x * k if not isinstance(x, (str, bool)) else x

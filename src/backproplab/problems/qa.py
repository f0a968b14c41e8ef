"""Variant QA: every generated variant is checked before anyone sees it.

A variant is rejected when it is degenerate (a zero gradient, a non-finite
answer), when a named misconception cannot be told apart from the right answer
(or from another misconception) within the grading tolerance, or when a number
shown to the student does not suit pencil and paper.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ConfigError

from ..tolerance import Tolerance, close, flat, shape
from .exact import fits_style, to_float
from .follow import carry_rounding, follow_problems, trees
from .variant import Answer, ProblemType, Reject, Variant

MAX_TRIES = 500


class VariantError(ConfigError):
    """No acceptable variant could be found."""


def same_within(a: Any, b: Any, tol: Tolerance, floats: dict[int, Any] | None = None) -> bool:
    """Would a grader with tolerance `tol` accept `a` where `b` is right?

    `floats` memoises the flattened float values by object, for callers that compare the same
    values many times (float() of an irrational sympy value runs evalf)."""
    if shape(a) != shape(b):
        return False
    try:
        fa, fb = _floats(a, floats), _floats(b, floats)
    except TypeError:  # a non-real value is never accepted in place of anything
        return False
    return all(close(x, y, tol) for x, y in zip(fa, fb))


def _floats(x: Any, memo: dict[int, Any] | None) -> list:
    if memo is None:
        return flat(to_float(x))
    key = id(x)
    if key not in memo:
        try:
            memo[key] = (x, flat(to_float(x)))  # x is kept so its id is not reused
        except TypeError as e:
            memo[key] = (x, e)
    value = memo[key][1]
    if isinstance(value, TypeError):
        raise value
    return value


def problems_with(v: Variant) -> list[str]:
    """Everything wrong with a variant, as sentences; empty when it is fine."""
    found: list[str] = []
    floats: dict[int, Any] = {}
    by_name: dict[str, Answer] = {}
    for a in v.answers:
        if a.name in by_name:
            found.append(f"answer {a.name!r} appears twice")
        by_name[a.name] = a
        if a.kind == "choice":
            for c in flat(a.value):
                if c not in (a.choices or []):
                    found.append(f"answer {a.name!r}: {c!r} is not among the choices")
            continue
        try:
            values = _floats(a.value, floats)
        except TypeError:  # zoo (a division by zero) or another non-real value
            values = [math.nan]
        if not all(isinstance(x, float) and math.isfinite(x) for x in values):
            found.append(f"answer {a.name!r} is not finite")
        elif all(abs(x) < 1e-12 for x in values):
            # a zero gradient teaches nothing, and a zero anywhere is what a student who writes
            # 0 everywhere would be given: no answer of a key is all zeros
            found.append(f"answer {a.name!r} is zero")
    for m in v.misconceptions:
        if m.answer not in by_name:
            found.append(f"misconception {m.name!r} names unknown answer {m.answer!r}")
            continue
        a = by_name[m.answer]
        if same_within(m.value, a.value, a.tolerance, floats):
            found.append(f"misconception {m.name!r} equals the right {a.name!r} within tolerance")
    for i, m in enumerate(v.misconceptions):
        for n in v.misconceptions[i + 1 :]:
            if m.answer == n.answer and m.name != n.name and same_within(m.value, n.value, by_name[m.answer].tolerance,
                                                                         floats):
                found.append(f"misconceptions {m.name!r} and {n.name!r} give the same {m.answer!r}")
    for x in v.given:
        if not fits_style(sp.sympify(x), v.style):
            found.append(f"given number {x} does not suit {v.style}")
    return found + follow_problems(v.answers)


def make_variant(ptype: ProblemType, seed: int, options: dict[str, Any] | None = None) -> Variant:
    """Draw variants from `seed` until one passes QA; raise VariantError after MAX_TRIES."""
    rng = np.random.default_rng(seed)
    last = "no attempt"
    for _ in range(MAX_TRIES):
        try:
            v = ptype.generate(rng, **(options or {}))
        except Reject as why:
            last = str(why)
            continue
        for a in v.answers:
            a.follows = trees(a.follows)  # derivation trees from here on (the key stores them as they are)
        carry_rounding(v.answers)  # before the checks: misconceptions must lie outside the widened tolerance
        found = problems_with(v)
        if not found:
            return v
        last = found[0]
    raise VariantError(f"{ptype.id}: no acceptable variant in {MAX_TRIES} tries (last reason: {last})")

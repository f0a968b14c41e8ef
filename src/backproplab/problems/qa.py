"""Variant QA: every generated variant is checked before anyone sees it.

A variant is rejected when it is degenerate (a zero gradient, a non-finite
answer), when a named misconception cannot be told apart from the right answer
(or from another misconception) within the grading tolerance, when an answer
has no absolute tolerance floor (a relative tolerance alone accepts only an
exact 0), or when a number does not suit pencil and paper: without a calculator
every given number and every answer has at most HAND_DIGITS significant digits.

Whether a calculator is allowed is the assignment's choice (the `calculator`
option of a problem, "none" or "basic"); by default a problem whose answers are
irrational (sigmoid, tanh, exp, a square root) gets a basic calculator and every
other problem none. QA records what each variant allows and how much work it is
(`Effort`), and `class_problems` rejects a class whose students do not all get
the same problem: the same answers and worked steps, and an effort spread within
MAX_EFFORT_SPREAD.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

import numpy as np
import sympy as sp

from ..errors import ConfigError

from ..tolerance import Tolerance, close, flat, shape
from .exact import HAND_AVERAGE_DIGITS, HAND_DIGITS, fits_style, significant_digits, to_float
from .follow import carry_rounding, follow_problems, trees
from .variant import Answer, Calculator, Effort, ProblemType, Reject, Variant

MAX_TRIES = 500
CALCULATORS = ("none", "basic")
# Within one assignment, each measure of effort may vary across the class by at most this share
# of its largest value: (max − min) / max <= MAX_EFFORT_SPREAD. The number of answers may not vary.
MAX_EFFORT_SPREAD = 0.5


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


def problems_with(v: Variant, calculator: Calculator = "basic") -> list[str]:
    """Everything wrong with a variant, as sentences; empty when it is fine.

    Without a calculator (`calculator="none"`) every given number and every answer must be
    exact with at most HAND_DIGITS significant digits (an answer's `hand_form`, e.g. a power,
    stands in for its value)."""
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
        if not a.tolerance.abs > 0:
            found.append(f"answer {a.name!r} has no absolute tolerance floor")
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
    if calculator == "none":
        found += too_long_for_paper(v)
    return found + follow_problems(v.answers)


def too_long_for_paper(v: Variant) -> list[str]:
    """The given numbers and answers with more than HAND_DIGITS significant digits (or irrational),
    and a variant whose numbers average more than HAND_AVERAGE_DIGITS."""
    found = []
    numbers = _written(v)
    for what, x, _ in numbers:
        digits = significant_digits(x)
        if digits is None or digits > HAND_DIGITS:
            found.append(f"{what}: {x} is not {HAND_DIGITS} significant digits by hand")
    total = sum(significant_digits(x) or HAND_DIGITS for _, x, _ in numbers)
    if total > HAND_AVERAGE_DIGITS * len(numbers):
        found.append(f"{total} significant digits in {len(numbers)} numbers: more than {HAND_AVERAGE_DIGITS} on average")
    return found


def _written(v: Variant) -> list[tuple[str, sp.Expr, Tolerance | None]]:
    """Every number the student reads or writes: (what it is, the number, its answer's tolerance).

    An answer's `hand_form` (e.g. a power) stands in for its value; choices hold no numbers."""
    numbers: list[tuple[str, sp.Expr, Tolerance | None]] = [("given number", sp.sympify(x), None) for x in v.given]
    for a in v.answers:
        if a.kind != "choice":
            form = a.hand_form if a.hand_form is not None else a.value
            numbers += [(f"answer {a.name!r}", x, a.tolerance) for x in _numbers(form)]
    return numbers


def _numbers(value: Any) -> list[sp.Expr]:
    """The numbers a value is written with: its entries, or the atoms of an expression such as a power."""
    out = []
    for x in flat(value):
        x = sp.sympify(x)
        out += [x] if x.is_Number else [n for n in sp.preorder_traversal(x) if n.is_Number]
    return out


def needs_calculator(v: Variant) -> bool:
    """Is some answer or given number irrational (a sigmoid, tanh, exponential, logarithm or square root)?"""
    numbers = [x for a in v.answers if a.kind != "choice" for x in flat(a.value)] + list(v.given)
    return any(not sp.sympify(x).is_Rational for x in numbers)


# The statement of a problem that needs a calculator says so; how to round is its own (and each answer's).
CALCULATOR_NOTE = "Use a calculator"
KEEP_DIGITS = ", and keep more digits along the way than you round your answers to"


def effort(v: Variant) -> Effort:
    """How much work the variant is: answers written, operations in the worked solution, digits handled."""
    answers = sum(len(flat(a.value)) for a in v.answers)
    cells = [c for s in v.steps for row in (s.table or [])[1:] for c in row[1:]]  # a table's first column names its row
    texts = [s.text for s in v.steps] + cells
    maths = [m for t in texts for m in _MATH.findall(t)] + [s.math for s in v.steps if s.math]
    # every operation written out, and one for each number a table shows computed
    operations = sum(count_operations(m) for m in maths) + sum(1 for c in cells if _HAS_NUMBER.search(c))
    digits = sum(_digits_asked(x, tol or SHOWN) for _, x, tol in _written(v))
    return Effort(answers, operations, digits)


_HAS_NUMBER = re.compile(r"\d")
SHOWN = Tolerance(abs=5e-5)  # an irrational given number is shown to 4 decimals
_MATH = re.compile(r"\$(.+?)\$")
_NOTATION = re.compile(r"_\{[^{}]*\}|_[A-Za-z0-9]|\^\{\([^{}]*\)\}|\\frac\{\\partial[^{}]*\}|\\partial"
                       r"|\\(?:begin|end)\{[a-z]*\}")
_OPERATION = re.compile(r"\+|(?<=[0-9A-Za-z)\]}|])\s*-|\\cdot|\\times|\\odot|/|\\frac|\\sqrt|\^|\)\s*\("
                        r"|\\ln|\\log|\\exp|\\sigma|\\tanh|\\sin|\\cos|\\mathrm\{ReLU\}|\\sum|\\prod")


def count_operations(latex: str) -> int:
    """Arithmetic operations written in a LaTeX formula: + and binary −, products, quotients, powers
    and functions applied (subscripts, layer superscripts and ∂ notation are not operations)."""
    return len(_OPERATION.findall(_NOTATION.sub(" ", latex)))


def _digits_asked(x: sp.Expr, tol: Tolerance) -> int:
    """The significant digits a student handles for a number: an exact one's, but no more than its
    tolerance asks for (an irrational one rounded as the tolerance allows)."""
    value = abs(float(x))
    resolution = max(tol.abs, tol.rel * value, 1e-12)
    asked = 1 if value < resolution else max(1, math.floor(math.log10(value)) - math.floor(math.log10(resolution)) + 1)
    digits = significant_digits(x)
    return asked if digits is None else min(digits, asked)


def class_problems(variants: Iterable[Variant], bound: float = MAX_EFFORT_SPREAD) -> list[str]:
    """Why one problem's variants across a class are not the same problem; empty when they are.

    Every variant must ask for the same answers (names, kinds and shapes), show the same number
    of worked steps, allow the same calculator, and no measure of effort may spread by more than
    `bound` of its largest value ((max − min) / max)."""
    variants = list(variants)
    if not variants:
        return []
    found = []
    first = variants[0]
    want = _signature(first)
    for v in variants[1:]:
        got = _signature(v)
        if got != want:
            what = [k for k in want if want[k] != got[k]]
            found.append(f"{v.problem}: variants differ in their {', '.join(what)} ({want[what[0]]} and {got[what[0]]})")
            break
    efforts = [v.effort or effort(v) for v in variants]
    for measure in ("answers", "operations", "digits"):
        values = [getattr(e, measure) for e in efforts]
        lo, hi = min(values), max(values)
        allowed = 0.0 if measure == "answers" else bound
        if hi and (hi - lo) / hi > allowed:
            found.append(f"{first.problem}: {measure} spread from {lo} to {hi} across the class "
                         f"(more than {allowed:.0%} of the largest)")
    return found


def _signature(v: Variant) -> dict[str, Any]:
    return {"answers": [(a.name, a.kind, shape(a.value)) for a in v.answers], "worked steps": len(v.steps),
            "calculator": v.calculator}


def make_variant(ptype: ProblemType, seed: int, options: dict[str, Any] | None = None) -> Variant:
    """Draw variants from `seed` until one passes QA; raise VariantError after MAX_TRIES.

    `options` are the generator's keyword arguments, and `calculator` ("none" or "basic";
    unset: basic exactly when the answers are irrational), which QA applies itself."""
    options = dict(options or {})
    calculator = options.pop("calculator", None)
    if calculator not in (None, *CALCULATORS):
        raise VariantError(f"{ptype.id}: calculator must be one of {', '.join(map(repr, CALCULATORS))}, "
                           f"not {calculator!r}")
    rng = np.random.default_rng(seed)
    last = "no attempt"
    for _ in range(MAX_TRIES):
        try:
            v = ptype.generate(rng, **options)
        except Reject as why:
            last = str(why)
            continue
        if v.code is not None:
            return v
        allowed = calculator or v.calculator or ("basic" if needs_calculator(v) else "none")
        if allowed == "none" and needs_calculator(v):
            raise VariantError(f"{ptype.id}: calculator = 'none', but its numbers are irrational "
                               "(a sigmoid, tanh, exponential, logarithm or root): allow a calculator")
        for a in v.answers:
            a.follows = trees(a.follows)  # derivation trees from here on (the key stores them as they are)
        carry_rounding(v.answers)  # before the checks: misconceptions must lie outside the widened tolerance
        found = problems_with(v, allowed)
        if not found:
            v.calculator = allowed
            if allowed == "basic":
                numbers = any(a.kind != "choice" for a in v.answers)
                v.statement += "\n\n" + CALCULATOR_NOTE + (KEEP_DIGITS if numbers else "") + "."
            v.effort = effort(v)
            return v
        last = found[0]
    raise VariantError(f"{ptype.id}: no acceptable variant in {MAX_TRIES} tries (last reason: {last})")

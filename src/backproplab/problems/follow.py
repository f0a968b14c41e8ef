"""Writing down how each answer follows from earlier ones, with the sympy that computes it.

A generator computes an answer from earlier answers through `ref` symbols:

    dw = ...                                    # from the given numbers
    w_new = w0 - eta * ref("dw")                # from the answer dw
    Answer("w_new", ..., value=resolve(w_new, answers), follows=w_new)

`resolve` puts the key's own values in for the references, so the key's value
and the expression the grader re-evaluates on the student's answers are one
derivation. `tree` turns such an expression into derivation.py's JSON tree (the
key stores it; the grader evaluates it with floats). `carry_rounding` widens an
answer's tolerance by what rounding its earlier answers, as the statement allows,
can move it.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

import sympy as sp

from ..derivation import Tree, evaluate, references
from ..tolerance import Tolerance, flat, shape
from .exact import to_float
from .variant import Answer, Exact

_REF = re.compile(r"@([A-Za-z_]\w*)((?:\[\d+\])*)")


def ref(answer: str, *index: int) -> sp.Symbol:
    """The student's value of `answer` (at `index`, for an entry of a list answer)."""
    return sp.Symbol("@" + answer + "".join(f"[{int(i)}]" for i in index), real=True)


def refs(answer: str, like: Any, index: tuple[int, ...] = ()) -> Any:
    """`ref`s of every entry of `answer`, nested like its value `like`."""
    if isinstance(like, (list, tuple)):
        return [refs(answer, v, index + (i,)) for i, v in enumerate(like)]
    return ref(answer, *index)


def parse_ref(symbol: sp.Symbol) -> tuple[str, tuple[int, ...]] | None:
    """(answer, index) of a `ref` symbol, None for any other symbol."""
    m = _REF.fullmatch(symbol.name)
    if not m:
        return None
    return m.group(1), tuple(int(i) for i in re.findall(r"\d+", m.group(2)))


def _entry(values: dict[str, Exact], name: str, index: tuple[int, ...]) -> Exact:
    value = values[name]
    for i in index:
        value = value[i]
    return value


def resolve(expr: Any, values: dict[str, Exact]) -> Any:
    """`expr` (nested like an answer) with every `ref` replaced by the answer's value in `values`."""
    if isinstance(expr, (list, tuple)):
        return [resolve(e, values) for e in expr]
    if expr is None or not isinstance(expr, sp.Basic):
        return expr
    subs = {}
    for s in expr.free_symbols:
        parsed = parse_ref(s)
        if parsed is None:
            raise ValueError(f"{s} is not a reference to an answer")
        subs[s] = _entry(values, *parsed)
    return expr.xreplace(subs) if subs else expr


_FUNCTIONS = {sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tanh: "tanh", sp.Abs: "abs",
              sp.Heaviside: "step"}


def tree(expr: Any) -> Tree:
    """The derivation tree of a sympy expression over `ref`s (numbers become floats)."""
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        return expr
    expr = sp.sympify(expr)
    if expr.is_Number or isinstance(expr, sp.NumberSymbol):
        return int(expr) if expr.is_Integer else float(expr)
    if expr.is_Symbol:
        parsed = parse_ref(expr)
        if parsed is None:
            raise ValueError(f"free symbol {expr} in a derivation")
        return ["ref", parsed[0], *parsed[1]]
    if expr.is_Add:
        return ["+", *(tree(a) for a in expr.args)]
    if expr.is_Mul:
        return ["*", *(tree(a) for a in expr.args)]
    if expr.is_Pow:
        return ["^", tree(expr.base), tree(expr.exp)]
    if isinstance(expr, sp.Max):
        return ["max", *(tree(a) for a in expr.args)]
    if isinstance(expr, sp.Min):
        return ["min", *(tree(a) for a in expr.args)]
    for f, name in _FUNCTIONS.items():
        if isinstance(expr, f):
            return [name, tree(expr.args[0])]
    raise ValueError(f"cannot write {type(expr).__name__} in a derivation: {expr}")


def trees(follows: Any) -> Any:
    """`tree` of every entry of a nested `follows` (None entries stay None)."""
    if isinstance(follows, (list, tuple)):
        return [trees(f) for f in follows]
    return None if follows is None or not _has_ref(follows) else tree(follows)


def _has_ref(expr: Any) -> bool:
    return isinstance(expr, sp.Basic) and any(parse_ref(s) for s in expr.free_symbols)


def follow_problems(answers: list[Answer]) -> list[str]:
    """What is wrong with the answers' `follows` (for QA): shape, forward references, drift from the value."""
    found: list[str] = []
    values: dict[str, Exact] = {}
    for a in answers:
        if a.follows is not None:
            if shape(a.follows) != shape(a.value):
                found.append(f"answer {a.name!r}: follows has shape {shape(a.follows)}, value {shape(a.value)}")
            else:
                for expr in flat(a.follows):
                    for s in getattr(expr, "free_symbols", ()):
                        parsed = parse_ref(s)
                        if parsed is None or parsed[0] not in values:
                            found.append(f"answer {a.name!r} follows from {s}, which is not an earlier answer")
                try:
                    again = [float(x) for x in flat(resolve(a.follows, values))]
                    right = [float(x) for x in flat(a.value)]
                    if any(abs(x - y) > 1e-9 * (1 + abs(y)) for x, y in zip(again, right)):
                        found.append(f"answer {a.name!r}: its derivation gives another value than the key")
                except (KeyError, IndexError, TypeError, ValueError):
                    found.append(f"answer {a.name!r}: its derivation cannot be evaluated")
        values[a.name] = a.value
    return found


def _allowance(tol: Tolerance, value: float) -> float:
    return max(tol.abs, tol.rel * abs(value))


def carry_rounding(answers: list[Answer]) -> None:
    """Widen each answer's tolerance by how far rounding its earlier answers (each within its own
    tolerance) can move it: Σ |∂entry/∂earlier| · allowance(earlier), taken numerically from the
    derivation at the key's values. Exact whole-number answers (a zero tolerance) stay exact."""
    floats: dict[str, Any] = {}
    allow: dict[str, dict[tuple[int, ...], float]] = {}

    def lookup(name: str, index: tuple[int, ...]) -> float | None:
        try:
            v = floats[name]
            for i in index:
                v = v[i]
            return float(v)
        except (KeyError, IndexError, TypeError):
            return None

    for a in answers:
        value = to_float(a.value) if a.kind != "choice" else a.value
        floats[a.name] = value
        if a.kind == "choice":
            continue
        own = {idx: _allowance(a.tolerance, float(x)) for idx, x in _entries(value)}
        allow[a.name] = own
        if a.follows is None or (a.tolerance.abs == 0 and a.tolerance.rel == 0):
            continue
        widest = 0.0
        for idx, expr in _entries(a.follows):
            if expr is None or not _has_ref(expr):
                continue
            t = tree(expr)
            extra = 0.0
            for name, at in set(references(t)):
                base = lookup(name, at)
                if base is None or name not in allow:
                    continue
                h = 1e-6 * max(1.0, abs(base))
                up = evaluate(t, _nudged(lookup, name, at, base + h))
                down = evaluate(t, _nudged(lookup, name, at, base - h))
                if up is None or down is None:
                    continue
                extra += abs(up - down) / (2 * h) * allow[name].get(at, 0.0)
            own[idx] = own.get(idx, 0.0) + extra
            widest = max(widest, own[idx])
        if widest > a.tolerance.abs * 1.01 and widest > 0:
            why = a.tolerance.why + ("; rounding your earlier answers as allowed is fine" if a.tolerance.why else "")
            a.tolerance = Tolerance(a.tolerance.rel, _round_up(widest), why)


def _round_up(x: float) -> float:
    """x rounded up to 2 significant figures (a readable tolerance, never tighter than derived)."""
    if x <= 0:
        return x
    scale = 10 ** (math.floor(math.log10(x)) - 1)
    return math.ceil(x / scale) * scale


def _nudged(lookup, name: str, at: tuple[int, ...], value: float):
    return lambda n, i: value if (n, i) == (name, at) else lookup(n, i)


def _entries(value: Any, index: tuple[int, ...] = ()) -> Iterable[tuple[tuple[int, ...], Any]]:
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _entries(v, index + (i,))
    else:
        yield index, value

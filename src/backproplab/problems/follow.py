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

from ..derivation import Tree, dependency_order, evaluate, references
from ..tolerance import ROUNDING_FLOOR, Tolerance
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


def is_tree(x: Any) -> bool:
    """A derivation tree node ([op, ...]), as opposed to a list of an answer's entries."""
    return isinstance(x, list) and bool(x) and isinstance(x[0], str)


def trees(follows: Any) -> Any:
    """The derivation tree of every entry of a nested `follows` (sympy expressions or trees already);
    None where an entry follows from no earlier answer."""
    if isinstance(follows, (list, tuple)) and not is_tree(follows):
        return [trees(f) for f in follows]
    if is_tree(follows):
        return follows if next(references(follows), None) is not None else None
    if isinstance(follows, sp.Basic) and _has_ref(follows):
        return tree(follows)
    return None


def _has_ref(expr: Any) -> bool:
    return isinstance(expr, sp.Basic) and any(parse_ref(s) for s in expr.free_symbols)


def tree_entries(follows: Any, index: tuple[int, ...] = ()) -> Iterable[tuple[tuple[int, ...], Any]]:
    """(index, tree or None) of every entry of a nested `follows` of trees."""
    if isinstance(follows, list) and not is_tree(follows):
        for i, f in enumerate(follows):
            yield from tree_entries(f, index + (i,))
    else:
        yield index, follows


def _key_values(answers: list[Answer]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in answers:
        try:
            out[a.name] = to_float(a.value)
        except TypeError:
            pass  # a non-real value: problems_with reports it
    return out


def _lookup(floats: dict[str, Any]):
    def lookup(name: str, index: tuple[int, ...]) -> float | None:
        try:
            v = floats[name]
            for i in index:
                v = v[i]
            return float(v)
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return lookup


def _all_trees(answers: list[Answer]) -> tuple[list, dict]:
    """Every entry of every answer, in answer order, and the tree of each that has one."""
    all_entries, trees_of = [], {}
    for a in answers:
        value_entries = [idx for idx, _ in _entries(a.value)]
        follow_entries = dict(tree_entries(a.follows)) if a.follows is not None else {}
        for idx in value_entries:
            all_entries.append((a.name, idx))
            if follow_entries.get(idx) is not None:
                trees_of[a.name, idx] = follow_entries[idx]
    return all_entries, trees_of


def follow_problems(answers: list[Answer]) -> list[str]:
    """What is wrong with the answers' `follows` trees (for QA): their shape, a reference to no
    answer entry, a cycle, or a derivation that does not give the key's value at the key's values."""
    found: list[str] = []
    floats = _key_values(answers)
    lookup = _lookup(floats)
    for a in answers:
        if a.follows is not None and a.name in floats:
            if dict(tree_entries(a.follows)).keys() != dict(_entries(floats[a.name])).keys():
                found.append(f"answer {a.name!r}: its derivation has another shape than its value")
    all_entries, trees_of = _all_trees(answers)
    try:
        dependency_order(all_entries, trees_of)
    except ValueError as e:
        found.append(f"derivations go round in a circle: {e}")
    for (name, idx), t in trees_of.items():
        if any(lookup(*r) is None for r in references(t)):
            found.append(f"answer {name!r} follows from something that is not an answer")
            continue
        want = lookup(name, idx)
        again = evaluate(t, lookup)
        if want is None or again is None or abs(again - want) > 1e-9 * (1 + abs(want)):
            found.append(f"answer {name!r}: its derivation gives another value than the key")
    return found


def _allowance(tol: Tolerance, value: float) -> float:
    return max(tol.abs, tol.rel * abs(value))


def carry_rounding(answers: list[Answer]) -> None:
    """Widen the tolerance of each answer the statement asks to round (to decimal places: an absolute
    tolerance) by how far rounding the answers it follows from, as allowed, can move it:
    own + Σ |∂entry/∂other| · allowance(other), the derivatives taken numerically from the
    derivation at the key's values, entries taken in the order they depend on each other. Exact
    answers (fractions, or a relative tolerance) and whole numbers are left as they are: nothing
    there asks the student to round along the way."""
    by_name = {a.name: a for a in answers}
    floats = _key_values(answers)
    lookup = _lookup(floats)
    # answers rounded to decimal places (an absolute tolerance): widened by what they follow from
    rounds = {a.name for a in answers
              if a.kind != "choice" and a.tolerance.rel == 0 and a.tolerance.abs > ROUNDING_FLOOR}
    allow: dict[tuple[str, tuple[int, ...]], float] = {}
    all_entries, trees_of = _all_trees(answers)
    try:
        order = dependency_order(all_entries, trees_of)
    except ValueError:
        return  # QA reports the cycle
    widest: dict[str, float] = {}
    for name, idx in order:
        a = by_name[name]
        if a.kind == "choice" or lookup(name, idx) is None:
            continue
        own = _allowance(a.tolerance, lookup(name, idx))
        if name not in rounds:
            allow[name, idx] = own  # how far the student may round it; it carries on into what follows
            continue
        t = trees_of.get((name, idx))
        extra = 0.0
        for r in set(references(t)) if t is not None else ():
            base = lookup(*r)
            if base is None or r not in allow:
                continue
            h = 1e-6 * max(1.0, abs(base))
            up = evaluate(t, _nudged(lookup, r[0], r[1], base + h))
            down = evaluate(t, _nudged(lookup, r[0], r[1], base - h))
            if up is not None and down is not None:
                extra += abs(up - down) / (2 * h) * allow.get(r, 0.0)
        allow[name, idx] = own + extra
        widest[name] = max(widest.get(name, 0.0), own + extra)
    for name, w in widest.items():
        a = by_name[name]
        if w > a.tolerance.abs * 1.01:
            why = a.tolerance.why + ("; rounding your earlier answers as allowed is fine" if a.tolerance.why else "")
            a.tolerance = Tolerance(a.tolerance.rel, _round_up(w), why)


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

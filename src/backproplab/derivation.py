"""How an answer follows from earlier answers: a small expression tree the grader evaluates.

Each entry of a hand answer may carry, in the key, the expression that computes it
from the problem's given numbers and from *earlier answers* (problems/follow.py
builds it from the same sympy expression that gives the key's value). When a
student's answer is wrong against the key, the grader evaluates that expression
on the student's own earlier answers: if the answer is right for them, the work
follows through from an earlier slip (error carried forward).

The tree is plain JSON, evaluated here with floats: no eval, no sympy.

    3.5                       a number
    ["ref", "z1", 0, 1]       the student's z1[0][1] (an answer name and its indices)
    ["+", t, t, ...]          sum          ["*", t, t, ...]   product
    ["^", base, exponent]     power        ["neg", t]          −t
    ["exp", t] ["log", t] ["sin", t] ["cos", t] ["tanh", t] ["abs", t]
    ["sigmoid", t]            1 / (1 + e^−t)
    ["step", t]               1 if t > 0 else 0 (ReLU's derivative)
    ["max", t, t, ...]        the largest       ["min", t, t, ...]
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

Tree = Any  # a number, or a list [op, *args]
Lookup = Callable[[str, tuple[int, ...]], float | None]  # the student's value of answer `name` at `index`

MAX_NODES = 20_000  # a key's tree is small; this only stops a corrupted one


def _sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))


UNARY: dict[str, Callable[[float], float]] = {
    "neg": lambda t: -t, "exp": math.exp, "log": math.log, "sin": math.sin, "cos": math.cos,
    "tanh": math.tanh, "abs": abs, "sigmoid": _sigmoid, "step": lambda t: 1.0 if t > 0 else 0.0,
}


class Unknown(Exception):
    """A reference the student did not answer (or answered in another shape)."""


def evaluate(tree: Tree, lookup: Lookup) -> float | None:
    """The value of `tree` with each reference looked up; None when a reference is unknown or the
    arithmetic fails (a log of a negative number, an overflow): then nothing follows from it."""
    budget = [MAX_NODES]
    try:
        value = _eval(tree, lookup, budget)
    except (Unknown, ValueError, OverflowError, ZeroDivisionError, TypeError, IndexError, RecursionError):
        return None
    return value if math.isfinite(value) else None


def _eval(t: Tree, lookup: Lookup, budget: list[int]) -> float:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("tree too large")
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return float(t)
    op, *args = t
    if op == "ref":
        got = lookup(str(args[0]), tuple(int(i) for i in args[1:]))
        if got is None:
            raise Unknown(args[0])
        return float(got)
    vals = [_eval(a, lookup, budget) for a in args]
    if op == "+":
        return math.fsum(vals)
    if op == "*":
        return math.prod(vals)
    if op == "^":
        base, exponent = vals
        return float(base ** exponent) if not (base < 0 and not exponent.is_integer()) else math.nan
    if op == "max":
        return max(vals)
    if op == "min":
        return min(vals)
    (x,) = vals
    return UNARY[op](x)


def references(tree: Tree) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Every (answer, index) the tree reads, in order, repeats included."""
    if isinstance(tree, list) and tree:
        if tree[0] == "ref":
            yield str(tree[1]), tuple(int(i) for i in tree[2:])
        else:
            for a in tree[1:]:
                yield from references(a)


# --- building trees (the expression graph of chapters 3-4 writes them directly) ----------------

def ref(answer: str, *index: int) -> Tree:
    """The student's value of `answer` (at `index`)."""
    return ["ref", answer, *(int(i) for i in index)]


def is_number(t: Tree) -> bool:
    return isinstance(t, (int, float)) and not isinstance(t, bool)


def add(*terms: Tree) -> Tree:
    """A sum, numbers folded together and zeros left out."""
    number = math.fsum(t for t in terms if is_number(t))
    rest = [t for t in terms if not is_number(t)]
    if number != 0 or not rest:
        rest.append(number)
    return rest[0] if len(rest) == 1 else ["+", *rest]


def mul(*factors: Tree) -> Tree:
    """A product, numbers folded together, ones left out, zero when a number factor is zero."""
    number = math.prod(t for t in factors if is_number(t))
    rest = [t for t in factors if not is_number(t)]
    if number == 0 or not rest:
        return number
    if number != 1:
        rest.insert(0, number)
    return rest[0] if len(rest) == 1 else ["*", *rest]


def apply(op: str, *args: Tree) -> Tree:
    """`op` of `args`, computed now when every argument is a number."""
    tree = [op, *args]
    return evaluate(tree, lambda name, index: None) if all(is_number(a) for a in args) else tree


def dependency_order(entries: list[tuple[str, tuple[int, ...]]],
                     trees: dict[tuple[str, tuple[int, ...]], Tree]) -> list[tuple[str, tuple[int, ...]]]:
    """`entries` ordered so that every entry comes after the entries its tree reads (otherwise in
    the order given). ValueError on a cycle. An entry may read an entry of a later answer (momentum's
    v₂ reads w₁): the order is by dependency, not by answer."""
    known = set(entries)
    order: list[tuple[str, tuple[int, ...]]] = []
    state: dict[tuple[str, tuple[int, ...]], int] = {}  # 1: being visited, 2: done

    def visit(e: tuple[str, tuple[int, ...]]) -> None:
        if state.get(e) == 2:
            return
        if state.get(e) == 1:
            raise ValueError(f"{e[0]}{list(e[1])} depends on itself")
        state[e] = 1
        tree = trees.get(e)
        if tree is not None:
            for r in references(tree):
                if r in known:
                    visit(r)
        state[e] = 2
        order.append(e)

    for e in entries:
        visit(e)
    return order

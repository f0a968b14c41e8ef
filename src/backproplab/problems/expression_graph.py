"""A tiny expression graph with exact values: the chain rule made explicit.

Every hand problem of chapters 3–4 (composed functions aside) is a graph of
`Node`s. A node knows its value, its parents and the local derivative
∂node/∂parent of each, both as a number and as LaTeX. `backward` walks the graph
once in reverse topological order (as micrograd does) and returns ∂root/∂node for
every node, together with the chain-rule terms that produced it, so the key, the
worked tables and the misconception answers all come from the same walk.

A misconception is the same walk with one thing done wrong: a local derivative
replaced (`local=`), `=` instead of `+=` at a fork (`accumulate=False`), or a
finished gradient tampered with before it flows on (`tamper=`).

Values are exact sympy Rationals while only +, ·, ReLU and squares are involved.
Once a sigmoid, tanh, exp or log appears the values are irrational and students
round them, so such graphs compute in Python floats (53 bits, far beyond the
3 decimals graded, and two orders of magnitude faster than sympy Floats);
`as_sympy` turns them into sympy Floats where they become answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import math

import sympy as sp
from mpmath.libmp import from_float

from .. import derivation as D
from ..derivation import Tree
from .exact import decimal_places, rounded
from ..tolerance import EXACT, decimals_tolerance, flat, shape
from .variant import Answer, Exact, Misconception, Reject

PLACES = 3  # decimals asked for where a value is irrational (sigmoid, tanh, log)
ZERO, ONE = 0, 1  # plain ints: they keep a Rational a Rational and a float a float


@dataclass(eq=False)
class Node:
    """One scalar in the graph.

    `local[i]` is ∂self/∂parents[i] at the current values and `local_tex[i]` its
    name in LaTeX (e.g. "w" for ∂(w·x)/∂x). `tag` lets a misconception find the
    nodes it changes (e.g. "act1" for the hidden activations of layer 1).
    """

    name: str
    tex: str
    value: sp.Expr
    op: str = "input"
    parents: tuple[Node, ...] = ()
    local: tuple[sp.Expr, ...] = ()
    local_tex: tuple[str, ...] = ()
    tag: str = ""
    extra: dict = field(default_factory=dict, repr=False)  # op-specific numbers, e.g. the input z of an activation


def exp(x) -> float:
    """e^x (irrational: a float)."""
    return math.exp(float(x))


def log(x) -> float:
    """ln x for x > 0 (irrational: a float)."""
    return math.log(float(x))


def tanh(x) -> float:
    """tanh x (irrational: a float)."""
    return math.tanh(float(x))


def as_sympy(value):
    """A (nested) value with floats made sympy Floats and ints sympy Integers; Rationals unchanged."""
    if isinstance(value, (list, tuple)):
        return [as_sympy(v) for v in value]
    if isinstance(value, float):
        return sp.Float._new(from_float(value), 53)  # sp.Float(value), without its parsing
    return sp.Integer(value) if isinstance(value, int) else value


def key_str(value):
    """A (nested) value for a JSON key: exact as '3/4', a float as its shortest round-trip repr."""
    if isinstance(value, (list, tuple)):
        return [key_str(v) for v in value]
    return repr(value) if isinstance(value, float) else str(value)


def leaf(name: str, tex: str, value, tag: str = "") -> Node:
    """An input or parameter."""
    return Node(name, tex, value, tag=tag)


def add(name: str, tex: str, *terms: Node) -> Node:
    """terms[0] + terms[1] + ...; each local derivative is 1."""
    return Node(name, tex, sum((t.value for t in terms), ZERO), "+", tuple(terms),
                (ONE,) * len(terms), ("1",) * len(terms))


def sub(name: str, tex: str, a: Node, b: Node) -> Node:
    """a − b; the local derivative with respect to b is −1."""
    return Node(name, tex, a.value - b.value, "-", (a, b), (ONE, -ONE), ("1", "-1"))


def mul(name: str, tex: str, a: Node, b: Node) -> Node:
    """a · b: ∂/∂a is b and ∂/∂b is a (a node times itself is a fork: two terms)."""
    return Node(name, tex, a.value * b.value, "*", (a, b), (b.value, a.value), (b.tex, a.tex))


def affine(name: str, tex: str, weights: Sequence[Node], inputs: Sequence[Node], bias: Node, tag: str = "") -> Node:
    """Σ_k weights[k]·inputs[k] + bias, one node (one row of z = W a + b)."""
    value = sum((w.value * x.value for w, x in zip(weights, inputs)), ZERO) + bias.value
    parents = (*weights, *inputs, bias)
    local = (*(x.value for x in inputs), *(w.value for w in weights), ONE)
    local_tex = (*(x.tex for x in inputs), *(w.tex for w in weights), "1")
    return Node(name, tex, value, "affine", parents, local, local_tex, tag)


def sigmoid_value(z) -> float:
    """σ(z) = 1 / (1 + e^{−z}) (irrational: a float)."""
    return 1 / (1 + exp(-z))


# Each activation: its value, and its derivative written the way students are
# taught (through the activation a where that is the usual form).
ACTIVATIONS: dict[str, tuple[Callable[[sp.Expr], sp.Expr], Callable[[sp.Expr, sp.Expr], sp.Expr], str]] = {
    "identity": (lambda z: z, lambda z, a: ONE, "1"),
    "relu": (lambda z: z if z > 0 else ZERO, lambda z, a: ONE if z > 0 else ZERO, r"\mathbb{1}[{z} > 0]"),
    "sigmoid": (sigmoid_value, lambda z, a: a * (1 - a), r"{a}(1 - {a})"),
    "tanh": (tanh, lambda z, a: 1 - a**2, r"1 - {a}^2"),
}
TRANSCENDENTAL = {"sigmoid", "tanh"}


def activation(name: str, tex: str, kind: str, z: Node, tag: str = "") -> Node:
    """a = f(z) for f in ACTIVATIONS; the local derivative is f′(z)."""
    f, df, df_tex = ACTIVATIONS[kind]
    a = f(z.value)
    return Node(name, tex, a, kind, (z,), (df(z.value, a),), (df_tex.replace("{z}", z.tex).replace("{a}", tex),), tag, {"z": z.value})


def square(name: str, tex: str, q: Node) -> Node:
    """q² with local derivative 2q."""
    return Node(name, tex, q.value**2, "square", (q,), (2 * q.value,), (f"2{q.tex}",))


def topological(root: Node) -> list[Node]:
    """Every node reachable from `root`, parents before children."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:  # iterative DFS: a batch of samples makes graphs deeper than one would like to recurse
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in reversed(node.parents) if id(p) not in seen)
    return order


@dataclass
class Term:
    """One chain-rule product ∂root/∂child · ∂child/∂node flowing into `node`."""

    child: Node
    upstream: sp.Expr
    local: sp.Expr
    local_tex: str


LocalRule = Callable[[Node], Sequence[sp.Expr]]


@dataclass
class Gradients:
    """∂root/∂node for every node, and the terms each one is the sum of."""

    root: Node
    grad: dict[int, sp.Expr]
    terms: dict[int, list[Term]]

    def __getitem__(self, node: Node) -> sp.Expr:
        return self.grad.get(id(node), ZERO)

    def of(self, nodes: Iterable) -> list:
        """Gradients of a (nested) list of nodes, as a list of the same shape."""
        return [self.of(n) if isinstance(n, (list, tuple)) else self[n] for n in nodes]


def backward(
    root: Node,
    local: LocalRule | None = None,
    accumulate: bool = True,
    tamper: Callable[[Node, sp.Expr], sp.Expr] | None = None,
) -> Gradients:
    """Reverse-mode chain rule from `root`.

    `local(node)` may replace a node's local derivatives (a planted mistake);
    `accumulate=False` overwrites instead of adding at a fork (`=` for `+=`);
    `tamper(node, g)` may change a node's finished gradient before it flows on.
    """
    grad: dict[int, sp.Expr] = {id(root): ONE}
    terms: dict[int, list[Term]] = {id(root): []}
    for node in reversed(topological(root)):
        g = grad.get(id(node), ZERO)
        if tamper is not None:
            g = grad[id(node)] = tamper(node, g)
        locs = local(node) if local is not None else node.local
        for parent, loc, loc_tex in zip(node.parents, locs, node.local_tex):
            flow = g * loc
            if accumulate and id(parent) in grad:
                grad[id(parent)] += flow
            else:
                grad[id(parent)] = flow
            terms.setdefault(id(parent), []).append(Term(node, g, loc, loc_tex))
    return Gradients(root, grad, terms)


def values(nodes: Iterable) -> list:
    """Values of a (nested) list of nodes, as a list of the same shape."""
    return [values(n) if isinstance(n, (list, tuple)) else n.value for n in nodes]


def is_exact(x) -> bool:
    """True for an int or a Rational (no float crept in)."""
    return isinstance(x, int) or bool(getattr(x, "is_Rational", False))


def show(x: sp.Expr, places: int = 4) -> str:
    """LaTeX of a number for a worked table: exact if rational (a decimal when it terminates),
    else rounded to `places`. (Written out by hand: sympy's printer would dominate the run time.)"""
    if not is_exact(x):
        x = float(x)
        r = round(x, places)
        if r == 0:
            return "0"  # never "-0.0000"
        if abs(x - r) < 1e-12:  # a short decimal carried as a float: 0.4, not 0.4000
            return f"{r:.{places}f}".rstrip("0").rstrip(".")
        return rounded(x, places)
    x = sp.Rational(x)
    p, q = int(x.p), int(x.q)
    if q == 1:
        return str(p)
    digits = decimal_places(x)
    if digits is not None:
        return f"{p / q:.{digits}f}"
    return rf"{'-' if p < 0 else ''}\frac{{{abs(p)}}}{{{q}}}"


def cell(x, places: int = 4) -> str:
    """A table cell holding one number: plain text when it is a plain decimal (no LaTeX to
    typeset, which keeps rendering a class's keys fast), else $math$."""
    text = show(x, places)
    return f"${text}$" if "\\" in text else text


def dfrac(top: str, bottom: str) -> str:
    """∂top/∂bottom in LaTeX."""
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def chain_row(grads: Gradients, node: Node, places: int = 4) -> list[str]:
    """One table row for `node`: the gradient, the chain-rule sum in symbols, in numbers, the value."""
    root = grads.root.tex
    terms = grads.terms.get(id(node), [])[::-1]  # the walk meets the last use first; list them in forward order
    if node is grads.root:
        return [f"${dfrac(root, root)}$", "", "", "1"]
    symbolic = " + ".join(rf"{dfrac(root, t.child.tex)} \cdot {_paren(t.local_tex)}" for t in terms)
    numbers = " + ".join(rf"({show(t.upstream, places)})({show(t.local, places)})" for t in terms)
    return [f"${dfrac(root, node.tex)}$", f"${symbolic}$", f"${numbers}$", cell(grads[node], places)]


def chain_table(grads: Gradients, nodes: Iterable[Node], places: int = 4) -> list[list[str]]:
    """The chain-rule table for `nodes` (header first), one row per node, in the order given."""
    header = ["gradient", "chain rule", "numbers", "value"]
    return [header] + [chain_row(grads, n, places) for n in nodes]


def _paren(tex: str) -> str:
    """A local-derivative label in parentheses when it is a sum or difference."""
    return f"({tex})" if " - " in tex or " + " in tex else tex


def differs(a: Exact, b: Exact) -> bool:
    """Do two (nested) values differ beyond rounding noise?"""
    if shape(a) != shape(b):
        return True
    # Values carry at least 53 bits, so anything beyond 1e-12 (relative) is a real difference.
    return any(abs(float(x) - float(y)) > 1e-12 * (1 + abs(float(y))) for x, y in zip(flat(a), flat(b)))


def misconceptions_from(name: str, feedback: str, right: dict[str, Exact], wrong: dict[str, Exact]) -> list[Misconception]:
    """The misconception `name` for every answer its wrong computation actually changes.

    QA then checks that each one is farther from the right answer than the grading tolerance.
    """
    return [Misconception(name, key, as_sympy(value), feedback)
            for key, value in wrong.items() if differs(value, right[key])]


def graded_answer(name: str, label: str, value: Exact, nonzero: bool = False, follows=None) -> Answer:
    """An Answer graded exactly when its value is rational, else to PLACES decimals."""
    exact = all(is_exact(x) for x in flat(value))
    tol = EXACT if exact else decimals_tolerance(PLACES)
    kind = "vector" if isinstance(value, list) else "number"
    return Answer(name, label, as_sympy(value), kind=kind, tolerance=tol, nonzero=nonzero, follows=follows)


def number_style(answers: Iterable[Exact], given: Iterable[sp.Expr], max_places: int = 3) -> str:
    """The variant's number style; Reject when an exact answer is not pencil-and-paper friendly.

    Exact answers must be terminating decimals with at most `max_places` places and
    magnitude at most 1000; any irrational value makes the style "decimals".
    """
    numbers = [x for v in answers for x in flat(v)]
    if not all(is_exact(x) for x in numbers):
        return "decimals"
    for x in numbers:
        places = decimal_places(x)
        if places is None or places > max_places or abs(x) > 1000:
            raise Reject(f"answer {x} is not hand-friendly")
    numbers = [sp.Rational(x) for x in numbers]
    everything = numbers + [sp.Rational(g) for g in given]
    return "integers" if all(x.q == 1 for x in everything) else "short decimals"


# --- how each value follows from the answers before it (for follow-through credit) -----------------
#
# `value_expr` writes a node's value as a derivation tree (derivation.py) of its parents,
# where a parent whose value is itself an answer is a reference to that answer and any
# other parent is expanded in turn (a leaf is its number). `gradient_exprs` writes
# ∂root/∂node the same way: the sum over the node's uses of (upstream gradient) · (local
# derivative), an upstream gradient that is an answer being a reference too. They are the
# graph's own operations, so evaluated at the key's values they give exactly the values
# the graph computed (QA checks that for every variant).

Refer = Callable[[Node], "Tree | None"]  # the reference standing for a node's value or gradient, if it is an answer


def value_expr(node: Node, value_ref: Refer, memo: dict | None = None) -> Tree:
    """The node's value from its parents' (references where they are answers)."""
    memo = {} if memo is None else memo
    if id(node) in memo:
        return memo[id(node)]
    v = [_value_of(p, value_ref, memo) for p in node.parents]
    op = node.op
    if op == "input":
        out = float(node.value)
    elif op == "+":
        out = D.add(*v)
    elif op == "-":
        out = D.add(v[0], D.mul(-1, v[1]))
    elif op == "*":
        out = D.mul(v[0], v[1])
    elif op == "affine":
        k = (len(v) - 1) // 2
        out = D.add(*(D.mul(w, x) for w, x in zip(v[:k], v[k:2 * k])), v[-1])
    elif op == "identity":
        out = v[0]
    elif op in ("relu", "sigmoid", "tanh"):
        out = D.apply({"relu": "max"}.get(op, op), *([0, v[0]] if op == "relu" else [v[0]]))
    elif op == "square":
        out = D.apply("^", v[0], 2)
    elif op == "softmax":
        k = int(node.name.rsplit("_", 1)[1])
        out = D.mul(D.apply("exp", v[k]), D.apply("^", D.add(*(D.apply("exp", z) for z in v)), -1))
    elif op == "loss":
        out = D.mul(D.add(*(_loss_term(node, p, y) for p, y in zip(v, node.extra["targets"]))), 1 / node.extra["N"])
    else:
        raise ValueError(f"no expression for op {op!r}")
    memo[id(node)] = out
    return out


def _value_of(node: Node, value_ref: Refer, memo: dict) -> Tree:
    r = value_ref(node)
    return r if r is not None else value_expr(node, value_ref, memo)


def _loss_term(node: Node, p: Tree, y) -> Tree:
    kind, y = node.extra["kind"], float(y)
    if kind == "mse":
        return D.mul(0.5, D.apply("^", D.add(p, -y), 2))
    if kind == "bce":
        return D.mul(-1, D.add(D.mul(y, D.apply("log", p)), D.mul(1 - y, D.apply("log", D.add(1, D.mul(-1, p))))))
    return D.mul(-1, D.apply("log", p))  # softmax cross-entropy: the parents are the targets' probabilities


def _local_expr(child: Node, i: int, value_ref: Refer, memo: dict) -> Tree:
    """∂child/∂(its i-th parent), written with references where values are answers."""
    v = [_value_of(p, value_ref, memo) for p in child.parents]
    op = child.op
    if op in ("+", "identity"):
        return 1
    if op == "-":
        return 1 if i == 0 else -1
    if op == "*":
        return v[1 - i]
    if op == "affine":
        k = (len(v) - 1) // 2
        return v[i + k] if i < k else (v[i - k] if i < 2 * k else 1)
    if op == "relu":
        return D.apply("step", v[0])
    a = _value_of(child, value_ref, memo)
    if op == "sigmoid":
        return D.mul(a, D.add(1, D.mul(-1, a)))
    if op == "tanh":
        return D.add(1, D.mul(-1, D.apply("^", a, 2)))
    if op == "square":
        return D.mul(2, v[0])
    if op == "softmax":
        k = int(child.name.rsplit("_", 1)[1])
        probs = [_value_of(s, value_ref, memo) for s in child.extra["softmax"]]
        return D.mul(probs[k], D.add(1 if i == k else 0, D.mul(-1, probs[i])))
    if op == "loss":
        p, y, n = v[i], float(child.extra["targets"][i]), child.extra["N"]
        kind = child.extra["kind"]
        if kind == "mse":
            return D.mul(D.add(p, -y), 1 / n)
        if kind == "bce":
            return D.mul(D.add(p, -y), D.apply("^", D.mul(n, p, D.add(1, D.mul(-1, p))), -1))
        return D.mul(-1 / n, D.apply("^", p, -1))
    raise ValueError(f"no derivative for op {op!r}")


def gradient_exprs(root: Node, value_ref: Refer, grad_ref: Refer) -> dict[int, Tree]:
    """∂root/∂node of every node, by id, as derivation trees over references (see above)."""
    order = topological(root)
    uses: dict[int, list[tuple[Node, int]]] = {}
    for child in order:
        for i, parent in enumerate(child.parents):
            uses.setdefault(id(parent), []).append((child, i))
    memo: dict = {}
    out: dict[int, Tree] = {id(root): 1}
    for node in reversed(order):
        if node is root:
            continue
        terms = []
        for child, i in uses.get(id(node), []):
            r = None if child is root else grad_ref(child)
            upstream = 1 if child is root else (r if r is not None else out[id(child)])
            terms.append(D.mul(upstream, _local_expr(child, i, value_ref, memo)))
        out[id(node)] = D.add(*terms)
    return out

"""Chapter 4 — a computational graph traced by hand.

A small graph such as f = (x + y)·z or a sigmoid neuron f = σ(w·x + b): the
student writes the forward value of every node and ∂f/∂(every node and input).
Some graphs use a variable twice, so its gradient is a sum over the paths (a
fork), which is exactly where `=` instead of `+=` goes wrong.

The assignment chooses the graph: one `template`, or a `pool` to draw from (a
name in POOLS or a list of templates), whose graphs must all be of equal effort:
the same answers, all with a fork or all without, all needing a calculator or
none. The seed chooses the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from ..derivation import ref
from .exact import latex_decimal, nonzero_int, pick, short_decimal
from .expression_graph import TRANSCENDENTAL, Node, activation, add, backward, cell, chain_table, leaf, mul, sub
from .expression_graph import PLACES, gradient_exprs, graded_answer, misconceptions_from, number_style, topological
from .expression_graph import value_expr
from .variant import OptionError, ProblemType, Reject, Step, Variant, option


@dataclass(frozen=True)
class Template:
    """A graph shape: its formula, how to draw its inputs, and how to build it from them."""

    formula: str  # LaTeX of f in terms of the inputs
    inputs: Callable[[np.random.Generator], dict[str, sp.Expr]]
    build: Callable[[dict[str, Node]], Node]  # returns the output node f


def _ints(*names: str) -> Callable[[np.random.Generator], dict[str, sp.Expr]]:
    return lambda rng: {n: nonzero_int(rng, -4, 4) for n in names}


def _neuron_inputs(rng: np.random.Generator) -> dict[str, sp.Expr]:
    return {"w": short_decimal(rng, -2, 2), "x": nonzero_int(rng, -3, 3), "b": short_decimal(rng, -2, 2)}


def _neuron2_inputs(rng: np.random.Generator) -> dict[str, sp.Expr]:
    return {"w1": short_decimal(rng, -1.5, 1.5), "x1": nonzero_int(rng, -2, 2),
            "w2": short_decimal(rng, -1.5, 1.5), "x2": nonzero_int(rng, -2, 2), "b": short_decimal(rng, -1, 1)}


def _skip_inputs(rng: np.random.Generator) -> dict[str, sp.Expr]:
    return {"w": nonzero_int(rng, -3, 3), "x": nonzero_int(rng, -3, 3), "b": nonzero_int(rng, -3, 3),
            "v": nonzero_int(rng, -3, 3)}


TEMPLATES: dict[str, Template] = {
    "sum times z": Template(
        r"(x + y) \cdot z", _ints("x", "y", "z"),
        lambda v: mul("f", "f", add("q", "q", v["x"], v["y"]), v["z"])),
    "x used twice": Template(
        r"(x + y) \cdot x", _ints("x", "y"),
        lambda v: mul("f", "f", add("q", "q", v["x"], v["y"]), v["x"])),
    "y used twice": Template(
        r"x \cdot y + y \cdot z", _ints("x", "y", "z"),
        lambda v: add("f", "f", mul("p", "p", v["x"], v["y"]), mul("q", "q", v["y"], v["z"]))),
    "square as product": Template(
        r"(x \cdot y - z) \cdot (x \cdot y - z)", _ints("x", "y", "z"),
        lambda v: _square_of(sub("q", "q", mul("p", "p", v["x"], v["y"]), v["z"]))),
    "x in both factors": Template(
        r"(x + y) \cdot (x - z)", _ints("x", "y", "z"),
        lambda v: mul("f", "f", add("p", "p", v["x"], v["y"]), sub("q", "q", v["x"], v["z"]))),
    "x times both": Template(
        r"x \cdot y + x \cdot z", _ints("x", "y", "z"),
        lambda v: add("f", "f", mul("p", "p", v["x"], v["y"]), mul("q", "q", v["x"], v["z"]))),
    "sigmoid neuron": Template(
        r"\sigma(w \cdot x + b)", _neuron_inputs,
        lambda v: activation("f", "f", "sigmoid", add("z", "z", mul("p", "p", v["w"], v["x"]), v["b"]))),
    "tanh neuron": Template(
        r"\tanh(w \cdot x + b)", _neuron_inputs,
        lambda v: activation("f", "f", "tanh", add("z", "z", mul("p", "p", v["w"], v["x"]), v["b"]))),
    "two-input sigmoid neuron": Template(
        r"\sigma(w_1 x_1 + w_2 x_2 + b)", _neuron2_inputs,
        lambda v: activation("f", "f", "sigmoid", add("z", "z", add(
            "s", "s", mul("p1", "p_1", v["w1"], v["x1"]), mul("p2", "p_2", v["w2"], v["x2"])), v["b"]))),
    "ReLU with a skip": Template(
        r"v \cdot \mathrm{ReLU}(w \cdot x + b) + x", _skip_inputs,
        lambda v: add("f", "f", mul("u", "u", v["v"], activation(
            "h", "h", "relu", add("z", "z", mul("p", "p", v["w"], v["x"]), v["b"]))), v["x"])),
}


def _square_of(q: Node) -> Node:
    return mul("f", "f", q, q)


# Named pools of templates of equal effort (see `check_pool`).
POOLS: dict[str, list[str]] = {
    "fork": ["y used twice", "square as product", "x in both factors", "x times both"],
    "neuron": ["sigmoid neuron", "tanh neuron"],
}
DEFAULT_TEMPLATE = "y used twice"


@dataclass(frozen=True)
class Shape:
    """What makes two graphs the same problem: the answers asked, a fork or none, a calculator or none."""

    answers: tuple[str, ...]
    fork: bool
    calculator: bool


def shape_of(name: str) -> Shape:
    """The shape of template `name`, read off its graph built on ones."""
    tpl = TEMPLATES[name]
    f = tpl.build({k: leaf(k, k, 1) for k in tpl.inputs(np.random.default_rng(0))})
    order = topological(f)
    uses = [id(p) for n in order for p in n.parents]
    return Shape(tuple([n.name for n in order if n.parents] + [f"d{n.name}" for n in reversed(order) if n is not f]),
                 any(uses.count(u) > 1 for u in set(uses)), any(n.op in TRANSCENDENTAL for n in order))


def templates_allowed(template: str | None, pool: str | list[str] | None) -> list[str]:
    """The templates a variant may use: the one named, a pool's, or the default; a pool must be of equal effort."""
    if template is not None and pool is not None:
        raise OptionError("graph_gradients: give a template or a pool, not both")
    if pool is None:
        return [option("graph_gradients", "template", template or DEFAULT_TEMPLATE, TEMPLATES)]
    names = POOLS[option("graph_gradients", "pool", pool, POOLS)] if isinstance(pool, str) else list(pool)
    for n in names or [None]:
        option("graph_gradients", "pool entry", n, TEMPLATES)
    shapes = {n: shape_of(n) for n in names}
    if len(set(shapes.values())) > 1:
        raise OptionError(f"graph_gradients: the pool {names} mixes graphs of unequal effort (different answers, "
                          "a fork in some only, or a calculator for some only)")
    return names


_TEX = {"w1": "w_1", "w2": "w_2", "x1": "x_1", "x2": "x_2"}
_OP_TEX = {"+": " + ", "-": " - ", "*": r" \cdot "}


def definition(node: Node) -> str:
    """LaTeX of how a node is computed from its parents, e.g. 'q = x + y'."""
    if node.op in _OP_TEX:
        return f"{node.tex} = " + _OP_TEX[node.op].join(p.tex for p in node.parents)
    name = {"sigmoid": r"\sigma", "relu": r"\mathrm{ReLU}", "tanh": r"\tanh"}[node.op]
    return rf"{node.tex} = {name}({node.parents[0].tex})"


def graph_gradients(rng: np.random.Generator, template: str | None = None, pool: str | list[str] | None = None) -> Variant:
    """Forward value of every node and ∂f/∂(every node and input) of a small graph."""
    allowed = templates_allowed(template, pool)
    name = pick(rng, allowed) if len(allowed) > 1 else allowed[0]
    tpl = TEMPLATES[name]
    given = tpl.inputs(rng)
    inputs = {k: leaf(k, _TEX.get(k, k), x) for k, x in given.items()}
    f = tpl.build(inputs)
    order = topological(f)
    inner = [n for n in order if n.parents]
    for n in inner:
        if n.op == "relu" and n.parents[0].value == 0:
            raise Reject("ReLU input exactly 0")
        if n.op in ("sigmoid", "tanh") and abs(n.parents[0].value) > {"sigmoid": 3, "tanh": 2}[n.op]:
            raise Reject(f"saturated {n.op}")
    grads = backward(f)
    right = {n.name: n.value for n in inner} | {f"d{n.name}": grads[n] for n in order if n is not f}
    wrong = {
        "one path at a fork": (backward(f, accumulate=False),
                               "At a node used more than once, the gradients from all its uses add up; "
                               "you kept only one path (= instead of +=)."),
        "multiplier swapped": (backward(f, local=_own_factor),
                               "For a product a·b, ∂/∂a is the other factor b, not a itself."),
        "sigma' on the pre-activation": (backward(f, local=_sigmoid_on_z),
                                         "σ′ is a(1 − a) with a = σ(z), the activation; you put the "
                                         "pre-activation z into that formula."),
        "subtraction sign lost": (backward(f, local=_sub_plus),
                                  "For a − b the local derivative with respect to b is −1, not +1."),
    }
    mis = []
    for mname, (g, feedback) in wrong.items():
        mis += misconceptions_from(mname, feedback, right, {f"d{n.name}": g[n] for n in order if n is not f})
    # Each value follows from its parents' values (answers, where they are inner nodes), each
    # gradient from the gradients above it and the values it multiplies by.
    value_ref = lambda node: ref(node.name) if node.parents else None  # noqa: E731
    follows = gradient_exprs(f, value_ref, lambda node: ref(f"d{node.name}") if node is not f else None)
    memo: dict = {}
    answers = [graded_answer(n.name, f"the value of ${n.tex}$", n.value, follows=value_expr(n, value_ref, memo))
               for n in inner]
    answers += [graded_answer(f"d{n.name}", f"$\\partial f / \\partial {n.tex}$", grads[n], nonzero=n.op == "input",
                              follows=follows[id(n)]) for n in reversed(order) if n is not f]
    style = number_style(list(right.values()), list(given.values()))
    values_text = ", ".join(f"${n.tex} = {latex_decimal(n.value)}$" for n in inputs.values())
    defs = ", ".join(f"${definition(n)}$" for n in inner)
    example = next(n for n in reversed(order) if n is not f)
    statement = (
        f"The graph computes $f = {tpl.formula}$ through the nodes {defs}. The inputs are {values_text}.\n\n"
        "1. Forward: compute the value of every node.\n"
        "2. Backward: compute the gradient of $f$ with respect to every other node and every input "
        f"(`d{example.name}` stands for $\\partial f / \\partial {example.tex}$)."
    )
    if style == "decimals":
        statement += f"\n\nGive values that are not exact to {PLACES} decimal places."
    forward_table = [["node", "computed as", "value"]] + [
        [f"${n.tex}$", f"${definition(n)}$", cell(n.value)] for n in inner]
    steps = [
        Step("Forward pass, node by node:", table=forward_table),
        Step("Backward pass from $f$ (where a node feeds several others, its gradient is the sum of one "
             "chain-rule product per use):", table=chain_table(grads, list(reversed(order)))),
    ]
    return Variant(
        problem="graph_gradients",
        title="Gradients on a computational graph",
        statement=statement,
        params={"template": name, "formula": tpl.formula, "inputs": {k: str(x) for k, x in given.items()},
                "nodes": [{"name": n.name, "op": n.op, "parents": [p.name for p in n.parents]} for n in inner]},
        answers=answers,
        steps=steps,
        misconceptions=mis,
        given=list(given.values()),
        style=style,
    )


def _own_factor(node: Node) -> tuple:
    """∂(a·b)/∂a taken as a (the factor itself) instead of b."""
    if node.op == "*":
        return tuple(p.value for p in node.parents)
    return node.local


def _sigmoid_on_z(node: Node) -> tuple:
    """σ′ computed as z(1 − z) from the pre-activation."""
    if node.op == "sigmoid":
        z = node.extra["z"]
        return (z * (1 - z),)
    return node.local


def _sub_plus(node: Node) -> tuple:
    """a − b differentiated as if it were a + b."""
    return (1, 1) if node.op == "-" else node.local


PROBLEMS = [
    ProblemType("graph_gradients", 4, "hand", "Forward values and gradients on a computational graph",
                graph_gradients, "chain-rule"),
]

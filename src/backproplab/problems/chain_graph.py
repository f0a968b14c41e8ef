"""Chapter 3 — the chain rule on a small computational graph, one table at a time.

A three-node chain such as p = w·x, z = p + b, f = z²: the student fills in the
forward table (the value of each node), then the local derivative on each edge
(∂f/∂z, ∂z/∂p, ∂z/∂b, ∂p/∂w, ∂p/∂x, each at the forward values), then multiplies
the local derivatives along the path from f to each input. Where chapter 4's
graph_gradients asks for the gradient at every node of graphs with forks, this is
the chain rule itself, made explicit edge by edge.

The assignment chooses the graph (`template`); the seed the inputs. The values, the
local derivatives and the gradients come from one walk of expression_graph.py, and
each entry of the key knows how it follows from the student's earlier entries.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import sympy as sp

from .exact import latex_decimal, nonzero_int, paren, short_decimal
from .expression_graph import PLACES, activation, add, backward, cell, graded_answer, leaf, mul, number_style, square, sub
from .expression_graph import as_sympy, misconceptions_from
from .follow import ref
from .variant import Misconception, OptionError, ProblemType, Reject, Step, Variant, option


@dataclass(frozen=True)
class Template:
    """A chain p = w·x, z = p ± c, f = g(z): the name of its third input, the sign, and the outer function g."""

    formula: str  # LaTeX of f
    third: str  # "b" (added) or "y" (subtracted)
    outer: str  # "square", "sigmoid", "tanh" or "relu"


TEMPLATES = {
    "square of affine": Template(r"(w \cdot x + b)^2", "b", "square"),
    "squared error": Template(r"(w \cdot x - y)^2", "y", "square"),
    "ReLU neuron": Template(r"\mathrm{ReLU}(w \cdot x + b)", "b", "relu"),
    "sigmoid neuron": Template(r"\sigma(w \cdot x + b)", "b", "sigmoid"),
    "tanh neuron": Template(r"\tanh(w \cdot x + b)", "b", "tanh"),
}
CALCULATOR = {"sigmoid", "tanh"}
DEFAULT = "square of affine"
OUTER_TEX = {"square": "z^2", "relu": r"\mathrm{ReLU}(z)", "sigmoid": r"\sigma(z)", "tanh": r"\tanh(z)"}
LOCAL_TEX = {"square": "2z", "relu": r"\mathbb{1}[z > 0]", "sigmoid": "f(1 - f)", "tanh": "1 - f^2"}
SATURATES = {"sigmoid": 3, "tanh": 2}  # |z| at most this: a saturated unit would make every gradient ≈ 0


def outer_of(kind: str, r: sp.Expr) -> sp.Expr:
    """g(r) as sympy, for the derivation of f from the student's z."""
    return {"square": r**2, "relu": sp.Max(0, r), "sigmoid": 1 / (1 + sp.exp(-r)), "tanh": sp.tanh(r)}[kind]


def outer_slope(kind: str, z: sp.Expr, f: sp.Expr) -> sp.Expr:
    """g′ as the student writes it: from z (square, ReLU) or from the output f (sigmoid, tanh)."""
    return {"square": 2 * z, "relu": sp.Heaviside(z), "sigmoid": f * (1 - f), "tanh": 1 - f**2}[kind]


def templates_allowed(template: str | list[str]) -> list[str]:
    names = [template] if isinstance(template, str) else list(template)
    for n in names or [None]:
        option("chain_rule_graph", "template", n, TEMPLATES)
    if len({TEMPLATES[n].outer in CALCULATOR for n in names}) > 1:
        raise OptionError("chain_rule_graph: a template pool mixes graphs that need a calculator with graphs that "
                          "do not")
    return names


def chain_rule_graph(rng: np.random.Generator, template: str | list[str] = DEFAULT) -> Variant:
    """Forward table, local derivatives on each edge, and the chain-rule products of p = w·x, z = p ± c, f = g(z)."""
    names = templates_allowed(template)
    name = names[int(rng.integers(len(names)))]
    tpl = TEMPLATES[name]
    given = {"w": short_decimal(rng, -2, 2), "x": nonzero_int(rng, -3, 3),
             tpl.third: short_decimal(rng, -2, 2) if tpl.third == "b" else nonzero_int(rng, -4, 4)}
    w, x, c = (leaf(k, k, v) for k, v in given.items())
    p = mul("p", "p", w, x)
    z = (add if tpl.third == "b" else sub)("z", "z", p, c)
    f = square("f", "f", z) if tpl.outer == "square" else activation("f", "f", tpl.outer, z)
    if tpl.outer == "relu" and z.value <= 0:
        raise Reject("the ReLU is off: every gradient would be 0")
    if tpl.outer in SATURATES and abs(z.value) > SATURATES[tpl.outer]:
        raise Reject("the unit is saturated")
    if z.value == 0:
        raise Reject("z = 0: every gradient of the square is 0")
    grads = backward(f)
    values = [p.value, z.value, f.value]
    local = [f.local[0], z.local[0], z.local[1], p.local[0], p.local[1]]
    gradients = [grads[w], grads[x], grads[c]]
    style = number_style(values + local + gradients, list(given.values()))

    # How each entry follows from the student's earlier entries (None: from the given numbers alone).
    v, l = (lambda i: ref("values", i)), (lambda i: ref("local", i))
    sign = 1 if tpl.third == "b" else -1
    values_follow = [None, v(0) + sign * given[tpl.third], outer_of(tpl.outer, v(1))]
    local_follow = [outer_slope(tpl.outer, v(1), v(2)), None, None, None, None]
    grads_follow = [l(0) * l(1) * l(3), l(0) * l(1) * l(4), l(0) * l(2)]

    # The usual mistakes, each the same walk with one thing done wrong.
    def walk(wrong_local: list) -> list:
        return [wrong_local[0] * wrong_local[1] * wrong_local[3], wrong_local[0] * wrong_local[1] * wrong_local[4],
                wrong_local[0] * wrong_local[2]]

    right = {"local": local, "grads": gradients}
    mistakes: dict[str, tuple[list, str]] = {
        "multiplier swapped": ([local[0], local[1], local[2], p.local[1], p.local[0]],
                               "For a product p = w·x, ∂p/∂w is the other factor x, and ∂p/∂x is w."),
        "locals added along a path": (None, "The chain rule multiplies the local derivatives along a path; it does "
                                            "not add them."),
    }
    if tpl.outer == "square":
        mistakes["square's derivative without the 2"] = (
            [z.value] + local[1:], "The derivative of z² is 2z.")
    elif tpl.outer == "sigmoid":
        mistakes["σ′ from the pre-activation"] = (
            [z.value * (1 - z.value)] + local[1:], "σ′ is f(1 − f) with f = σ(z), the output; you put z into it.")
    elif tpl.outer == "tanh":
        mistakes["tanh′ from the pre-activation"] = (
            [1 - z.value**2] + local[1:], "tanh′ is 1 − f² with f = tanh(z), the output; you put z into it.")
    if tpl.third == "y":
        mistakes["subtraction sign lost"] = (local[:2] + [1] + local[3:], "For z = p − y, ∂z/∂y is −1, not +1.")
    mis: list[Misconception] = []
    for mname, (wrong_local, feedback) in mistakes.items():
        if wrong_local is None:
            wrong = {"grads": [local[0] + local[1] + local[3], local[0] + local[1] + local[4], local[0] + local[2]]}
        else:
            wrong = {"local": wrong_local, "grads": walk(wrong_local)}
        mis += misconceptions_from(mname, feedback, right, wrong)
    skipped = square("f", "f", p) if tpl.outer == "square" else activation("f", "f", tpl.outer, p)
    mis.append(Misconception(f"{tpl.third} left out of z", "values", as_sympy([p.value, p.value, skipped.value]),
                             f"z is computed from p and {tpl.third}: z = p {'+' if sign > 0 else '−'} {tpl.third}."))

    edges = ["\\partial f/\\partial z", "\\partial z/\\partial p", f"\\partial z/\\partial {tpl.third}",
             "\\partial p/\\partial w", "\\partial p/\\partial x"]
    inputs_text = ", ".join(f"${k} = {latex_decimal(val)}$" for k, val in given.items())
    op = "+" if sign > 0 else "-"
    statement = (
        f"The graph computes $f = {tpl.formula}$ in three nodes: $p = w \\cdot x$, $z = p {op} {tpl.third}$, "
        f"$f = {OUTER_TEX[tpl.outer]}$. The inputs are {inputs_text}.\n\n"
        "1. `values`: the forward table, $[p, z, f]$.\n"
        f"2. `local`: the local derivative on each edge, $[{', '.join(edges)}]$, each at the forward values.\n"
        f"3. `grads`: $[\\partial f/\\partial w, \\partial f/\\partial x, \\partial f/\\partial {tpl.third}]$, each the "
        "product of the local derivatives along the path from $f$ to that input."
    )
    if style == "decimals":
        statement += f"\n\nGive values that are not exact to {PLACES} decimal places."
    forward = [["node", "computed as", "value"],
               ["$p$", f"$w \\cdot x = {latex_decimal(given['w'])} \\cdot {paren(given['x'])}$", cell(p.value)],
               ["$z$", f"$p {op} {tpl.third}$", cell(z.value)],
               ["$f$", f"${OUTER_TEX[tpl.outer]}$", cell(f.value)]]
    local_rows = [["edge", "local derivative", "value"],
                  [f"${edges[0]}$", f"${LOCAL_TEX[tpl.outer]}$", cell(local[0])],
                  [f"${edges[1]}$", "$1$", cell(local[1])],
                  [f"${edges[2]}$", f"${sign}$", cell(local[2])],
                  [f"${edges[3]}$", "$x$", cell(local[3])],
                  [f"${edges[4]}$", "$w$", cell(local[4])]]
    chain_rows = [["gradient", "path", "value"],
                  ["$\\partial f/\\partial w$", f"${edges[0]} \\cdot {edges[1]} \\cdot {edges[3]}$", cell(gradients[0])],
                  ["$\\partial f/\\partial x$", f"${edges[0]} \\cdot {edges[1]} \\cdot {edges[4]}$", cell(gradients[1])],
                  [f"$\\partial f/\\partial {tpl.third}$", f"${edges[0]} \\cdot {edges[2]}$", cell(gradients[2])]]
    return Variant(
        problem="chain_rule_graph",
        title="The chain rule on a computational graph",
        statement=statement,
        params={"template": name, "formula": tpl.formula, "inputs": {k: str(val) for k, val in given.items()},
                "outer": tpl.outer, "third": tpl.third, "third_sign": sign},
        answers=[
            graded_answer("values", "$[p, z, f]$", values, follows=values_follow),
            graded_answer("local", "the local derivatives, in the order listed", local, follows=local_follow),
            graded_answer("grads", f"$[\\partial f/\\partial w, \\partial f/\\partial x, \\partial f/\\partial {tpl.third}]$",
                          gradients, nonzero=True, follows=grads_follow),
        ],
        steps=[Step("Forward, node by node:", table=forward),
               Step("The local derivative on each edge, at the forward values:", table=local_rows),
               Step("The chain rule: multiply the local derivatives along each path from $f$:", table=chain_rows)],
        misconceptions=mis,
        given=list(given.values()),
        style=style,
        calculator="basic" if tpl.outer in CALCULATOR else None,
    )


PROBLEMS = [
    ProblemType("chain_rule_graph", 3, "hand", "Chain rule on a graph: forward table, local derivatives, products",
                chain_rule_graph, "chain-rule"),
]

"""Chapter 4 — what the backward pass needs from the forward pass, and where gradients add.

On a small generated graph (graph_gradients' templates without activations), the
backward pass multiplies each upstream gradient by a local derivative. For a
product a·b the local derivative with respect to a is b: the backward pass needs
b's forward value, which is why frameworks keep the forward values. For a sum or a
difference it is ±1: nothing is needed. The student names, for three edges, the one
forward value its local derivative needs (or 'none'), and the variable whose
gradient is a sum of terms because it feeds more than one node (or 'none').

Every wrong option is a named misconception: the factor itself instead of the other
one, a product's derivative taken for a constant, the node's own output, a sum
treated as a product, a fork missed.
"""

from __future__ import annotations

import numpy as np

from .expression_graph import Node, leaf, topological
from .graph_gradients import TEMPLATES, definition
from .variant import Answer, Misconception, ProblemType, Reject, Step, Variant, option

# graph_gradients' templates whose every node is a sum, a difference or a product
GRAPHS = ["sum times z", "x used twice", "y used twice", "square as product", "x in both factors", "x times both"]
DEFAULT = GRAPHS
ASKED = 3  # edges asked about
NONE = "none"


def edges_of(order: list[Node]) -> list[tuple[Node, int]]:
    """Each (child, index of the parent) once per distinct parent: f = q·q has one edge back to q."""
    out = []
    for child in order:
        seen = set()
        for i, parent in enumerate(child.parents):
            if id(parent) not in seen:
                seen.add(id(parent))
                out.append((child, i))
    return out


def needed(child: Node, i: int) -> str:
    """The forward value the local derivative ∂child/∂(its i-th parent) needs: the other factor of a product,
    nothing for a sum or a difference."""
    if child.op == "*":
        return child.parents[1 - i].name
    return NONE


def wrong_needs(child: Node, i: int) -> dict[str, tuple[str, str]]:
    """The usual wrong answers for an edge: value -> (name, feedback), never the right one."""
    parent = child.parents[i]
    right = needed(child, i)
    if child.op == "*":
        out = {parent.name: ("the factor itself, not the other one",
                             f"∂({definition(child).split(' = ')[1]})/∂{parent.tex} is the other factor: the value of "
                             f"{right}."),
               NONE: ("a product's derivative taken for a constant",
                      "The local derivative of a product is the other factor, a forward value, not a constant."),
               child.name: ("the node's own output", f"The local derivative needs an input of {child.name}, not "
                                                     f"{child.name} itself: it is the other factor.")}
    else:
        other = child.parents[1 - i].name
        out = {other: ("a sum treated as a product",
                       f"For {definition(child)} the local derivative is {'−1' if child.op == '-' and i == 1 else '1'}, "
                       "a constant: nothing from the forward pass is needed."),
               child.name: ("the node's own output",
                            "The local derivative of a sum or a difference is a constant: it needs no forward value.")}
    out.pop(right, None)
    return out


def backward_needs(rng: np.random.Generator, graphs: list[str] | str = DEFAULT) -> Variant:
    """For three edges of a graph, the forward value each local derivative needs; and the variable that forks."""
    names = [graphs] if isinstance(graphs, str) else list(graphs)
    for n in names or [None]:
        option("backward_needs", "graphs", n, GRAPHS)
    name = names[int(rng.integers(len(names)))]
    tpl = TEMPLATES[name]
    given = tpl.inputs(rng)
    f = tpl.build({k: leaf(k, k, v) for k, v in given.items()})
    order = topological(f)
    edges = edges_of(order)
    products = [e for e in edges if e[0].op == "*"]
    sums = [e for e in edges if e[0].op != "*"]
    if not products or not sums:
        raise Reject("the graph needs a product and a sum")
    first = [products[int(rng.integers(len(products)))], sums[int(rng.integers(len(sums)))]]
    rest = [e for e in edges if e not in first]
    asked = first + [rest[int(rng.integers(len(rest)))]]
    asked = [asked[i] for i in rng.permutation(ASKED)]
    right = [needed(c, i) for c, i in asked]
    uses: dict[str, int] = {}
    for child in order:
        for parent in child.parents:
            uses[parent.name] = uses.get(parent.name, 0) + 1
    forks = [n for n, k in uses.items() if k > 1]
    if len(forks) > 1:
        raise Reject("more than one variable forks")
    fork = forks[0] if forks else NONE
    labels = [n.name for n in order] + [NONE]
    labels = [labels[i] for i in rng.permutation(len(labels))]

    defs = ", ".join(f"${definition(n)}$" for n in order if n.parents)
    listed = "\n".join(f"{k + 1}. the edge from ${c.tex}$ back to ${c.parents[i].tex}$ (through ${definition(c)}$)"
                       for k, (c, i) in enumerate(asked))
    statement = (
        f"The graph computes $f = {tpl.formula}$ through {defs}. The backward pass sends the gradient back along "
        "each edge, multiplying it by the edge's local derivative.\n\n"
        "`needs`: for each edge below, in order, the one value from the forward pass its local derivative needs "
        f"(a node or input name), or `'{NONE}'` if it is a constant.\n\n{listed}\n\n"
        "`fork`: the variable that feeds more than one node, or feeds one node twice, so that its gradient is a sum "
        f"of chain-rule terms (`'{NONE}'` if there is none)."
    )
    rows = [["edge", "local derivative", "needs"]]
    for c, i in asked:
        local = c.parents[1 - i].tex if c.op == "*" else ("-1" if c.op == "-" and i == 1 else "1")
        rows.append([f"${c.tex} \\to {c.parents[i].tex}$", f"${local}$", needed(c, i)])
    steps = [
        Step("A product's local derivative with respect to one factor is the other factor, a forward value the "
             "backward pass must keep; a sum's or a difference's is ±1 and needs nothing.", table=rows),
        Step(f"Count the uses of each variable: {', '.join(f'{n} {k}' for n, k in uses.items())}. "
             + (f"Only {fork} is used twice, so its gradient is the sum of one chain-rule term per use."
                if fork != NONE else "Every variable is used once: no gradient is a sum.")),
    ]
    mis = []
    for k, (c, i) in enumerate(asked):
        for value, (mname, feedback) in wrong_needs(c, i).items():
            mis.append(Misconception(mname, "needs", right[:k] + [value] + right[k + 1:], feedback))
    if fork != NONE:
        mis.append(Misconception("fork missed", "fork", NONE,
                                 f"{fork} is used {uses[fork]} times: its gradient adds one term per use."))
    mis += [Misconception("a variable used once", "fork", n,
                          f"{n} feeds a single node once: its gradient is one chain-rule term.")
            for n in uses if n != fork]
    mis.append(Misconception("the output taken for a fork", "fork", f.name, "f is the output: it feeds no node at all."))
    return Variant(
        problem="backward_needs",
        title="What the backward pass needs",
        statement=statement,
        params={"template": name, "formula": tpl.formula,
                "nodes": [{"name": n.name, "op": n.op, "parents": [p.name for p in n.parents]} for n in order if n.parents],
                "edges": [[c.name, c.parents[i].name] for c, i in asked]},
        answers=[
            Answer("needs", "the forward value each edge's local derivative needs, in order", right, kind="choice",
                   choices=labels),
            Answer("fork", "the variable whose gradient is a sum", fork, kind="choice", choices=labels),
        ],
        steps=steps,
        misconceptions=mis,
        given=[],
        style="integers",
    )


PROBLEMS = [
    ProblemType("backward_needs", 4, "hand", "What the backward pass needs from the forward pass, and where gradients add",
                backward_needs, "chain-rule", concept=True),
]

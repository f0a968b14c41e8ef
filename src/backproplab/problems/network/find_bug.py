"""Chapter 4 — find the bug in a worked backward pass.

The student sees a small network, its (correct) forward pass, and a backward
pass written out line by line in which one line has a planted error: scaled,
sign-flipped, transposed, or computed with the wrong activation derivative.
Every line after it is computed correctly *from the lines above it*, as a real
bug would propagate, so the student must check each line against the ones
before it and name the first wrong one, and the kind of error.

The kinds are told apart by what the wrong line looks like next to the right
one (MEANING), so they cannot overlap: a variant whose planted error also has
the look of another kind (a wrong ReLU derivative with one active unit is just
a uniform scaling) is drawn again. The assignment chooses the network's
structure (`sizes`, `hidden`, `batch`); the seed its numbers, the line and the kind.
"""

from __future__ import annotations

import numpy as np

from ...tolerance import EXACT, Tolerance, flat, shape
from ..exact import pick
from ..expression_graph import Gradients, as_sympy, backward, key_str
from ..qa import same_within
from ..variant import Answer, Misconception, ProblemType, Reject, Step, Variant
from .mistakes import prime_on_z
from .model import Graph, backward_answers, drawn_graph, forward_answers, given_numbers
from .wording import describe, forward_text, matrix_tex

# A planted error must stand out in the 4 decimals shown, not only in the 10th.
VISIBLE = Tolerance(rel=0.05, abs=0.01, why="visible in the numbers shown")
KINDS = ["scaled", "sign flipped", "transposed", "wrong activation derivative"]
MEANING = {
    "scaled": "every entry multiplied by the same positive factor other than 1",
    "sign flipped": "every entry multiplied by −1",
    "transposed": "the right matrix with its rows and columns swapped",
    "wrong activation derivative": "a hidden layer's δ whose entries are off by different factors (not all by the "
                                   "same one): the activation's derivative f′(z) was computed wrongly",
}
# What the student types for each kind: one word, shown next to its meaning in the statement.
LABEL = {"scaled": "scaled", "sign flipped": "sign", "transposed": "transposed", "wrong activation derivative": "derivative"}
SAME = 1e-9  # relative: two numbers of a line are equal (the key's floats carry ~1e-15)


def lines(L: int) -> list[str]:
    """The lines of a backward pass from the output layer down."""
    return [name for l in range(L, 0, -1) for name in (f"delta{l}", f"dW{l}", f"db{l}")]


def formula(name: str, L: int, batch: int) -> str:
    """The matrix formula a line claims to compute."""
    l = int(name.lstrip("deltadWb"))
    over_batch = r"\sum_n " if batch > 1 else ""
    if name.startswith("delta"):
        if l == L:
            return r"(\hat y - y)" + (f"/{batch}" if batch > 1 else "")
        return rf"(W^{{({l + 1})}})^\top \delta^{{({l + 1})}} \odot f'(z^{{({l})}})"
    if name.startswith("dW"):
        return rf"{over_batch}\delta^{{({l})}} (a^{{({l - 1})}})^\top"
    return rf"{over_batch}\delta^{{({l})}}"


def planted(g: Graph, grads: Gradients, line: str, kind: str) -> dict[str, object]:
    """The backward pass with `kind` of error at `line`; later lines computed from the wrong one."""
    l = int(line.lstrip("deltadWb"))
    tag = {"delta": f"z{l}", "dW": f"W{l}", "db": f"b{l}"}[line.rstrip("0123456789")]
    if kind == "transposed":
        shown = backward_answers(g, grads)
        shown[line] = [list(col) for col in zip(*shown[line])]
        return shown
    if kind == "wrong activation derivative":
        act = f"act{l}"
        wrong = backward(g.loss, local=lambda n: _wrong_derivative(n) if n.tag == act else n.local)
    else:
        factor = 2 if kind == "scaled" else -1
        wrong = backward(g.loss, tamper=lambda n, v: factor * v if n.tag == tag else v)
    return backward_answers(g, wrong)


def _wrong_derivative(node) -> tuple:
    """The usual wrong activation derivative: σ′/tanh′ fed z, or ReLU′ replaced by ReLU itself."""
    return (node.value,) if node.op == "relu" else prime_on_z(node)


def markdown_table(rows: list[list[str]]) -> str:
    """A table (header first) as markdown."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def options(g: Graph) -> list[tuple[str, str]]:
    """Every (line, kind of error) that makes sense for this network."""
    net, L = g.net, g.net.layers
    found = [(line, kind) for line in lines(L) for kind in ("scaled", "sign flipped")]
    found += [(f"dW{l}", "transposed") for l in range(1, L + 1) if net.sizes[l] == net.sizes[l - 1]]
    if net.hidden != "identity":
        found += [(f"delta{l}", "wrong activation derivative") for l in range(1, L)]
    return found


def _equal(a: float, b: float) -> bool:
    return abs(a - b) <= SAME * max(1.0, abs(a), abs(b))


def _ratio(wrong: list[float], right: list[float]) -> float | None:
    """The one factor c with wrong = c · right entry by entry, or None if there is none."""
    ratios = {w / r for w, r in zip(wrong, right) if r != 0}
    if not ratios or any(r == 0 and w != 0 for w, r in zip(wrong, right)):
        return None
    c = ratios.pop()
    return c if all(_equal(w, c * r) for w, r in zip(wrong, right)) else None


def kinds_that_fit(line: str, wrong, right, hidden_delta: bool) -> set[str]:
    """Every kind of error whose look (MEANING) the shown line has next to the right one."""
    if shape(wrong) == shape(right) and all(_equal(w, r) for w, r in zip(map(float, flat(wrong)), map(float, flat(right)))):
        return set()
    found = set()
    if shape(wrong) == shape(right):
        c = _ratio([float(x) for x in flat(wrong)], [float(x) for x in flat(right)])
        if c is not None and _equal(c, -1):
            found.add("sign flipped")
        elif c is not None and c > 0 and not _equal(c, 1):
            found.add("scaled")
        elif c is None and hidden_delta:
            found.add("wrong activation derivative")
    if len(shape(right)) == 2 and shape(wrong) == shape(right)[::-1]:
        turned = [list(col) for col in zip(*right)]
        if all(_equal(float(w), float(t)) for w, t in zip(flat(wrong), flat(turned))):
            found.add("transposed")
    return found


def backprop_find_the_bug(rng: np.random.Generator, sizes=(2, 2, 1), hidden: str = "sigmoid", batch: int = 1) -> Variant:
    """Name the first wrong line of a worked backward pass, and the kind of error in it."""
    g = drawn_graph(rng, "backprop_find_the_bug", sizes, hidden, "mse", batch)
    net = g.net
    grads = backward(g.loss)
    right = backward_answers(g, grads)
    line, kind = pick(rng, options(g))
    shown = planted(g, grads, line, kind)
    if same_within(shown[line], right[line], VISIBLE):
        raise Reject("the planted error is too small to see in 4 decimals")
    hidden_delta = line.startswith("delta") and int(line[len("delta"):]) < net.layers
    fits = kinds_that_fit(line, shown[line], right[line], hidden_delta)
    if fits != {kind}:
        raise Reject(f"the planted error ({kind}) looks like {sorted(fits)}")
    names = lines(net.layers)
    later = [n for n in names[names.index(line) + 1:] if not same_within(shown[n], right[n], EXACT)]
    table = [["line", "formula", "value"]] + [
        [f"`{n}`", f"${formula(n, net.layers, net.batch)}$", f"${matrix_tex(shown[n])}$"] for n in names]
    statement = (
        describe(net) + f"\n\nThe forward pass (correct) gives {forward_text(forward_answers(g))}.\n\n"
        "A student wrote this backward pass:\n\n" + markdown_table(table) + "\n\n"
        "Exactly one line has an error; every line after it was computed "
        "correctly from the lines above it. Which line is the first wrong one (`wrong_line`), and what kind "
        "of error is it (`error_kind`)? The kinds: " + "; ".join(f"`'{LABEL[k]}'`: {MEANING[k]}" for k in KINDS) + "."
    )
    verdict = {n: "right" for n in names} | {n: "follows from the wrong line" for n in later}
    verdict[line] = f"**wrong**: {kind}"
    solution = [["line", "the student's value", "correct value", "verdict"]] + [
        [f"`{n}`", f"${matrix_tex(shown[n])}$", f"${matrix_tex(right[n])}$", verdict[n]] for n in names]
    mis = [Misconception("downstream of the bug", "wrong_line", n,
                         "That line follows correctly from the lines above it; the error entered earlier.")
           for n in later]
    mis += [Misconception("wrong kind of error", "error_kind", LABEL[k],
                          f"'{k}' would mean {MEANING[k]}; compare the line entry by entry with what the lines "
                          "above give.") for k in KINDS if k != kind]
    return Variant(
        problem="backprop_find_the_bug",
        title="Find the bug in a backward pass",
        statement=statement,
        params={"network": net.to_json(), "planted": {"line": line, "kind": kind},
                "shown": {n: key_str(shown[n]) for n in names}},
        answers=[
            Answer("wrong_line", "the first wrong line", line, kind="choice", choices=names),
            Answer("error_kind", "the kind of error", LABEL[kind], kind="choice", choices=[LABEL[k] for k in KINDS]),
        ],
        steps=[Step("Recompute each line from the lines above it; the first that disagrees is the bug:",
                    table=solution)],
        misconceptions=mis,
        # the network, and every number of the forward and backward pass the student checks
        given=given_numbers(net) + as_sympy([x for v in [*forward_answers(g).values(), *shown.values()] for x in flat(v)]),
        style="decimals" if net.irrational else "short decimals",
    )


PROBLEMS = [
    ProblemType("backprop_find_the_bug", 4, "hand", "Find the planted error in a worked backward pass",
                backprop_find_the_bug, "chain-rule", concept=True),
]

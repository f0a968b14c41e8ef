"""Chapters 3–4 — a tiny network traced by hand: forward pass, backward pass, find the bug.

A `Network` (sizes such as 2-2-1, weights, biases, hidden activation, loss, a
batch of inputs and targets, a learning rate) is built into a `netgraph` graph
with one node per scalar: weights, biases, every z and a of every sample, and the
loss. One backward walk over that graph gives δ of every layer, ∂L/∂W, ∂L/∂b and
the chain-rule table of the worked solution; each misconception is the same walk
with one thing done wrong (see `BACKWARD_MISTAKES`).

Conventions (stated in every problem): z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾ with a⁽⁰⁾ = x and
W⁽ˡ⁾ of shape (units of layer l) × (units of layer l − 1); the loss is a mean over
the N samples of the batch, and δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾ of that mean loss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import sympy as sp

from .exact import nonzero_int, integer, pick, short_decimal, to_str
from .netgraph import (
    ONE, PLACES, TRANSCENDENTAL, ZERO, Gradients, Node, activation, affine, backward, chain_table,
    cell, exp, graded_answer, key_str, leaf, log, misconceptions_from, number_style, show, values,
)
from .variant import Answer, Misconception, ProblemType, Reject, Step, Variant

Matrix = list[list[sp.Expr]]

# Each loss fixes the output activation it is used with.
OUTPUT = {"mse": "identity", "bce": "sigmoid", "ce": "softmax"}
LOSS_TEX = {
    "mse": r"L = \frac{1}{N}\sum_{n=1}^{N} \tfrac12 \lVert \hat y_n - y_n \rVert^2",
    "bce": r"L = -\frac{1}{N}\sum_{n=1}^{N} \left[y_n \ln \hat y_n + (1 - y_n)\ln(1 - \hat y_n)\right]",
    "ce": r"L = -\frac{1}{N}\sum_{n=1}^{N} \ln \hat y_{n, c_n}",
}
ACT_TEX = {"identity": "the identity", "relu": r"$\mathrm{ReLU}$", "sigmoid": r"the sigmoid $\sigma$",
           "tanh": r"$\tanh$", "softmax": "softmax"}
SATURATION = {"sigmoid": 3, "tanh": 2}  # |z| above this counts as saturated


@dataclass(frozen=True)
class Network:
    """Everything that defines the problem; `Y` rows are one-hot for the "ce" loss."""

    sizes: tuple[int, ...]
    W: tuple[Matrix, ...]  # W[l-1][j][k]: layer l, unit j, input k
    b: tuple[list[sp.Expr], ...]
    hidden: str
    loss: str
    X: Matrix  # one row per sample
    Y: Matrix
    lr: sp.Expr

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def batch(self) -> int:
        return len(self.X)

    @property
    def irrational(self) -> bool:
        """Does a sigmoid, tanh, softmax or log make the values irrational?"""
        return self.hidden in TRANSCENDENTAL or self.loss != "mse"

    def num(self, x):
        """A number as the graph computes with it: exact, or a float in an irrational network."""
        return float(x) if self.irrational else x

    def act(self, layer: int) -> str:
        """The activation of layer `layer` (1-based)."""
        return OUTPUT[self.loss] if layer == self.layers else self.hidden

    def to_json(self) -> dict:
        """The network in the documented key schema (docs/key-schema-network.md)."""
        return {
            "sizes": list(self.sizes), "hidden_activation": self.hidden, "output_activation": OUTPUT[self.loss],
            "loss": self.loss, "W": to_str([list(w) for w in self.W]), "b": to_str(list(self.b)),
            "X": to_str(self.X), "Y": to_str(self.Y), "learning_rate": to_str(self.lr),
        }


@dataclass
class Graph:
    """The graph of a network: node lists indexed [layer][sample][unit] (a[0] holds the inputs)."""

    net: Network
    W: list[list[list[Node]]]
    b: list[list[Node]]
    z: list[list[list[Node]]]  # z[l-1] for layer l
    a: list[list[list[Node]]]  # a[0] = x, a[l] for layer l; a[L] = ŷ
    loss: Node


def _sample(n: int, batch: int) -> str:
    return f"{n + 1}," if batch > 1 else ""


def build(net: Network) -> Graph:
    """The expression graph of `net`: forward values computed as the nodes are made."""
    W = [[[leaf(f"W{l}_{j + 1}{k + 1}", f"W^{{({l})}}_{{{j + 1}{k + 1}}}", net.num(w), tag=f"W{l}") for k, w in enumerate(row)]
          for j, row in enumerate(net.W[l - 1])] for l in range(1, net.layers + 1)]
    b = [[leaf(f"b{l}_{j + 1}", f"b^{{({l})}}_{{{j + 1}}}", net.num(v), tag=f"b{l}") for j, v in enumerate(net.b[l - 1])]
         for l in range(1, net.layers + 1)]
    a = [[[leaf(f"x{n}_{i}", f"x_{{{_sample(n, net.batch)}{i + 1}}}", net.num(v)) for i, v in enumerate(row)]
          for n, row in enumerate(net.X)]]
    z = []
    for l in range(1, net.layers + 1):
        zl, al = [], []
        for n, prev in enumerate(a[-1]):
            s = _sample(n, net.batch)
            zs = [affine(f"z{l}_{n}_{j}", f"z^{{({l})}}_{{{s}{j + 1}}}", W[l - 1][j], prev, b[l - 1][j], tag=f"z{l}")
                  for j in range(net.sizes[l])]
            tex = r"\hat y" if l == net.layers else f"a^{{({l})}}"
            if net.act(l) == "softmax":
                acts = softmax([f"{tex}_{{{s}{j + 1}}}" for j in range(len(zs))], zs)
            else:
                acts = [activation(f"a{l}_{n}_{j}", f"{tex}_{{{s}{j + 1}}}", net.act(l), zj, tag=f"act{l}")
                        for j, zj in enumerate(zs)]
            zl.append(zs)
            al.append(acts)
        z.append(zl)
        a.append(al)
    return Graph(net, W, b, z, a, loss_node(net, a[-1]))


def softmax(texs: list[str], zs: list[Node]) -> list[Node]:
    """ŷ_k = e^{z_k} / Σ_j e^{z_j}, one node per class; ∂ŷ_k/∂z_j = ŷ_k(𝟙[k = j] − ŷ_j)."""
    e = [exp(zj.value) for zj in zs]
    p = [ek / sum(e) for ek in e]
    nodes = []
    for k, tex in enumerate(texs):
        local = tuple(p[k] * ((1 if j == k else 0) - p[j]) for j in range(len(zs)))
        local_tex = tuple(f"{tex}(1 - {tex})" if j == k else f"-{tex} {texs[j]}" for j in range(len(zs)))
        nodes.append(Node(f"softmax_{k}", tex, p[k], "softmax", tuple(zs), local, local_tex, "act_out"))
    return nodes


def loss_node(net: Network, yhat: list[list[Node]]) -> Node:
    """The mean loss over the batch, one node whose parents are the predictions it uses."""
    N = net.batch
    per_n = f"/{N}" if N > 1 else ""
    over_n = rf"{N}\," if N > 1 else ""
    parents, local, local_tex, total = [], [], [], ZERO
    for n, (row, target) in enumerate(zip(yhat, net.Y)):
        for node, y in zip(row, target):
            p, y = node.value, net.num(y)
            if net.loss == "mse":
                total += (p - y) ** 2 / 2
                dl, dl_tex = (p - y) / N, rf"({node.tex} - {sp.latex(y)}){per_n}"
            elif net.loss == "bce":
                total -= y * log(p) + (1 - y) * log(1 - p)
                dl, dl_tex = (p - y) / (N * p * (1 - p)), rf"\frac{{{node.tex} - {sp.latex(y)}}}{{{over_n}{node.tex}(1 - {node.tex})}}"
            elif y == 1:  # softmax cross-entropy: only the target class enters the loss
                total -= log(p)
                dl, dl_tex = -1 / (N * p), rf"-\frac{{1}}{{{over_n}{node.tex}}}"
            else:
                continue
            parents.append(node)
            local.append(dl)
            local_tex.append(dl_tex)
    return Node("L", "L", total / N, "loss", tuple(parents), tuple(local), tuple(local_tex), "loss", {"N": N})


# --- answers read off the graph ---------------------------------------------------------------

def _rows(per_sample: list[list], batch: int) -> list:
    """One row per sample, or the single row itself when the batch has one sample."""
    return per_sample if batch > 1 else per_sample[0]


def forward_answers(g: Graph) -> dict[str, object]:
    """z⁽ˡ⁾ and a⁽ˡ⁾ of every layer (a of the output is ŷ) and the loss."""
    out: dict[str, object] = {}
    for l in range(1, g.net.layers + 1):
        out[f"z{l}"] = _rows(values(g.z[l - 1]), g.net.batch)
        out["yhat" if l == g.net.layers else f"a{l}"] = _rows(values(g.a[l]), g.net.batch)
    out["loss"] = g.loss.value
    return out


def backward_answers(g: Graph, grads: Gradients, transpose_dW: bool = False) -> dict[str, object]:
    """δ⁽ˡ⁾, ∂L/∂W⁽ˡ⁾ and ∂L/∂b⁽ˡ⁾ from the output layer down, then the parameters after one SGD step."""
    out: dict[str, object] = {}
    for l in range(g.net.layers, 0, -1):
        dW = grads.of(g.W[l - 1])
        out[f"delta{l}"] = _rows(grads.of(g.z[l - 1]), g.net.batch)
        out[f"dW{l}"] = [list(col) for col in zip(*dW)] if transpose_dW else dW
        out[f"db{l}"] = grads.of(g.b[l - 1])
    return out | updates(g, grads)


def updates(g: Graph, grads: Gradients, factor: sp.Expr = 1) -> dict[str, list]:
    """Every W and b after the step θ − factor·η·∂L/∂θ (factor 1 is plain SGD)."""
    eta = g.net.num(factor * g.net.lr)
    out: dict[str, list] = {}
    for l in range(1, g.net.layers + 1):
        out[f"W{l}_new"] = [[w.value - eta * grads[w] for w in row] for row in g.W[l - 1]]
        out[f"b{l}_new"] = [v.value - eta * grads[v] for v in g.b[l - 1]]
    return out


# --- the ways a backward pass goes wrong --------------------------------------------------------

def _with_local(g: Graph, rule: Callable[[Node], tuple | None]) -> Gradients:
    """A backward walk where `rule(node)` replaces a node's local derivatives (None: keep them)."""
    return backward(g.loss, local=lambda node: rule(node) or node.local)


def prime_on_z(node: Node) -> tuple:
    """σ′ as z(1 − z) or tanh′ as 1 − z²: the formula in a, fed the pre-activation z."""
    z = node.extra["z"]
    return (z * (1 - z),) if node.op == "sigmoid" else (1 - z**2,)


def backward_mistakes(g: Graph, grads: Gradients) -> dict[str, tuple[Gradients, str]]:
    """Each named backward-pass mistake that applies to this network: its gradients and feedback."""
    net, L = g.net, g.net.layers
    hidden_tags = {f"act{l}" for l in range(1, L)}
    new_w = {id(w): w.value - net.num(net.lr) * grads[w] for layer in g.W for row in layer for w in row}
    out: dict[str, tuple[Gradients, str]] = {}
    if net.hidden in TRANSCENDENTAL:
        f = "a(1 − a)" if net.hidden == "sigmoid" else "1 − a²"
        out["f' on the pre-activation"] = (
            _with_local(g, lambda n: prime_on_z(n) if n.tag in hidden_tags else None),
            f"The derivative of the activation is {f} with a the activation; you put the pre-activation z into it.")
    if net.hidden != "identity":
        out["delta without f'"] = (
            _with_local(g, lambda n: (ONE,) if n.tag in hidden_tags else None),
            "δ of a hidden layer is (Wᵀδ of the layer above) multiplied elementwise by the activation's "
            "derivative f′(z); you left that factor out.")
    out["one path at a fork"] = (
        backward(g.loss, accumulate=False),
        "A quantity that feeds several others (a hidden unit feeding every output unit, a weight used by "
        "every sample) gets the sum of the gradients from all its uses; you kept only one (= instead of +=).")
    if net.batch > 1:
        out["missing 1/N"] = (
            _with_local(g, lambda n: tuple(x * net.batch for x in n.local) if n.op == "loss" else None),
            "The loss is a mean over the batch, so every gradient carries the factor 1/N; you left it out.")
    if L > 1:
        out["W updated before delta"] = (
            _with_local(g, lambda n: _updated_weights(n, new_w) if n.op == "affine" and n.tag != "z1" else None),
            "δ of a lower layer must use the weights of the layer above as they were in the forward pass; "
            "you updated those weights first and then used the new values.")
    out["sign flipped"] = (
        backward(g.loss, tamper=lambda n, v: -v if n.tag == f"z{L}" else v),
        "At the output δ is ŷ − y (times 1/N), not y − ŷ; the flipped sign carries into every gradient "
        "below it and makes the update step uphill.")
    if net.loss == "ce":
        out["softmax-CE without -y"] = (
            backward(g.loss, tamper=lambda n, v: _softmax_without_target(g, n, v)),
            "For softmax with cross-entropy δ = (ŷ − y)/N: subtract the one-hot target from the probabilities.")
    return out


def _updated_weights(node: Node, new_w: dict[int, sp.Expr]) -> tuple:
    """An affine node's local derivatives with the weights after the SGD step."""
    k = (len(node.parents) - 1) // 2
    weights, inputs = node.parents[:k], node.parents[k:2 * k]
    return (*(x.value for x in inputs), *(new_w[id(w)] for w in weights), ONE)


def _softmax_without_target(g: Graph, node: Node, v: sp.Expr) -> sp.Expr:
    """δ of an output unit taken as ŷ/N, the target forgotten."""
    L = g.net.layers
    for n, row in enumerate(g.z[L - 1]):
        for j, zj in enumerate(row):
            if zj is node:
                return g.a[L][n][j].value / g.net.batch
    return v


def backward_misconceptions(g: Graph, grads: Gradients, right: dict[str, object]) -> list[Misconception]:
    """Every backward mistake for every gradient it changes, the missing transpose, and the update mistakes.

    A gradient mistake also shows in the updated parameters, but only as η times the error,
    often too small to tell apart; the updates get their own mistakes instead.
    """
    gradient_keys = [k for k in right if not k.endswith("_new")]
    mis: list[Misconception] = []
    for name, (wrong, feedback) in backward_mistakes(g, grads).items():
        answers = backward_answers(g, wrong)
        mis += misconceptions_from(name, feedback, right, {k: answers[k] for k in gradient_keys})
    transposed = {k: v for k, v in backward_answers(g, grads, transpose_dW=True).items() if k.startswith("dW")}
    mis += misconceptions_from("missing transpose", "∂L/∂W = δ aᵀ has the shape of W (rows: units of this layer, "
                               "columns: inputs); you wrote its transpose.", right, transposed)
    mis += misconceptions_from("step uphill", "Gradient descent subtracts η times the gradient; you added it.",
                               right, updates(g, grads, -1))
    mis += misconceptions_from("learning rate left out", "The step is η times the gradient; you subtracted the "
                               "whole gradient.", right, updates(g, grads, 1 / g.net.lr))
    return mis


# --- choosing numbers ----------------------------------------------------------------------------

def draw_network(rng: np.random.Generator, sizes: tuple[int, ...], hidden: str, loss: str, batch: int) -> Network:
    """Random weights, biases, inputs and targets suited to the activations and the loss.

    With identity/ReLU and MSE everything stays an integer or a short decimal; with a
    sigmoid, tanh or a log the weights are short decimals kept away from saturation.
    """
    if OUTPUT[loss] == "identity" and hidden not in TRANSCENDENTAL:
        weight = lambda: nonzero_int(rng, -2, 2)  # noqa: E731
        biases = [sp.Integer(k) for k in range(-2, 3)]
    else:  # small enough that tanh (the quickest to saturate) mostly stays in |z| <= 2
        weight = lambda: short_decimal(rng, -0.8, 0.8)  # noqa: E731
        biases = [sp.Rational(k, 10) for k in range(-5, 6)]
    W = tuple([[weight() for _ in range(sizes[l - 1])] for _ in range(sizes[l])] for l in range(1, len(sizes)))
    X = [[integer(rng, -2, 2) for _ in range(sizes[0])] for _ in range(batch)]
    if len({tuple(x) for x in X}) < batch:
        raise Reject("two samples of the batch are the same")
    b = [[pick(rng, biases) for _ in range(sizes[l])] for l in range(1, len(sizes))]
    if hidden == "relu":  # first layer: no ReLU input at exactly 0, and with a batch no unit off throughout
        for j, row in enumerate(W[0]):
            before_bias = [sum(w * x for w, x in zip(row, xs)) for xs in X]
            fine = [c for c in biases if -c not in before_bias and (batch == 1 or c > -max(before_bias))]
            if not fine:
                raise Reject("no bias keeps this ReLU unit alive")
            b[0][j] = pick(rng, fine)
    k = sizes[-1]
    if loss == "mse":
        Y = [[integer(rng, -3, 3) for _ in range(k)] for _ in range(batch)]
    elif loss == "bce":
        Y = [[sp.Integer(int(rng.integers(2))) for _ in range(k)] for _ in range(batch)]
    else:
        Y = [[ONE if j == c else ZERO for j in range(k)] for c in rng.integers(k, size=batch)]
    lr = pick(rng, [sp.Rational(1, 10), sp.Rational(1, 2), sp.Rational(1, 4)])
    return Network(tuple(sizes), W, tuple(b), hidden, loss, X, Y, lr)


MAX_Z = 10  # larger pre-activations make paper arithmetic a chore


def check_activations(g: Graph) -> None:
    """Reject a ReLU input of exactly 0, a saturated sigmoid or tanh, and large numbers."""
    for l in range(1, g.net.layers + 1):
        kind = g.net.act(l)
        for row in g.z[l - 1]:
            for zj in row:
                if abs(zj.value) > MAX_Z:
                    raise Reject("pre-activation too large for paper")
                if kind == "relu" and abs(zj.value) < 1e-9:  # a float network may miss 0 by rounding
                    raise Reject("ReLU input exactly 0")
                if kind in SATURATION and abs(float(zj.value)) > SATURATION[kind] - 1e-9:  # float-safe: |z| = limit too
                    raise Reject(f"saturated {kind}")
        if kind == "relu":
            on = [[zj.value > 0 for zj in row] for row in g.z[l - 1]]
            if all(map(all, on)) or not any(map(any, on)):
                raise Reject("every ReLU on (or off): it might as well not be there")
            if g.net.batch > 1 and not all(map(any, zip(*on))):
                raise Reject("a ReLU unit is off for the whole batch")


SHAPES = [(2, 2, 1), (2, 3, 2), (3, 2, 1), (2, 2, 3)]  # the last for 3-class softmax


def choose(rng: np.random.Generator, sizes, hidden, loss) -> tuple[tuple[int, ...], str, str]:
    """The options, with the unset ones drawn; the loss must suit the output size."""
    sizes = tuple(sizes) if sizes else pick(rng, SHAPES)
    hidden = hidden or pick(rng, ["identity", "relu", "sigmoid", "tanh"])
    if not loss:
        loss = pick(rng, ["mse", "bce"] if sizes[-1] == 1 else ["mse", "ce"])
    if loss == "ce" and sizes[-1] < 2:
        raise ValueError("softmax cross-entropy needs at least 2 output units")
    return sizes, hidden, loss


# --- how the problems read -------------------------------------------------------------------

def matrix_tex(m: list) -> str:
    """A (nested) list as a LaTeX matrix; a flat list as a column vector."""
    rows = m if m and isinstance(m[0], list) else [[x] for x in m]
    return r"\begin{pmatrix}" + r" \\ ".join(" & ".join(show(x) for x in row) for row in rows) + r"\end{pmatrix}"


def describe(net: Network) -> str:
    """The network, its data and the conventions, in markdown."""
    L = net.layers
    params = ", ".join(f"$W^{{({l})}} = {matrix_tex(net.W[l - 1])}$, $b^{{({l})}} = {matrix_tex(net.b[l - 1])}$"
                       for l in range(1, L + 1))
    hidden = ACT_TEX[net.hidden]
    data = "; ".join(f"$x_{{{n + 1}}} = {matrix_tex(x)}$ with target $y_{{{n + 1}}} = {matrix_tex(y)}$"
                     for n, (x, y) in enumerate(zip(net.X, net.Y)))
    if net.batch == 1:
        data = data.replace("_{1}", "")
    text = (
        f"A network with layer sizes {'-'.join(map(str, net.sizes))} computes "
        f"$z^{{(l)}} = W^{{(l)}} a^{{(l-1)}} + b^{{(l)}}$ with $a^{{(0)}} = x$; the hidden layer"
        f"{'s use' if L > 2 else ' uses'} {hidden} and the output $\\hat y = a^{{({L})}}$ uses "
        f"{ACT_TEX[OUTPUT[net.loss]]}. The parameters are {params}.\n\n"
        f"The batch has $N = {net.batch}$ sample{'s' if net.batch > 1 else ''}: {data}. "
        f"The loss is ${LOSS_TEX[net.loss]}$"
    )
    if net.loss == "ce":
        text += " (the targets are one-hot; $c_n$ is the class of sample $n$)"
    return text + "."


def answer_format(net: Network, places_needed: bool) -> str:
    """How to write the answers down."""
    text = ("Write a vector as a list, e.g. `z1 = [1, -2]`, and a matrix as a list of rows, e.g. "
            "`dW1 = [[1, 0], [2, -1]]`.")
    if net.batch > 1:
        text += " For a quantity with one value per sample (z, a, ŷ, δ), write one row per sample."
    if places_needed:
        text += f" Give values that are not exact to {PLACES} decimal places."
    return text


def forward_steps(g: Graph) -> list[Step]:
    """The forward pass as a table: every z, a, ŷ and L with the numbers that make it."""
    rows = [["quantity", "computed as", "value"]]
    for l in range(1, g.net.layers + 1):
        for n in range(g.net.batch):
            for zj, aj in zip(g.z[l - 1][n], g.a[l][n]):
                k = (len(zj.parents) - 1) // 2
                prods = " + ".join(f"({show(w.value)})({show(x.value)})" for w, x in zip(zj.parents[:k], zj.parents[k:2 * k]))
                rows.append([f"${zj.tex}$", f"${prods} + ({show(zj.parents[-1].value)})$", cell(zj.value)])
                if g.net.act(l) == "softmax":
                    how = rf"e^{{{show(zj.value)}}} / \sum_k e^{{z^{{({l})}}_k}}"
                else:
                    how = rf"\mathrm{{{g.net.act(l)}}}({show(zj.value)})"
                rows.append([f"${aj.tex}$", f"${how}$", cell(aj.value)])
    rows.append(["$L$", f"${loss_numbers(g)}$", cell(g.loss.value)])
    return [Step("Forward pass, layer by layer:", table=rows)]


def forward_text(forward: dict[str, object]) -> str:
    """The forward-pass values in LaTeX, e.g. "$z^{(1)} = (...)$, ..., $L = 0.5$"."""
    def symbol(key: str) -> str:
        if key in ("yhat", "loss"):
            return {"yhat": r"\hat y", "loss": "L"}[key]
        return f"{key[0]}^{{({key[1:]})}}"
    return ", ".join(f"${symbol(k)} = {matrix_tex(v) if isinstance(v, list) else show(v)}$" for k, v in forward.items())


def loss_numbers(g: Graph) -> str:
    """The loss with the numbers of this batch put in."""
    terms = []
    for yhat, target in zip(g.a[-1], g.net.Y):
        for p, y in zip((n.value for n in yhat), target):
            if g.net.loss == "mse":
                terms.append(rf"\tfrac12 ({show(p)} - {_signed(y)})^2")
            elif g.net.loss == "bce":
                terms.append(rf"-\ln {show(p if y == 1 else 1 - p)}")
            elif y == 1:
                terms.append(rf"-\ln {show(p)}")
    total = " ".join(t if t.startswith("-") or i == 0 else f"+ {t}" for i, t in enumerate(terms))
    return rf"\frac{{1}}{{{g.net.batch}}}\left({total}\right)" if g.net.batch > 1 else total


def _signed(x) -> str:
    """A number in parentheses when negative, for 'a - (-3)'."""
    return f"({show(x)})" if x < 0 else show(x)


def backward_steps(g: Graph, grads: Gradients) -> list[Step]:
    """The backward pass as chain-rule tables, layer by layer, then the SGD step."""
    net, L = g.net, g.net.layers
    flat = lambda nested: [n for row in nested for n in row]  # noqa: E731
    steps = [Step(r"Output layer: $\partial L / \partial \hat y$, then $\delta^{(%d)} = \partial L / \partial z^{(%d)}$ "
                  r"(for this loss it simplifies to $(\hat y - y)/N$):" % (L, L),
                  table=chain_table(grads, flat(g.a[L]) + flat(g.z[L - 1])))]
    for l in range(L, 0, -1):
        steps.append(Step(f"Layer {l}: $\\partial L/\\partial W^{{({l})}}$ and $\\partial L/\\partial b^{{({l})}}$ "
                          "(a weight is used by every sample, so its gradient sums over the batch):",
                          table=chain_table(grads, flat(g.W[l - 1]) + g.b[l - 1])))
        if l > 1:
            steps.append(Step(f"Back into layer {l - 1}: $\\partial L/\\partial a^{{({l - 1})}}$ sums over every unit "
                              f"it feeds, then $\\delta^{{({l - 1})}}$ multiplies by the activation's derivative:",
                              table=chain_table(grads, flat(g.a[l - 1]) + flat(g.z[l - 2]))))
    update = [["parameter", "$\\theta - \\eta\\, \\partial L/\\partial\\theta$", "new value"]]
    for l in range(1, L + 1):
        for p in flat(g.W[l - 1]) + g.b[l - 1]:
            update.append([f"${p.tex}$", f"${show(p.value)} - {show(net.lr)} \\cdot ({show(grads[p])})$",
                           cell(p.value - net.num(net.lr) * grads[p])])
    steps.append(Step(f"One SGD step with $\\eta = {show(net.lr)}$ (all gradients are computed before any "
                      "parameter changes):", table=update))
    return steps


LABELS = {
    "z": "the pre-activations $z^{{({l})}}$", "a": "the activations $a^{{({l})}}$",
    "delta": r"$\delta^{{({l})}} = \partial L / \partial z^{{({l})}}$",
    "dW": r"$\partial L / \partial W^{{({l})}}$", "db": r"$\partial L / \partial b^{{({l})}}$",
    "W": r"$W^{{({l})}}$ after the step", "b": r"$b^{{({l})}}$ after the step",
    "yhat": r"the output $\hat y$", "loss": "the loss $L$",
}


def label(name: str) -> str:
    """The label of an answer from its name: 'dW2' -> '∂L/∂W⁽²⁾', 'b1_new' -> 'b⁽¹⁾ after the step'."""
    m = re.fullmatch(r"([a-zA-Z]+?)(\d*)(?:_new)?", name)
    return LABELS[m.group(1)].format(l=m.group(2)) if m and m.group(1) in LABELS else name


def _answers(right: dict[str, object], gradient: bool) -> list[Answer]:
    # A gradient that is zero everywhere (every ReLU dead, a perfect prediction) teaches nothing.
    return [graded_answer(k, label(k), v, nonzero=gradient and k.startswith(("delta", "dW", "db")))
            for k, v in right.items()]


FORWARD_MISTAKES = {
    "bias forgotten": "z = W a + b: you left out the bias.",
    "activation skipped": "Each hidden layer applies its activation to z before the next layer uses it.",
    "W transposed": "z = W a multiplies each row of W (one unit's weights) with a; you used the columns.",
    "MSE without 1/2": "This loss has the factor ½ in front of the squared error.",
    "missing 1/N": "The loss is a mean over the batch: divide the sum by N.",
}


def forward_misconceptions(net: Network, right: dict[str, object]) -> list[Misconception]:
    """Forward-pass mistakes, each a forward pass of a changed network."""
    changed: dict[str, dict[str, object]] = {}
    changed["bias forgotten"] = forward_answers(build(replace(net, b=tuple([ZERO] * len(b) for b in net.b))))
    if net.hidden != "identity":
        changed["activation skipped"] = forward_answers(build(replace(net, hidden="identity")))
    if net.sizes[0] == net.sizes[1]:
        W1t = [list(col) for col in zip(*net.W[0])]
        changed["W transposed"] = forward_answers(build(replace(net, W=(W1t, *net.W[1:]))))
    if net.loss == "mse" and net.batch != 2:  # with N = 2 this would coincide with the missing 1/N
        changed["MSE without 1/2"] = {"loss": 2 * right["loss"]}
    if net.batch > 1:
        changed["missing 1/N"] = {"loss": net.batch * right["loss"]}
    mis: list[Misconception] = []
    for name, wrong in changed.items():
        mis += misconceptions_from(name, FORWARD_MISTAKES[name], right, wrong)
    return mis


def drawn_graph(rng: np.random.Generator, sizes, hidden, loss, batch: int) -> Graph:
    """A random network for these options (unset ones drawn), built, with its activations checked."""
    sizes, hidden, loss = choose(rng, sizes, hidden, loss)
    g = build(draw_network(rng, sizes, hidden, loss, batch))
    check_activations(g)
    return g


def network_forward(rng: np.random.Generator, sizes=None, hidden=None, loss=None, batch: int = 1) -> Variant:
    """Every z, a, ŷ and L of a small network on a batch of `batch` samples."""
    g = drawn_graph(rng, sizes, hidden, loss, batch)
    net = g.net
    right = forward_answers(g)
    style = number_style(list(right.values()), given_numbers(net))
    statement = (describe(net) + "\n\nCompute the forward pass: "
                 + ", ".join(label(k) for k in right) + ".\n\n" + answer_format(net, style == "decimals"))
    return Variant(
        problem="network_forward", title="Forward pass of a small network", statement=statement,
        params={"network": net.to_json(), "claims": {"values": claims_json(right)}},
        answers=_answers(right, gradient=False), steps=forward_steps(g),
        misconceptions=forward_misconceptions(net, right), given=given_numbers(net), style=style,
    )


def network_backward(rng: np.random.Generator, sizes=None, hidden=None, loss=None, batch: int = 2) -> Variant:
    """δ of every layer, ∂L/∂W and ∂L/∂b of every parameter, and the parameters after one SGD step."""
    g = drawn_graph(rng, sizes, hidden, loss, batch)
    net = g.net
    forward = forward_answers(g)
    grads = backward(g.loss)
    right = backward_answers(g, grads)
    style = number_style(list(right.values()) + list(forward.values()), given_numbers(net))
    statement = (
        describe(net) + f" The learning rate is $\\eta = {show(net.lr)}$.\n\n"
        f"The forward pass gives {forward_text(forward)}.\n\n"
        "Compute the backward pass: " + ", ".join(label(k) for k in right if "_new" not in k)
        + "; then the parameters after one gradient-descent step $\\theta \\leftarrow \\theta - \\eta\\,"
        "\\partial L/\\partial\\theta$.\n\n" + answer_format(net, style == "decimals")
    )
    return Variant(
        problem="network_backward", title="Backpropagation through a small network", statement=statement,
        params={"network": net.to_json(), "claims": {"values": claims_json(forward), "gradients": claims_json(right)}},
        answers=_answers(right, gradient=True), steps=forward_steps(g) + backward_steps(g, grads),
        misconceptions=backward_misconceptions(g, grads, right), given=given_numbers(net), style=style,
    )


def claims_json(answers: dict[str, object]) -> dict[str, object]:
    """Claimed values as strings: exact ('3/4') or a float's round-trip repr."""
    return {k: key_str(v) for k, v in answers.items()}


def given_numbers(net: Network) -> list[sp.Expr]:
    """Every number the student is shown."""
    nums = [x for m in net.W for row in m for x in row] + [x for v in net.b for x in v]
    return nums + [x for row in net.X + net.Y for x in row] + [net.lr]


PROBLEMS = [
    ProblemType("network_forward", 3, "hand", "Forward pass of a small network", network_forward),
    ProblemType("network_backward", 4, "hand", "Backward pass and one SGD step of a small network", network_backward),
]

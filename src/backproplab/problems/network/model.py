"""The network of chapters 3–4 problems: its numbers, its graph, and the answers read off it.

A `Network` (sizes such as 2-2-1, weights, biases, hidden activation, loss, a
batch of inputs and targets, a learning rate) is built into an expression graph
(../expression_graph.py) with one node per scalar: weights, biases, every z and a
of every sample, and the loss. One backward walk over that graph gives δ of every
layer, ∂L/∂W and ∂L/∂b; the worked tables (wording.py) and the misconceptions
(mistakes.py) come from the same graph.

Conventions (stated in every problem): z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾ with a⁽⁰⁾ = x and
W⁽ˡ⁾ of shape (units of layer l) × (units of layer l − 1); the loss is a mean over
the N samples of the batch, and δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾ of that mean loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..exact import integer, nonzero_int, pick, short_decimal, to_str
from ...derivation import add, mul, ref
from ..expression_graph import (
    ONE, TRANSCENDENTAL, ZERO, Gradients, Node, activation, affine, exp, gradient_exprs, key_str, leaf, log, show,
    value_expr, values,
)
from ..variant import OptionError, Reject, option

Matrix = list[list[sp.Expr]]

# Each loss fixes the output activation it is used with.
OUTPUT = {"mse": "identity", "bce": "sigmoid", "ce": "softmax"}
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
        """The network in the documented key schema (docs/key-schema.md)."""
        out = {
            "sizes": list(self.sizes), "hidden_activation": self.hidden, "output_activation": OUTPUT[self.loss],
            "loss": self.loss, "W": to_str([list(w) for w in self.W]), "b": to_str(list(self.b)),
            "X": to_str(self.X), "Y": to_str(self.Y), "eta": to_str(self.lr),
        }
        if self.loss == "mse":  # LOSS_TEX: (1/N) Σ ½‖ŷ − y‖²
            out["mse_convention"] = "half-mean"
        return out


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
    for node in nodes:
        node.extra["softmax"] = nodes  # each class's probability enters every other's derivative
    return nodes


def loss_node(net: Network, yhat: list[list[Node]]) -> Node:
    """The mean loss over the batch, one node whose parents are the predictions it uses."""
    N = net.batch
    per_n = f"/{N}" if N > 1 else ""
    over_n = rf"{N}\," if N > 1 else ""
    parents, local, local_tex, total, targets = [], [], [], ZERO, []
    for n, (row, target) in enumerate(zip(yhat, net.Y)):
        for node, y in zip(row, target):
            p, y = node.value, net.num(y)
            if net.loss == "mse":
                total += (p - y) ** 2 / 2
                dl, dl_tex = (p - y) / N, rf"({node.tex} {'+' if y < 0 else '-'} {show(abs(y))}){per_n}"
            elif net.loss == "bce":
                total -= y * log(p) + (1 - y) * log(1 - p)
                dl, dl_tex = (p - y) / (N * p * (1 - p)), rf"\frac{{{node.tex} - {show(y)}}}{{{over_n}{node.tex}(1 - {node.tex})}}"
            elif y == 1:  # softmax cross-entropy: only the target class enters the loss
                total -= log(p)
                dl, dl_tex = -1 / (N * p), rf"-\frac{{1}}{{{over_n}{node.tex}}}"
            else:
                continue
            parents.append(node)
            local.append(dl)
            local_tex.append(dl_tex)
            targets.append(y)
    return Node("L", "L", total / N, "loss", tuple(parents), tuple(local), tuple(local_tex), "loss",
                {"N": N, "kind": net.loss, "targets": targets})


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


def _index(n: int, j: int, batch: int) -> tuple[int, ...]:
    """Where sample n, unit j sits in a per-sample answer (rows per sample, or one row for one sample)."""
    return (n, j) if batch > 1 else (j,)


def forward_follows(g: Graph) -> dict[str, object]:
    """How every forward answer follows from the answers before it: a from z, the next z from a, ŷ, L."""
    net, refer = g.net, {}
    for l in range(1, net.layers + 1):
        a_name = "yhat" if l == net.layers else f"a{l}"
        for n in range(net.batch):
            for j, (zj, aj) in enumerate(zip(g.z[l - 1][n], g.a[l][n])):
                refer[id(zj)] = ref(f"z{l}", *_index(n, j, net.batch))
                refer[id(aj)] = ref(a_name, *_index(n, j, net.batch))
    value_ref = lambda node: refer.get(id(node))  # noqa: E731
    memo: dict = {}
    out: dict[str, object] = {}
    for l in range(1, net.layers + 1):
        out[f"z{l}"] = _rows([[value_expr(z, value_ref, memo) for z in row] for row in g.z[l - 1]], net.batch)
        a_name = "yhat" if l == net.layers else f"a{l}"
        out[a_name] = _rows([[value_expr(a, value_ref, memo) for a in row] for row in g.a[l]], net.batch)
    out["loss"] = value_expr(g.loss, value_ref, memo)
    return out


def backward_follows(g: Graph) -> dict[str, object]:
    """How every backward answer follows from those before it: δ of a layer from δ above, ∂L/∂W and
    ∂L/∂b from δ, each new parameter from its gradient. Forward values are given (numbers)."""
    net, refer = g.net, {}
    for l in range(1, net.layers + 1):
        for n in range(net.batch):
            for j, zj in enumerate(g.z[l - 1][n]):
                refer[id(zj)] = ref(f"delta{l}", *_index(n, j, net.batch))
        for j, row in enumerate(g.W[l - 1]):
            for k, w in enumerate(row):
                refer[id(w)] = ref(f"dW{l}", j, k)
        for j, b in enumerate(g.b[l - 1]):
            refer[id(b)] = ref(f"db{l}", j)
    exprs = gradient_exprs(g.loss, lambda node: None, lambda node: refer.get(id(node)))
    grad = lambda nested: [grad(x) if isinstance(x, list) else exprs.get(id(x), 0) for x in nested]  # noqa: E731
    out: dict[str, object] = {}
    for l in range(net.layers, 0, -1):
        out[f"delta{l}"] = _rows(grad(g.z[l - 1]), net.batch)
        out[f"dW{l}"] = grad(g.W[l - 1])
        out[f"db{l}"] = grad(g.b[l - 1])
    eta = float(net.lr)
    for l in range(1, net.layers + 1):
        out[f"W{l}_new"] = [[add(float(w.value), mul(-eta, ref(f"dW{l}", j, k))) for k, w in enumerate(row)]
                            for j, row in enumerate(g.W[l - 1])]
        out[f"b{l}_new"] = [add(float(b.value), mul(-eta, ref(f"db{l}", j))) for j, b in enumerate(g.b[l - 1])]
    return out


def updates(g: Graph, grads: Gradients, factor: sp.Expr = 1) -> dict[str, list]:
    """Every W and b after the step θ − factor·η·∂L/∂θ (factor 1 is plain SGD)."""
    eta = g.net.num(factor * g.net.lr)
    out: dict[str, list] = {}
    for l in range(1, g.net.layers + 1):
        out[f"W{l}_new"] = [[w.value - eta * grads[w] for w in row] for row in g.W[l - 1]]
        out[f"b{l}_new"] = [v.value - eta * grads[v] for v in g.b[l - 1]]
    return out


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


SHAPES = [(2, 2, 1), (2, 3, 2), (3, 2, 1), (2, 2, 3)]  # suggested sizes; the last for 3-class softmax
HIDDEN = ("identity", "relu", "sigmoid", "tanh")
MAX_UNITS = 4  # per layer: more is no longer a hand problem


def choose(problem: str, sizes, hidden: str, loss: str) -> tuple[tuple[int, ...], str, str]:
    """The structure the assignment chose, checked: the loss must suit the output size."""
    sizes = tuple(int(n) for n in sizes)
    if len(sizes) < 2 or not all(1 <= n <= MAX_UNITS for n in sizes):
        raise OptionError(f"{problem}: option sizes = {list(sizes)} needs at least 2 layers of 1 to {MAX_UNITS} units")
    option(problem, "hidden", hidden, HIDDEN)
    option(problem, "loss", loss, OUTPUT)
    if loss == "ce" and sizes[-1] < 2:
        raise OptionError(f"{problem}: softmax cross-entropy (loss = 'ce') needs at least 2 output units")
    if loss == "bce" and sizes[-1] != 1:
        raise OptionError(f"{problem}: binary cross-entropy (loss = 'bce') has one output unit")
    return sizes, hidden, loss


def drawn_graph(rng: np.random.Generator, problem: str, sizes, hidden: str, loss: str, batch: int) -> Graph:
    """A random network of the chosen structure, built, with its activations checked."""
    sizes, hidden, loss = choose(problem, sizes, hidden, loss)
    option(problem, "batch", batch, range(1, 5))
    g = build(draw_network(rng, sizes, hidden, loss, batch))
    check_activations(g)
    return g


def claims_json(answers: dict[str, object]) -> dict[str, object]:
    """Claimed values as strings: exact ('3/4') or a float's round-trip repr."""
    return {k: key_str(v) for k, v in answers.items()}


def given_numbers(net: Network) -> list[sp.Expr]:
    """Every number the student is shown."""
    nums = [x for m in net.W for row in m for x in row] + [x for v in net.b for x in v]
    return nums + [x for row in net.X + net.Y for x in row] + [net.lr]

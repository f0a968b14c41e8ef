"""How the network problems read: the statement, the answer labels, the worked tables."""

from __future__ import annotations

import re

from ..expression_graph import PLACES, Gradients, cell, chain_table, show
from ..variant import Step
from .model import OUTPUT, Graph, Network

LOSS_TEX = {
    "mse": r"L = \frac{1}{N}\sum_{n=1}^{N} \tfrac12 \lVert \hat y_n - y_n \rVert^2",
    "bce": r"L = -\frac{1}{N}\sum_{n=1}^{N} \left[y_n \ln \hat y_n + (1 - y_n)\ln(1 - \hat y_n)\right]",
    "ce": r"L = -\frac{1}{N}\sum_{n=1}^{N} \ln \hat y_{n, c_n}",
}
ACT_TEX = {"identity": "the identity", "relu": r"$\mathrm{ReLU}$", "sigmoid": r"the sigmoid $\sigma$",
           "tanh": r"$\tanh$", "softmax": "softmax"}
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
    """How to write the answers down, where this network needs more than the notebook's header says."""
    text = []
    if net.batch > 1:
        text.append("For a quantity with one value per sample (z, a, ŷ, δ), write one row per sample.")
    if places_needed:
        text.append(f"Give values that are not exact to {PLACES} decimal places.")
    return " ".join(text)


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

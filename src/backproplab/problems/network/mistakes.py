"""The ways a forward or backward pass goes wrong, each the same computation with one thing done wrong.

A backward mistake is a walk of the network's graph with one local derivative
replaced, `=` for `+=` at a fork, or a gradient tampered with; a forward mistake
is the forward pass of a changed network. Each becomes a named misconception of
every answer it changes (QA then checks it lies outside the tolerance).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import sympy as sp

from ..expression_graph import ONE, TRANSCENDENTAL, ZERO, Gradients, Node, backward, misconceptions_from
from ..variant import Misconception
from .model import Graph, Network, backward_answers, build, forward_answers, updates

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

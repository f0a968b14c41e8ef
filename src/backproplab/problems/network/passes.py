"""Chapters 3–4 — a tiny network traced by hand: the forward pass, and the backward pass with one SGD step.

The assignment chooses the structure (`sizes`, `hidden` activation, `loss`, `batch`); the seed the numbers.
"""

from __future__ import annotations

import numpy as np

from ..expression_graph import backward, graded_answer, number_style, show
from ..variant import Answer, ProblemType, Variant
from .mistakes import backward_misconceptions, forward_misconceptions
from .model import (backward_answers, backward_follows, claims_json, drawn_graph, forward_answers, forward_follows,
                    given_numbers)
from .wording import answer_format, backward_steps, describe, forward_steps, forward_text, label

def _answers(right: dict[str, object], gradient: bool, follows: dict[str, object]) -> list[Answer]:
    # A gradient that is zero everywhere (every ReLU dead, a perfect prediction) teaches nothing.
    return [graded_answer(k, label(k), v, nonzero=gradient and k.startswith(("delta", "dW", "db")), follows=follows[k])
            for k, v in right.items()]


def network_forward(rng: np.random.Generator, sizes=(2, 2, 1), hidden: str = "relu", loss: str = "mse",
                    batch: int = 1) -> Variant:
    """Every z, a, ŷ and L of a small network on a batch of `batch` samples."""
    g = drawn_graph(rng, "network_forward", sizes, hidden, loss, batch)
    net = g.net
    right = forward_answers(g)
    style = number_style(list(right.values()), given_numbers(net))
    statement = (describe(net) + "\n\nCompute the forward pass: "
                 + ", ".join(label(k) for k in right) + ".\n\n" + answer_format(net, style == "decimals")).rstrip()
    return Variant(
        problem="network_forward", title="Forward pass of a small network", statement=statement,
        params={"network": net.to_json(), "claims": {"values": claims_json(right)}},
        answers=_answers(right, gradient=False, follows=forward_follows(g)), steps=forward_steps(g),
        misconceptions=forward_misconceptions(net, right), given=given_numbers(net), style=style,
    )


def network_backward(rng: np.random.Generator, sizes=(2, 2, 1), hidden: str = "relu", loss: str = "mse",
                     batch: int = 2) -> Variant:
    """δ of every layer, ∂L/∂W and ∂L/∂b of every parameter, and the parameters after one SGD step."""
    g = drawn_graph(rng, "network_backward", sizes, hidden, loss, batch)
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
    ).rstrip()
    return Variant(
        problem="network_backward", title="Backpropagation through a small network", statement=statement,
        params={"network": net.to_json(), "claims": {"values": claims_json(forward), "gradients": claims_json(right)}},
        answers=_answers(right, gradient=True, follows=backward_follows(g)), steps=forward_steps(g) + backward_steps(g, grads),
        misconceptions=backward_misconceptions(g, grads, right), given=given_numbers(net), style=style,
    )


PROBLEMS = [
    ProblemType("network_forward", 3, "hand", "Forward pass of a small network", network_forward, "chain-rule"),
    ProblemType("network_backward", 4, "hand", "Backward pass and one SGD step of a small network",
                network_backward, "chain-rule"),
]

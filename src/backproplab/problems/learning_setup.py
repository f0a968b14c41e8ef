"""Chapter 1 — what it means to learn: which quantities are learned, chosen, given or computed, and what
gradient descent changes.

Two conceptual problems on a generated network and training set-up. The first asks
the student to classify six of its quantities as parameters (learned), hyperparameters
(chosen), data (given) or outputs (computed), and to count the network's parameters.
The second asks which quantities a gradient-descent step writes (the parameters),
which change only because they are computed from those (predictions, loss, gradient),
and which stay fixed; and what a step does to the weights. Every wrong label is a
named misconception with its feedback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..tolerance import WHOLE
from .choices import Item, Wrong, choice, classified, numbered, pick_items
from .exact import pick
from .variant import Answer, Misconception, ProblemType, Step, Variant


@dataclass(frozen=True)
class Setup:
    """A network ŷ = W2 act(W1 x + b1) + b2 and how it is trained."""

    inputs: int
    hidden: int
    outputs: int
    activation: str
    eta: str
    batch: int
    epochs: int
    examples: int

    @property
    def parameters(self) -> int:
        return self.hidden * self.inputs + self.hidden + self.outputs * self.hidden + self.outputs

    def params(self) -> dict:
        return {"inputs": self.inputs, "hidden": self.hidden, "outputs": self.outputs, "activation": self.activation,
                "eta": self.eta, "B": self.batch, "E": self.epochs, "N": self.examples}

    def describe(self) -> str:
        return (f"A network maps an input $x$ with ${self.inputs}$ numbers to ${self.outputs}$ output"
                f"{'s' if self.outputs > 1 else ''} through one hidden layer of $h = {self.hidden}$ {self.activation} "
                "units: $\\hat y = W^{(2)} a + b^{(2)}$ with $a = "
                f"\\mathrm{{{self.activation}}}(W^{{(1)}} x + b^{{(1)}})$. It is trained on $N = {self.examples}$ examples "
                "$(x_i, y_i)$ by mini-batch gradient descent on the mean squared error $L$ between the predictions "
                f"$\\hat y_i$ and the targets $y_i$, with learning rate $\\eta = {self.eta}$, batches of $B = {self.batch}$ "
                f"examples, for $E = {self.epochs}$ epochs.")


def draw_setup(rng: np.random.Generator) -> Setup:
    return Setup(inputs=int(rng.integers(2, 7)), hidden=int(rng.integers(3, 9)), outputs=int(rng.integers(1, 4)),
                 activation=str(pick(rng, ["ReLU", "tanh"])), eta=str(pick(rng, ["0.01", "0.05", "0.1", "0.001"])),
                 batch=int(pick(rng, [16, 32, 64])), epochs=int(pick(rng, [10, 20, 50])),
                 examples=int(pick(rng, [500, 800, 1000])))


# --- parameters, hyperparameters, data, outputs -----------------------------------------------------------

KINDS = {
    "parameter": "learned: gradient descent changes it",
    "hyperparameter": "chosen before training, and not changed by gradient descent",
    "data": "given by the data set",
    "output": "computed from the others while training runs",
}


def quantities(s: Setup) -> list[Item]:
    """The set-up's quantities, each with its kind and the usual wrong kind."""
    return [
        Item(f"$W^{{(1)}}$, the ${s.hidden} \\times {s.inputs}$ weights of the hidden layer", "parameter",
             "hyperparameter", "weights taken for hyperparameters",
             "Weights are learned: gradient descent changes them at every step."),
        Item(f"$b^{{(2)}}$, the bias{'es' if s.outputs > 1 else ''} of the output layer", "parameter",
             "hyperparameter", "biases taken for hyperparameters",
             "A bias is learned like a weight: gradient descent changes it at every step."),
        Item("$W^{(2)}$, the weights of the output layer", "parameter", "output", "output weights taken for outputs",
             "The output layer's weights are not computed from anything: gradient descent learns them."),
        Item(f"the learning rate $\\eta = {s.eta}$", "hyperparameter", "parameter",
             "learning rate taken for a parameter",
             "You set η before training; gradient descent uses it in every step but does not change it."),
        Item(f"the batch size $B = {s.batch}$", "hyperparameter", "data", "batch size taken for data",
             "B is how you choose to run training, not something the data set gives."),
        Item(f"the number of epochs $E = {s.epochs}$", "hyperparameter", "parameter",
             "number of epochs taken for a parameter",
             "How long to train is your choice; gradient descent does not learn it."),
        Item(f"the number of hidden units $h = {s.hidden}$", "hyperparameter", "parameter",
             "layer size taken for a parameter",
             "h fixes how many weights there are; it is chosen, not learned."),
        Item("the inputs $x_i$ of the training examples", "data", "parameter", "inputs taken for parameters",
             "Gradient descent changes the weights, never the data it learns from."),
        Item("the targets $y_i$ of the training examples", "data", "output", "targets taken for outputs",
             "The targets come with the data set; the model's outputs are its predictions ŷ."),
        Item("the predictions $\\hat y_i$", "output", "data", "predictions taken for data",
             "ŷ is computed by the network from x and the weights; the data set gives y."),
        Item("the value of the loss $L$ on a batch", "output", "hyperparameter", "loss value taken for a hyperparameter",
             "You choose the loss function; its value is computed at every step from the predictions and targets."),
        Item("the gradient $\\partial L / \\partial W^{(1)}$", "output", "parameter", "gradient taken for a parameter",
             "The gradient is computed afresh at every step from the weights and the batch; it is not learned."),
    ]


SHOWN = 6  # quantities to label: one of each kind, and the others drawn


def learning_quantities(rng: np.random.Generator) -> Variant:
    """Classify a set-up's quantities as parameter, hyperparameter, data or output; count the parameters."""
    s = draw_setup(rng)
    shown = pick_items(rng, quantities(s), SHOWN)
    kinds_answer, mis = classified("kinds", "the kind of each quantity, in order", shown, list(KINDS))
    labels = ", ".join(f"`'{k}'` ({meaning})" for k, meaning in KINDS.items())
    statement = (
        f"{s.describe()}\n\n"
        f"`kinds`: for each quantity below, in order, say whether it is a {labels}.\n\n{numbered(shown)}\n\n"
        "`n_parameters`: how many numbers does the network learn?"
    )
    count = s.parameters
    table = [["quantity", "kind", "why"]] + [[q.text, q.label, KINDS[q.label]] for q in shown]
    layers = (f"{s.hidden} \\cdot {s.inputs} + {s.hidden} + {s.outputs} \\cdot {s.hidden} + {s.outputs} = {count}")
    steps = [
        Step("Learned quantities change under gradient descent; chosen ones are fixed before it starts; the data "
             "are given; everything else is computed from these.", table=table),
        Step("Each layer has a weight per (input, unit) pair and a bias per unit:", layers),
    ]
    weights = s.hidden * s.inputs + s.outputs * s.hidden
    mis += [
        Misconception("biases left out", "n_parameters", sp.Integer(weights),
                      "Every unit has a bias as well as its weights, and the biases are learned too."),
        Misconception("units counted instead of parameters", "n_parameters", sp.Integer(s.inputs + s.hidden + s.outputs),
                      "Count the weights and biases, not the units: a layer has a weight for every (input, unit) pair."),
        Misconception("inputs given biases", "n_parameters", sp.Integer(count + s.inputs),
                      "The input x is data: only the hidden and the output layer have biases."),
    ]
    return Variant(
        problem="learning_quantities",
        title="Parameters, hyperparameters, data and outputs",
        statement=statement,
        params=s.params() | {"quantities": [q.text for q in shown]},
        answers=[
            kinds_answer,
            Answer("n_parameters", "the number of parameters", sp.Integer(count), tolerance=WHOLE),
        ],
        steps=steps,
        misconceptions=mis,
        given=[sp.Integer(s.inputs), sp.Integer(s.hidden), sp.Integer(s.outputs)],
        style="integers",
    )


# --- what a gradient-descent step changes ----------------------------------------------------------------

ROLES = {
    "updated": "the gradient-descent step itself writes new values into it",
    "recomputed": "the step does not write it, but it changes during training because it is computed from values "
                  "that do",
    "fixed": "it is the same at the end of training as at the start",
}


def changes(s: Setup) -> list[Item]:
    """The set-up's quantities, each with what a step does to it and the usual wrong answer."""
    return [
        Item("the weights $W^{(1)}$", "updated", "recomputed", "weights thought recomputed",
             "No forward pass computes W: the step W ← W − η ∂L/∂W writes it."),
        Item("the biases $b^{(1)}$", "updated", "fixed", "biases thought fixed",
             "Biases are parameters: each step moves them against their gradient."),
        Item("the weights $W^{(2)}$", "updated", "fixed", "output weights thought fixed",
             "The output layer's weights are learned like the hidden layer's."),
        Item("the predictions $\\hat y_i$ on the training examples", "recomputed", "updated",
             "predictions thought written by the step",
             "The step changes only the parameters; ŷ changes because the next forward pass recomputes it from them."),
        Item("the training loss $L$", "recomputed", "fixed", "loss thought fixed",
             "L is computed from the predictions, which change as the weights do: that is the point of training."),
        Item("the gradient $\\partial L / \\partial W^{(1)}$", "recomputed", "updated", "gradient thought written by the step",
             "The step uses the gradient to change W; the gradient itself is computed afresh from the new weights."),
        Item("the hidden activations $a$ on the training examples", "recomputed", "updated",
             "activations thought written by the step",
             "Activations are computed by the forward pass from x and the weights; the step does not write them."),
        Item(f"the learning rate $\\eta = {s.eta}$", "fixed", "updated", "learning rate thought updated",
             "Plain gradient descent keeps η as you set it; only the parameters move."),
        Item("the inputs $x_i$", "fixed", "updated", "inputs thought updated",
             "Gradient descent changes the weights to fit the data; the data stay as they are."),
        Item("the targets $y_i$", "fixed", "recomputed", "targets thought recomputed",
             "The targets are given with the data; the network computes predictions ŷ, not targets."),
        Item(f"the number of hidden units $h = {s.hidden}$", "fixed", "updated", "architecture thought learned",
             "Gradient descent changes the values of the weights, not how many there are."),
        Item("the loss function (the mean squared error)", "fixed", "updated", "loss function thought updated",
             "The loss function is your choice and stays the same; only its value changes."),
    ]


STEP_RIGHT = ("It moves them a small step against the gradient of the loss, the direction in which the loss falls "
              "fastest.")
STEP_WRONG: Wrong = {
    "descent confused with weight decay": ("It shrinks every weight towards zero.",
                                           "Shrinking weights is what weight decay adds; a gradient step moves each "
                                           "weight against its own partial derivative, up or down."),
    "gradient ascent": ("It moves them along the gradient, the direction in which the loss rises fastest.",
                        "The gradient points uphill: descent subtracts η times it."),
    "one step to the minimum": ("It sets them to the values that make the loss zero.",
                                "One step moves a small distance set by η; it takes many steps, and the loss need not "
                                "reach zero."),
    "random search": ("It changes them at random and keeps the change if the loss falls.",
                      "Gradient descent computes the direction from the gradient; nothing in it is a random guess."),
}


def training_updates(rng: np.random.Generator) -> Variant:
    """Which quantities a gradient-descent step writes, which it changes only through them, which stay fixed."""
    s = draw_setup(rng)
    shown = pick_items(rng, changes(s), SHOWN)
    roles_answer, mis = classified("roles", "the role of each quantity in training, in order", shown, list(ROLES))
    step_answer, step_mis = choice(rng, "step", "what one step does to the weights", STEP_RIGHT, STEP_WRONG, 3)
    labels = ", ".join(f"`'{k}'` ({meaning})" for k, meaning in ROLES.items())
    statement = (
        f"{s.describe()} The learning rate stays the same throughout.\n\n"
        f"`roles`: for each quantity below, in order, say whether it is {labels}.\n\n{numbered(shown)}\n\n"
        "`step`: what does one step of gradient descent do to the weights?"
    )
    table = [["quantity", "role"]] + [[q.text, q.label] for q in shown]
    steps = [
        Step("A step computes $\\partial L/\\partial\\theta$ for every parameter $\\theta$ and writes "
             "$\\theta \\leftarrow \\theta - \\eta\\, \\partial L/\\partial\\theta$: only parameters are written. "
             "Whatever is computed from them changes in the next forward and backward pass; the data and your "
             "choices stay fixed.", table=table),
        Step(STEP_RIGHT + " With a small enough η, that lowers the loss on the batch."),
    ]
    return Variant(
        problem="training_updates",
        title="What changes during training",
        statement=statement,
        params=s.params() | {"quantities": [q.text for q in shown]},
        answers=[roles_answer, step_answer],
        steps=steps,
        misconceptions=mis + step_mis,
        given=[],
        style="integers",
    )


PROBLEMS = [
    ProblemType("learning_quantities", 1, "hand", "Parameters, hyperparameters, data and outputs; counting parameters",
                learning_quantities, "learning", concept=True),
    ProblemType("training_updates", 1, "hand", "What a gradient-descent step changes, and what stays fixed",
                training_updates, "learning", concept=True),
]

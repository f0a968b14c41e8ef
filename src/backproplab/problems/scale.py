"""Chapter 6 — why gradient descent still works for models with billions of parameters.

Short graded choices about a generated large model: over-parameterised losses have
many good minima, so where a run ends matters little; in high dimension a point
where the gradient is zero is almost always a saddle, not a minimum (with a toy
count the student works out: if each of the d curvatures at such a point were
positive or negative with probability 1/2, all d would be positive with probability
(1/2)^d); the noise of mini-batch gradients helps to leave saddles and sharp minima;
and backpropagation gives all the partial derivatives for the cost of a few forward
passes. Every wrong option is a named misconception with its feedback.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..tolerance import Tolerance
from .choices import Wrong, choice
from .exact import R, pick, shuffled_choices, with_floor
from .variant import Answer, Misconception, ProblemType, Reject, Step, Variant

MINIMA_RIGHT = ("With far more parameters than examples, a great many different weight settings fit the training "
                "data about equally well: the loss has many good minima, so it matters little which one a run reaches.")
MINIMA_WRONG: Wrong = {
    "large losses thought convex": (
        "The loss of a large network is convex, so every run reaches the same single minimum.",
        "The loss of a network is not convex (swapping two hidden units alone gives another minimum), and the runs "
        "here end at different weights."),
    "no local minima thought to exist at scale": (
        "A large enough network has no local minima at all.",
        "Large networks do have local minima; what helps is that most of the minima a run can reach are about as "
        "good as each other."),
    "size confused with step size": (
        "More parameters make each gradient step larger, so runs jump over bad minima.",
        "The size of a step is set by the learning rate and the gradient, not by the number of parameters."),
    "memorising thought impossible": (
        "With so many parameters the model cannot fit the training data, so all runs stop at the same loss.",
        "With more parameters than examples the model can fit the training data, in many different ways."),
}
SADDLE_CHOICES = ["saddle", "minimum", "maximum"]
SADDLE_WRONG = {
    "minimum": ("zero gradient taken for a minimum",
                "A zero gradient only says the point is flat; with millions of curvatures, some of them are almost "
                "surely negative: it is a saddle."),
    "maximum": ("zero gradient taken for a maximum",
                "A maximum needs every curvature negative, as unlikely as every one positive: such a point is "
                "almost surely a saddle."),
}
NOISE_RIGHT = ("Each mini-batch gradient differs a little from the full gradient, and those random kicks push the "
               "weights off saddle points and out of narrow minima, where full-batch descent would linger.")
NOISE_WRONG: Wrong = {
    "noise taken for accuracy": (
        "Mini-batch gradients are more exact than the full gradient.",
        "A mini-batch gradient is an estimate of the full gradient: it is noisier, not more exact."),
    "noise thought to find the global minimum": (
        "The noise makes every step point straight at the global minimum.",
        "The noise points in random directions; it helps to leave flat or narrow places, it does not aim."),
    "noise thought to cut the work of an epoch": (
        "The noise lowers the number of gradients computed in an epoch.",
        "An epoch computes the gradient of every example once, whatever the batch size."),
    "noise thought to replace the learning rate": (
        "With noisy gradients no learning rate needs to be chosen.",
        "Mini-batch training still needs a learning rate, and a smaller one the noisier its gradients are."),
}
COST_RIGHT = ("Backpropagation gets every partial derivative in one backward pass, which costs about as much as "
              "two forward passes, however many parameters there are.")
COST_WRONG: Wrong = {
    "one pass per parameter": (
        "Each parameter's derivative is found by its own forward pass, on hardware fast enough to do billions.",
        "A pass per parameter (finite differences) would take billions of passes for one step; backpropagation "
        "gets them all from one backward pass."),
    "only some parameters updated": (
        "Each step computes the gradient of only a random few of the parameters.",
        "Backpropagation gives the partial derivative of the loss with respect to every parameter at every step."),
    "gradient computed once": (
        "The gradient is computed once at the start and reused for every step.",
        "The gradient changes with the weights, so it is recomputed at every step, from a fresh forward pass."),
}
# (1/2)^d written as a power; a decimal to 3 significant figures is fine too.
POWER = Tolerance(rel=5e-3, abs=0.0, why="exact (a power is fine), or a decimal to 3 significant figures")


def why_it_scales(rng: np.random.Generator) -> Variant:
    """Why gradient descent works at a billion parameters: many good minima, saddles, mini-batch noise, backprop's cost."""
    p_digit, p_power = int(pick(rng, [2, 3, 5, 7, 8])), int(pick(rng, [8, 9]))
    n_digit, n_power = int(pick(rng, [1, 2, 5])), int(pick(rng, [6, 7]))
    params, examples = p_digit * 10**p_power, n_digit * 10**n_power
    if params < 10 * examples:
        raise Reject("not far more parameters than examples")
    d = int(rng.integers(8, 17))
    batch = int(pick(rng, [64, 128, 256, 512]))
    p_min = R(1, 2) ** d
    minima, minima_mis = choice(rng, "minima", "why the runs end equally well", MINIMA_RIGHT, MINIMA_WRONG, 3)
    noise, noise_mis = choice(rng, "noise", "how mini-batch noise helps", NOISE_RIGHT, NOISE_WRONG, 3)
    cost, cost_mis = choice(rng, "cost", "why one gradient of every parameter is affordable", COST_RIGHT, COST_WRONG, 2)
    p_text, n_text = f"{p_digit} \\cdot 10^{{{p_power}}}", f"{n_digit} \\cdot 10^{{{n_power}}}"
    statement = (
        f"A network with $P = {p_text}$ parameters is trained by mini-batch gradient descent (batches of "
        f"{batch}) on $N = {n_text}$ examples. Runs from different random starts end at different weights, all "
        "with a training loss close to 0 and about the same validation loss.\n\n"
        "1. `minima`: why do the different runs end equally well?\n"
        f"2. `p_minimum`: a toy count. At a point where the gradient is zero, suppose each of $d = {d}$ "
        "curvatures (the eigenvalues of the Hessian) is positive or negative with probability 1/2, independently. "
        "What is the probability that all are positive, so that the point is a minimum?\n"
        f"3. `critical`: so, in a space of $P$ dimensions, a point where the gradient is zero is most likely a "
        "`'saddle'`, a `'minimum'` or a `'maximum'`?\n"
        "4. `noise`: how does the noise of mini-batch gradients help?\n"
        "5. `cost`: why is one gradient of all $P$ parameters affordable at every step?"
    )
    steps = [
        Step(f"$P$ is far larger than $N$: many weight settings fit the data. {MINIMA_RIGHT}"),
        Step(f"All ${d}$ curvatures positive, each with probability $\\frac{{1}}{{2}}$:",
             f"\\left(\\tfrac{{1}}{{2}}\\right)^{{{d}}} = \\frac{{1}}{{{2 ** d}}}"),
        Step("With $P$ in the billions that probability is astronomically small, and so is that of a maximum: almost "
             "every zero-gradient point is a saddle, which gradient descent can leave along a direction that curves "
             "down."),
        Step(NOISE_RIGHT),
        Step(COST_RIGHT),
    ]
    mis = minima_mis + [
        Misconception("one curvature only", "p_minimum", R(1, 2),
                      f"All {d} curvatures must be positive: multiply the {d} probabilities."),
        Misconception("probability of a saddle or maximum", "p_minimum", 1 - p_min,
                      "That is the probability that some curvature is negative; the question asks for all positive."),
        Misconception("one curvature fewer", "p_minimum", R(1, 2) ** (d - 1), f"There are {d} curvatures, not {d - 1}."),
    ]
    mis += [Misconception(name, "critical", label, feedback) for label, (name, feedback) in SADDLE_WRONG.items()]
    mis += noise_mis + cost_mis
    return Variant(
        problem="why_it_scales",
        title="Why it still works at a billion parameters",
        statement=statement,
        params={"P": params, "N": examples, "d": d, "batch": batch},
        answers=[
            minima,
            Answer("p_minimum", f"the probability that all {d} curvatures are positive", p_min,
                   tolerance=with_floor(POWER, p_min),
                   hand_form=sp.Pow(R(1, 2), d, evaluate=False)),
            Answer("critical", "what a zero-gradient point most likely is", "saddle", kind="choice",
                   choices=shuffled_choices(rng, "saddle", SADDLE_CHOICES[1:], 2)),
            noise,
            cost,
        ],
        steps=steps,
        misconceptions=mis,
        given=[sp.Integer(d), sp.Integer(batch)],
        style="integers",
    )


PROBLEMS = [
    ProblemType("why_it_scales", 6, "hand", "Why gradient descent still works at a billion parameters",
                why_it_scales, "failures", concept=True),
]

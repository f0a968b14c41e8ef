"""Chapter 1 — what it means to learn: the loss of a prediction.

Two hand problems: the MSE of given predictions, and the loss of a linear model
ŷ = w·x + b on a handful of points. The assignment chooses the structure (how
many points, which MSE convention); the seed chooses the numbers.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .exact import integer, latex_decimal, nonzero_int, short_decimal, to_str
from .follow import refs
from .variant import Answer, Misconception, ProblemType, Reject, Step, Variant, option

# The two MSE conventions a course may use; a variant states which one it wants (the
# assignment's `convention` option; "mean" unless it says otherwise).
CONVENTIONS = {
    "mean": (sp.Rational(1, 1), r"L = \frac{1}{N}\sum_{i=1}^{N} (\hat y_i - y_i)^2"),
    "half-mean": (sp.Rational(1, 2), r"L = \frac{1}{2N}\sum_{i=1}^{N} (\hat y_i - y_i)^2"),
}
POINTS = (2, 3, 4, 5, 6)  # how many data points a problem may have (the `points` option)


def mean_factor(half: sp.Rational, n: int | str) -> str:
    """LaTeX of the factor in front of the sum: 1/N or 1/(2N), with N a number or a symbol."""
    if isinstance(n, int):
        return rf"\frac{{1}}{{{n if half == 1 else 2 * n}}}"
    return rf"\frac{{1}}{{{n if half == 1 else '2' + n}}}"


def mse(pred: list[sp.Expr], target: list[sp.Expr], half: sp.Rational) -> sp.Expr:
    """Exact MSE with the factor `half` (1 or 1/2) in front of the mean."""
    n = len(pred)
    return half * sum((p - t) ** 2 for p, t in zip(pred, target)) / n


def mse_misconceptions(name: str, pred: list, target: list, half: sp.Rational) -> list[Misconception]:
    """The usual wrong MSE values for these predictions, each with its feedback."""
    n = len(pred)
    sq = sum((p - t) ** 2 for p, t in zip(pred, target))
    other = sp.Rational(1, 2) if half == 1 else sp.Rational(1, 1)
    return [
        Misconception("missing 1/N", name, half * sq,
                      "You summed the squared errors but did not divide by the number of points N."),
        Misconception("other convention", name, other * sq / n,
                      "You used the other MSE convention: check whether the problem asks for 1/N or 1/(2N)."),
        Misconception("not squared", name, half * sum(p - t for p, t in zip(pred, target)) / n,
                      "You averaged the errors without squaring them; MSE squares each error first."),
        Misconception("squared mean", name, half * (sum(p - t for p, t in zip(pred, target)) / n) ** 2,
                      "You squared the mean error; MSE is the mean of the squared errors."),
    ]


def mse_of_predictions(rng: np.random.Generator, points: int = 4, convention: str = "mean") -> Variant:
    """MSE of N given predictions against N targets, under a stated convention."""
    n = option("mse_of_predictions", "points", points, POINTS)
    conv = option("mse_of_predictions", "convention", convention, CONVENTIONS)
    half, formula = CONVENTIONS[conv]
    target = [integer(rng, -5, 5) for _ in range(n)]
    pred = [t + nonzero_int(rng, -3, 3) if rng.random() < 0.8 else t for t in target]
    if pred == target:
        raise Reject("every prediction is right")
    loss = mse(pred, target, half)
    errors = [p - t for p, t in zip(pred, target)]
    statement = (
        f"A model makes the predictions $\\hat y = {latex_decimal(pred)}$ for targets $y = {latex_decimal(target)}$.\n\n"
        f"Using the convention ${formula}$, compute the loss $L$ (`loss`)."
    )
    steps = [
        Step("Errors $\\hat y_i - y_i$:", latex_decimal(errors)),
        Step("Squared errors:", latex_decimal([e**2 for e in errors])),
        Step(f"Sum, then multiply by ${mean_factor(half, 'N')}$ with $N = {n}$:",
             f"L = {mean_factor(half, n)} \\cdot {latex_decimal(sum(e**2 for e in errors))} = {latex_decimal(loss)}"),
    ]
    return Variant(
        problem="mse_of_predictions",
        title="Mean squared error of predictions",
        statement=statement,
        params={"mse_convention": conv, "predictions": to_str(pred), "targets": to_str(target)},
        answers=[Answer("loss", "the loss $L$", loss, nonzero=True)],
        steps=steps,
        misconceptions=mse_misconceptions("loss", pred, target, half),
        given=pred + target,
        style="integers",
    )


def loss_of_linear_model(rng: np.random.Generator, points: int = 4, convention: str = "mean") -> Variant:
    """Predictions and MSE of ŷ = w·x + b on a few points."""
    n = option("loss_of_linear_model", "points", points, POINTS)
    conv = option("loss_of_linear_model", "convention", convention, CONVENTIONS)
    half, formula = CONVENTIONS[conv]
    w = short_decimal(rng, -2, 2, places=1)
    b = short_decimal(rng, -2, 2, places=1)
    xs = [integer(rng, -3, 3) for _ in range(n)]
    ys = [integer(rng, -5, 5) for _ in range(n)]
    pred = [w * x + b for x in xs]
    if pred == ys:
        raise Reject("the model fits exactly")
    loss = mse(pred, ys, half)
    no_bias = [w * x for x in xs]
    statement = (
        f"A linear model $\\hat y = w x + b$ has $w = {latex_decimal(w)}$ and $b = {latex_decimal(b)}$. "
        f"The data are $x = {latex_decimal(xs)}$ with targets $y = {latex_decimal(ys)}$.\n\n"
        f"Compute the predictions $\\hat y$ (`predictions`, a list of {n} numbers) and the loss "
        f"${formula}$ (`loss`)."
    )
    errors = [p - y for p, y in zip(pred, ys)]
    steps = [
        Step("Predictions $\\hat y_i = w x_i + b$:", latex_decimal(pred)),
        Step("Errors $\\hat y_i - y_i$ and their squares:",
             f"{latex_decimal(errors)}, \\quad {latex_decimal([e**2 for e in errors])}"),
        Step(f"Sum, then multiply by ${mean_factor(half, 'N')}$ with $N = {n}$:",
             f"L = {mean_factor(half, n)} \\cdot {latex_decimal(sum(e**2 for e in errors))} = {latex_decimal(loss)}"),
    ]
    mis = mse_misconceptions("loss", pred, ys, half) + [
        Misconception("bias forgotten", "predictions", no_bias,
                      "Your predictions leave out the bias: ŷ = w·x + b."),
        Misconception("bias forgotten", "loss", mse(no_bias, ys, half),
                      "Your loss uses predictions without the bias b."),
    ]
    return Variant(
        problem="loss_of_linear_model",
        title="Loss of a linear model",
        statement=statement,
        params={"mse_convention": conv, "w": to_str(w), "b": to_str(b), "x": to_str(xs), "y": to_str(ys)},
        answers=[
            Answer("predictions", "the predictions $\\hat y$", pred, kind="vector"),
            Answer("loss", "the loss $L$", loss, nonzero=True, follows=mse(refs("predictions", pred), ys, half)),
        ],
        steps=steps,
        misconceptions=mis,
        given=[w, b] + xs + ys,
        style="short decimals",
    )


PROBLEMS = [
    ProblemType("mse_of_predictions", 1, "hand", "MSE of given predictions", mse_of_predictions, "learning"),
    ProblemType("loss_of_linear_model", 1, "hand", "Loss of a linear model on a few points",
                loss_of_linear_model, "learning"),
]

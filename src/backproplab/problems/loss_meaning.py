"""Chapter 1 — what a loss value means: rank models by their loss, see which change lowers it most, and why
the errors are squared.

Three models' predictions on one small data set: the student computes each model's
MSE and ranks the models, best first; picks the one prediction of a model whose move
by 1 towards its target lowers that model's MSE the most (the one with the largest
error: (e − 1)² = e² − 2|e| + 1 saves 2|e| − 1); and says why MSE squares the errors,
looking at a model whose errors cancel in their sum. The numbers are drawn so that
ranking by the mean error, or by the mean absolute error, gives other orders than
the MSE: each of those is a named misconception.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .choices import Wrong, choice
from .exact import integer, latex_decimal, nonzero_int
from .variant import Answer, Misconception, ProblemType, Reject, Step, Variant

MODELS = ["A", "B", "C"]
POINTS = 4

SQUARE_RIGHT = ("A square is never negative, so errors of opposite sign cannot cancel, and a large error counts for "
                "more than a small one.")
SQUARE_WRONG: Wrong = {
    "squaring thought to shrink the loss": (
        "Squaring makes the loss smaller than the errors, so it is easier to minimise.",
        "The square of an error larger than 1 is larger than the error; squaring is about signs and weights, not "
        "about making the loss small."),
    "equal weight thought": (
        "Squaring gives every error the same weight.",
        "Squaring weighs large errors more: an error of 3 adds 9, an error of 1 adds 1."),
    "only squares thought to have gradients": (
        "Only a squared loss has a gradient, so gradient descent needs it.",
        "Other losses (the absolute error, cross-entropy) have gradients too; the square is chosen for what it "
        "measures."),
    "cancelling errors overlooked": (
        "The mean error is zero only for a perfect fit, so it would work as well.",
        "Look at the model whose errors sum to 0: its mean error is 0, yet it is not a perfect fit."),
}


def mse(errors: list[sp.Integer]) -> sp.Rational:
    return sp.Rational(sum(e * e for e in errors), len(errors))


def ranking(score: dict[str, sp.Expr]) -> list[str]:
    """Models from the lowest score to the highest."""
    return sorted(score, key=lambda m: score[m])


def distinct(score: dict[str, sp.Expr]) -> bool:
    return len(set(score.values())) == len(score)


def loss_meaning(rng: np.random.Generator) -> Variant:
    """Rank three models by MSE; the single prediction change that lowers a model's MSE most; why MSE squares."""
    targets = [integer(rng, -3, 5) for _ in range(POINTS)]
    cancel = MODELS[int(rng.integers(3))]  # the model whose errors sum to zero
    errors = {}
    for m in MODELS:
        if m == cancel:
            a, b = nonzero_int(rng, 1, 3), nonzero_int(rng, 1, 3)
            e = [a, -a, b, -b]
            errors[m] = [e[i] for i in rng.permutation(POINTS)]
        else:
            errors[m] = [nonzero_int(rng, -3, 3) for _ in range(POINTS)]
    losses = {m: mse(errors[m]) for m in MODELS}
    mae = {m: sp.Rational(sum(abs(e) for e in errors[m]), POINTS) for m in MODELS}
    mean_error = {m: abs(sp.Rational(sum(errors[m]), POINTS)) for m in MODELS}
    if not (distinct(losses) and distinct(mae) and distinct(mean_error)):
        raise Reject("a tie in a ranking")
    right = ranking(losses)
    by_mae, by_mean = ranking(mae), ranking(mean_error)
    if right[0] == cancel:
        raise Reject("the model whose errors cancel is the best: ranking by the mean error would be right")
    # the model whose predictions the student changes: one with a single largest error
    candidates = [m for m in MODELS if sorted(abs(e) for e in errors[m])[-1] > sorted(abs(e) for e in errors[m])[-2]]
    if not candidates:
        raise Reject("no model has a single largest error")
    changed = candidates[int(rng.integers(len(candidates)))]
    e = errors[changed]
    best = int(np.argmax([abs(v) for v in e]))
    predictions = {m: [t + v for t, v in zip(targets, errors[m])] for m in MODELS}

    rows = "\n".join(f"| {m} | " + " | ".join(latex_decimal(p) for p in predictions[m]) + " |" for m in MODELS)
    header = "| model | " + " | ".join(f"$\\hat y_{i + 1}$" for i in range(POINTS)) + " |\n|---|" + "---|" * POINTS
    why_square, square_mis = choice(rng, "why_square", "why the loss squares the errors", SQUARE_RIGHT, SQUARE_WRONG, 3)
    statement = (
        f"Three models predict the targets $y = {latex_decimal(targets)}$ of {POINTS} examples as follows:\n\n"
        f"{header}\n{rows}\n\n"
        "The loss is the mean squared error $L = \\frac{1}{N}\\sum_i (\\hat y_i - y_i)^2$.\n\n"
        "1. `losses`: the loss of models A, B and C.\n"
        "2. `ranking`: the three models from the best (lowest loss) to the worst.\n"
        f"3. `best_change`: which one prediction of model {changed}, moved by 1 towards its target, lowers model "
        f"{changed}'s loss the most? Give its example number (`'1'` to `'{POINTS}'`).\n"
        f"4. `why_square`: the errors of model {cancel} sum to 0. Why does the loss square the errors instead of "
        "averaging them as they are?"
    )
    table = [["model", "errors $\\hat y_i - y_i$", "$L$"]] + [
        [m, f"${latex_decimal(errors[m])}$", f"${latex_decimal(losses[m])}$"] for m in MODELS]
    saving = [2 * abs(v) - 1 for v in e]
    steps = [
        Step("Errors and losses:", table=table),
        Step(f"Lowest loss first: {', '.join(right)}."),
        Step(f"Moving a prediction with error $e$ by 1 towards its target changes $e^2$ to $(|e| - 1)^2$, a saving of "
             f"$2|e| - 1$: for model {changed} that is ${latex_decimal(saving)}$, largest for example {best + 1}, the "
             "largest error."),
        Step(f"Model {cancel}'s errors cancel in their sum, so its mean error is 0 although it is not a perfect fit. "
             + SQUARE_RIGHT),
    ]
    mis = [
        Misconception("missing 1/N", "losses", [sum(v * v for v in errors[m]) for m in MODELS],
                      "You summed the squared errors without dividing by the number of examples N."),
        Misconception("not squared", "losses", [sp.Rational(sum(errors[m]), POINTS) for m in MODELS],
                      "You averaged the errors without squaring them; MSE squares each error first."),
        Misconception("absolute instead of squared", "losses", [mae[m] for m in MODELS],
                      "You averaged the sizes of the errors; MSE averages their squares."),
    ]
    # the wrong rankings, each where it differs from the right one and from the ones before it
    wrong_rankings = [
        ("ranked by mean error", by_mean, f"Errors of opposite sign cancel in the mean error (model {cancel}'s mean "
                                          "error is 0): rank by the mean squared error."),
        ("ranked by mean absolute error", by_mae, "Rank by the loss the statement defines: squaring makes large "
                                                  "errors count for more than the mean absolute error does."),
        ("ranked worst first", right[::-1], "The best model has the lowest loss: list it first."),
    ]
    seen = [right]
    for name, order, feedback in wrong_rankings:
        if order not in seen:
            mis.append(Misconception(name, "ranking", order, feedback))
            seen.append(order)
    order = sorted(range(POINTS), key=lambda i: abs(e[i]))
    for i in range(POINTS):
        if i == best:
            continue
        if e[best] < 0 and e[i] == max(e):
            name, feedback = "largest signed error, not largest size", "An error of −3 is larger in size than one of +2."
        elif i == order[0]:
            name, feedback = "smallest error fixed first", "Moving the smallest error saves the least: the saving is 2|e| − 1."
        else:
            name, feedback = "a smaller error moved", "The saving 2|e| − 1 is largest for the largest error."
        mis.append(Misconception(name, "best_change", str(i + 1), feedback))
    mis += square_mis
    return Variant(
        problem="loss_meaning",
        title="What a loss value means",
        statement=statement,
        params={"y": [int(t) for t in targets], "predictions": {m: [int(p) for p in predictions[m]] for m in MODELS},
                "changed": changed, "cancelling": cancel},
        answers=[
            Answer("losses", "the losses of models A, B and C", [losses[m] for m in MODELS], kind="vector"),
            Answer("ranking", "the models from best to worst", right, kind="choice", choices=list(MODELS)),
            Answer("best_change", f"the example of model {changed} to move", str(best + 1), kind="choice",
                   choices=[str(i + 1) for i in range(POINTS)]),
            why_square,
        ],
        steps=steps,
        misconceptions=mis,
        given=targets + [p for m in MODELS for p in predictions[m]],
        style="integers",
    )


PROBLEMS = [
    ProblemType("loss_meaning", 1, "hand", "What a loss value means: rank models, the best change, why square",
                loss_meaning, "learning", concept=True),
]

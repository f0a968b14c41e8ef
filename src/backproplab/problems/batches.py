"""Chapter 5 — batches: how many updates an epoch makes, and what a mini-batch gradient is.

Two hand problems: counting updates for N samples, batch size B and E epochs
(with or without `drop_last`), and the full-batch, single-example and
mini-batch gradients of MSE for a one-weight model on a tiny data set.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..tolerance import WHOLE
from .exact import integer, latex, latex_decimal, latex_sum, nonzero_int, paren, pick, short_decimal, to_str
from .follow import ref, refs
from .loss import CONVENTIONS
from .variant import Answer, Misconception, ProblemType, Reject, Step, Variant, option


def updates_per_epoch(rng: np.random.Generator, drop_last: bool = False) -> Variant:
    """Updates per epoch and in total, and the size of the last batch, for N, B, E (the assignment
    chooses whether the last partial batch is dropped)."""
    option("updates_per_epoch", "drop_last", drop_last, (False, True))
    b = int(pick(rng, [8, 10, 16, 20, 25, 32, 50, 64, 100, 128]))
    n = int(rng.integers(3 * b, 40 * b))
    e = int(rng.integers(2, 21))
    full, rest = divmod(n, b)
    if rest == 0:
        raise Reject("N is a multiple of B: floor and ceil agree")
    # A partial last batch is kept (one more update) unless drop_last throws it away.
    per_epoch = full if drop_last else full + 1
    last = b if drop_last else rest
    other = full + 1 if drop_last else full
    rule = (
        r"\text{updates per epoch} = \left\lfloor \frac{N}{B} \right\rfloor" if drop_last
        else r"\text{updates per epoch} = \left\lceil \frac{N}{B} \right\rceil"
    )
    keep = "`drop_last=True`: a last batch smaller than $B$ is thrown away" if drop_last else (
        "`drop_last=False`: a last batch smaller than $B$ is kept")
    statement = (
        f"A data set has $N = {n}$ examples. You train with mini-batches of size $B = {b}$ "
        f"for $E = {e}$ epochs, shuffling each epoch, with {keep}.\n\n"
        "How many parameter updates happen in one epoch, and in all of training? How many examples are "
        "in the last batch of an epoch that is used for an update? For comparison: how many updates would "
        "full-batch gradient descent ($B = N$) and single-example SGD ($B = 1$) make in the same $E$ epochs?"
    )
    steps = [
        Step(f"Divide: $N / B = {n}/{b} = {full}$ full batches with ${rest}$ examples left over.",
             f"{n} = {full} \\cdot {b} + {rest}"),
        Step("The left-over examples are dropped, so they give no update." if drop_last
             else "The left-over examples form one more, smaller batch, and that is one more update.",
             f"{rule} = {per_epoch}"),
        Step(f"The last batch used has {last} examples.", f"\\text{{last batch}} = {last}"),
        Step("Every epoch makes the same number of updates:",
             f"\\text{{total}} = E \\cdot {per_epoch} = {e} \\cdot {per_epoch} = {e * per_epoch}"),
        Step("Full batch: one update per epoch. Single-example SGD: one update per example.",
             f"E = {e}, \\qquad N \\cdot E = {n * e}"),
    ]
    wrong_rule = "ceil instead of floor" if drop_last else "floor instead of ceil"
    why_rule = ("With drop_last the incomplete last batch is thrown away, so it gives no update." if drop_last
                else "The incomplete last batch is still a batch and still gives an update.")
    mis = [
        Misconception(wrong_rule, "per_epoch", sp.Integer(other), why_rule),
        Misconception(wrong_rule, "total", sp.Integer(e * other), why_rule),
        Misconception("N/B not rounded", "per_epoch", sp.Rational(n, b),
                      "A number of updates is a whole number: count the batches, including or excluding the partial one."),
        Misconception("one epoch only", "total", sp.Integer(per_epoch),
                      "The total counts the updates of all E epochs, not of one."),
        Misconception("last batch size", "last_batch", sp.Integer(rest if drop_last else b),
                      "With drop_last the partial batch is never used, so the last batch used is a full one."
                      if drop_last else "N is not a multiple of B, so the last batch holds only the left-over examples."),
        Misconception("batches per epoch for SGD", "sgd_total", sp.Integer(n),
                      "Single-example SGD makes N updates in every epoch; multiply by the number of epochs."),
    ]
    return Variant(
        problem="updates_per_epoch",
        title="Updates per epoch with mini-batches",
        statement=statement,
        params={"N": n, "B": b, "E": e, "drop_last": drop_last},
        answers=[
            Answer("per_epoch", "the number of updates in one epoch", sp.Integer(per_epoch), tolerance=WHOLE),
            Answer("total", "the number of updates in all $E$ epochs", sp.Integer(e * per_epoch), tolerance=WHOLE,
                   follows=e * ref("per_epoch")),
            Answer("last_batch", "the number of examples in the last batch used in an epoch", sp.Integer(last),
                   tolerance=WHOLE),
            Answer("full_batch_total", "the number of updates of full-batch gradient descent in $E$ epochs",
                   sp.Integer(e), tolerance=WHOLE),
            Answer("sgd_total", "the number of updates of single-example SGD in $E$ epochs", sp.Integer(n * e),
                   tolerance=WHOLE),
        ],
        steps=steps,
        misconceptions=mis,
        given=[sp.Integer(n), sp.Integer(b), sp.Integer(e)],
        style="integers",
    )


def per_example_gradients(w: sp.Expr, xs: list, ys: list, half: sp.Rational) -> list[sp.Expr]:
    """dℓ_i/dw of ℓ_i = c·(w·x_i − y_i)² with c = 1 or 1/2: the gradient of each example alone."""
    return [2 * half * x * (w * x - y) for x, y in zip(xs, ys)]


def minibatch_gradient(rng: np.random.Generator, examples: int = 4, convention: str = "mean") -> Variant:
    """Full-batch, single-example and mini-batch gradients of MSE for ŷ = w·x, and one mini-batch step."""
    n = option("minibatch_gradient", "examples", examples, (3, 4, 5, 6))
    conv = option("minibatch_gradient", "convention", convention, CONVENTIONS)
    half, formula = CONVENTIONS[conv]
    w = short_decimal(rng, -1.5, 1.5, places=1)
    xs = [nonzero_int(rng, -3, 3) for _ in range(n)]
    ys = [integer(rng, -4, 4) for _ in range(n)]
    eta = pick(rng, [sp.Rational(1, 10), sp.Rational(1, 20), sp.Rational(1, 4), sp.Rational(1, 2)])
    single = int(rng.integers(n))
    batch = sorted(int(i) for i in rng.choice(n, size=2, replace=False))
    g = per_example_gradients(w, xs, ys, half)
    if any(gi == 0 for gi in g):
        raise Reject("an example has zero gradient")
    full = sum(g) / n
    mini = sum(g[i] for i in batch) / len(batch)
    if full == 0 or mini == 0 or mini == full or g[single] in (full, mini):
        raise Reject("the gradients are not told apart")
    w_new = w - eta * mini
    ids = ", ".join(str(i + 1) for i in batch)
    statement = (
        f"A one-weight model $\\hat y = w x$ has $w = {latex_decimal(w)}$. The data set has $N = {n}$ examples "
        f"$x = {latex(xs)}$ with targets $y = {latex(ys)}$ (examples numbered $1$ to ${n}$). "
        f"The loss of a batch is ${formula}$ over the examples of that batch ($N$ is the batch size).\n\n"
        f"Compute the gradient $\\partial L / \\partial w$ of each example on its own, the full-batch gradient, "
        f"the single-example gradient of example ${single + 1}$, and the mini-batch gradient of the batch "
        f"of examples ${ids}$. Then take one gradient descent step with that mini-batch and $\\eta = {latex_decimal(eta)}$."
    )
    steps = [
        Step(f"Per example, $\\partial \\ell_i/\\partial w = {latex_decimal(2 * half)}\\, x_i (w x_i - y_i)$:", latex_decimal(g)),
        Step(f"Full batch: the mean of all ${n}$ per-example gradients.",
             f"\\frac{{1}}{{{n}}}\\left({latex_sum(g)}\\right) = {latex_decimal(full)}"),
        Step(f"Single example ${single + 1}$: its own gradient.", latex_decimal(g[single])),
        Step(f"Mini-batch $\\{{{ids}\\}}$: the mean of its per-example gradients (divide by the batch size 2, not by $N$).",
             f"\\frac{{1}}{{2}}\\left({latex_sum([g[batch[0]], g[batch[1]]])}\\right) = {latex_decimal(mini)}"),
        Step("One step:", f"w \\leftarrow {latex_decimal(w)} - {latex_decimal(eta)} \\cdot {paren(mini)} = {latex_decimal(w_new)}"),
    ]
    other = sp.Rational(1, 2) if half == 1 else sp.Integer(1)
    mis = [
        Misconception("mini-batch sum instead of mean", "minibatch", 2 * mini,
                      "The mini-batch gradient is the mean of the per-example gradients in the batch, not their sum."),
        Misconception("divided by N instead of B", "minibatch", 2 * mini / n,
                      "Average over the examples in the batch: divide by the batch size, not by the size of the data set."),
        Misconception("full-batch sum instead of mean", "full_batch", n * full,
                      "The full-batch gradient is the mean over all examples, not the sum."),
        Misconception("sign flipped", "per_example", [-gi for gi in g],
                      "Check the sign: the derivative of (w x − y)² is 2 x (w x − y), with the prediction first."),
        Misconception("other convention", "per_example", [gi * other / half for gi in g],
                      "You used the other MSE convention: check whether the loss has 1/N or 1/(2N) in front."),
        Misconception("sign flipped", "w_new", w + eta * mini,
                      "Gradient descent steps against the gradient: subtract η times the gradient."),
        Misconception("mini-batch sum instead of mean", "w_new", w - eta * 2 * mini,
                      "Your step uses the sum of the batch's gradients; use their mean."),
    ]
    return Variant(
        problem="minibatch_gradient",
        title="Full-batch, single-example and mini-batch gradients",
        statement=statement,
        params={"mse_convention": conv, "w": to_str(w), "x": to_str(xs), "y": to_str(ys), "eta": to_str(eta),
                "single": single + 1, "batch": [i + 1 for i in batch]},
        answers=[
            Answer("per_example", "the gradient of each example on its own, in order", g, kind="vector"),
            Answer("full_batch", "the full-batch gradient", full, nonzero=True,
                   follows=sum(refs("per_example", g)) / n),
            Answer("single", f"the single-example gradient of example {single + 1}", g[single], nonzero=True,
                   follows=ref("per_example", single)),
            Answer("minibatch", f"the mini-batch gradient of examples {ids}", mini, nonzero=True,
                   follows=sum(ref("per_example", i) for i in batch) / len(batch)),
            Answer("w_new", "the weight after one mini-batch step", w_new, follows=w - eta * ref("minibatch")),
        ],
        steps=steps,
        misconceptions=mis,
        given=[w, eta] + xs + ys,
        style="short decimals",
    )


PROBLEMS = [
    ProblemType("updates_per_epoch", 5, "hand", "Updates per epoch and in total with mini-batches",
                updates_per_epoch, "batching"),
    ProblemType("minibatch_gradient", 5, "hand", "Full-batch, single-example and mini-batch gradients of MSE",
                minibatch_gradient, "batching"),
]

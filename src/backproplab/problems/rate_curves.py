"""Chapter 2 — the role of the learning rate, read off three real runs.

One generated regression problem (a line fitted by MSE) is trained by full-batch
gradient descent from the same start with three rates: a small one (ηλ_max near
0.1: every step a small fraction of the way, slow), a medium one (ηλ_max near 1:
fast), and a large one (ηλ_max above 2: every step overshoots along the steepest
direction by more than it started from, and the loss grows). λ_max is the largest
curvature of the loss. The student matches each curve to its rate, says why the
large rate's loss grows, and how to speed up the slow run.
"""

from __future__ import annotations

import numpy as np

from .choices import Wrong, choice
from .curve_plots import epoch_frame
from .exact import R
from .training_runs import descend, floats, line_curvature, line_data
from .variant import Answer, Line, Misconception, Plot, ProblemType, Reject, Step, Variant

RATES = ["small", "medium", "large"]
RUNS = ["A", "B", "C"]
COLOURS = {"A": "tab:blue", "B": "tab:orange", "C": "tab:green"}  # by run letter: a colour never tells the rate
EPOCHS = 30
# ηλ_max of each rate: where its run lands (below 2 it converges, above 2 it diverges)
TIMES_CURVATURE = {"small": (0.06, 0.1), "medium": (0.8, 1.2), "large": (2.05, 2.2)}

WRONG_ORDERS = {
    ("small", "large", "medium"): ("a larger rate assumed always faster",
                                   "A larger rate is faster only while it is stable: past 2/λ_max every step overshoots "
                                   "the minimum by more than it started from, and the loss grows."),
    ("large", "medium", "small"): ("small and large rates swapped",
                                   "A small rate takes small steps: its loss falls, but slowly. It is the large rate "
                                   "whose steps overshoot until the loss grows."),
    ("medium", "small", "large"): ("small and medium rates swapped",
                                   "While both are stable, the larger rate goes further each step: the medium rate's "
                                   "loss falls faster than the small one's."),
    ("medium", "large", "small"): ("the growing run taken for the smallest rate",
                                   "A small rate cannot make the loss grow: each of its steps goes a little way "
                                   "downhill. A growing loss is a rate that is too large."),
    ("large", "small", "medium"): ("the slow run taken for the largest rate",
                                   "The slowly falling run has the smallest steps, so the smallest rate; the growing "
                                   "one has the largest."),
}
GROW_RIGHT = ("Along the steepest direction each step overshoots the minimum by more than it started from, so the "
              "error is multiplied by more than 1 in size at every step.")
GROW_WRONG: Wrong = {
    "growth taken for a vanishing gradient": (
        "The gradient vanishes at a large rate, so the run cannot make progress.",
        "The gradient grows with the error here; a vanishing gradient gives a flat loss, not a growing one."),
    "large rate thought to climb": (
        "A large rate makes gradient descent step up the slope instead of down it.",
        "Every step still goes against the gradient, downhill; it is too long, and lands higher on the other side."),
    "growth blamed on local minima": (
        "The loss has local minima that trap the run with the large rate.",
        "The MSE of a line is a bowl with a single minimum; nothing traps the run, it overshoots."),
    "growth taken for a slow start": (
        "The run needs more epochs before its loss starts to fall.",
        "Its loss grows by the same factor at every step: more epochs only make it larger."),
}
SPEED_RIGHT = "A larger rate, still below the one whose loss grows."
SPEED_WRONG: Wrong = {
    "smaller rate thought faster": ("An even smaller rate.", "A smaller rate takes smaller steps: slower still."),
    "rate past the stable limit": ("A rate larger than the largest one shown.",
                                   "That rate is past the stable limit too: its loss would grow."),
    "more data thought faster": ("More training data.", "More data changes the loss a little, not the size of the steps."),
    "restart thought faster": ("Restarting from a new random start.",
                               "The loss of a line has one minimum: from any start the small rate is as slow."),
}


def learning_rate_curves(rng: np.random.Generator) -> Variant:
    """Three real runs of one problem with a small, a medium and a large rate: which curve is which, and why."""
    data, truth = line_data(rng, 20, float(rng.uniform(0.3, 0.5)))
    curvature = line_curvature(data["x"], "mse")
    rates = {r: float(f"{rng.uniform(*TIMES_CURVATURE[r]) / curvature:.2g}") for r in RATES}
    if not (rates["small"] * curvature < 0.15 and 0.6 < rates["medium"] * curvature < 1.5
            and rates["large"] * curvature > 2.02):
        raise Reject("a rounded rate left its range")
    start = [truth["w"] + float(rng.choice([-1, 1])) * float(rng.uniform(2, 3)), truth["b"] + float(rng.uniform(-2, 2))]
    runs = {r: descend("line-mse", data, np.array(start), eta, EPOCHS)[0] for r, eta in rates.items()}
    if not (runs["large"][-1] > 10 * runs["large"][0] and runs["medium"][-1] < runs["small"][-1] < runs["small"][0]):
        raise Reject("the three runs are not told apart")
    shown = [RATES[i] for i in rng.permutation(3)]  # the rate of run A, B, C
    frame = epoch_frame(EPOCHS, [v for r in runs.values() for v in r], "training loss")
    xs = tuple(float(e) for e in range(EPOCHS + 1))
    plot = Plot("Training loss of the three runs", frame,
                [Line(xs, tuple(runs[r]), COLOURS[label], label=f"run {label}") for label, r in zip(RUNS, shown)],
                audience="student")
    rate_text = ", ".join(f"$\\eta = {rates[r]:g}$ (`'{r}'`)" for r in RATES)
    statement = (
        "A line $\\hat y = w x + b$ is fitted to a generated data set by full-batch gradient descent on the mean "
        f"squared error, from the same start, for {EPOCHS} epochs, three times: with {rate_text}. The plot shows "
        "the three training losses (run A, B and C, in some order; logarithmic axis).\n\n"
        "1. `rates`: the rate of run A, of run B and of run C.\n"
        "2. `why_grows`: why does one run's loss grow?\n"
        "3. `speed_up`: what would make the slowest run reach a low loss in fewer epochs?"
    )
    by_rate = {r: label for label, r in zip(RUNS, shown)}
    steps = [
        Step(f"The loss of run {by_rate['large']} grows: its rate is too large. Of the two that fall, run "
             f"{by_rate['medium']} falls faster, so it has the larger of the two other rates; run {by_rate['small']} "
             "the smallest."),
        Step(f"Along the steepest direction of this loss (curvature $\\lambda_{{\\max}} \\approx {curvature:.3g}$) a "
             "step multiplies the error by $1 - \\eta \\lambda_{\\max}$: "
             f"${1 - rates['small'] * curvature:.2f}$, ${1 - rates['medium'] * curvature:.2f}$ and "
             f"${1 - rates['large'] * curvature:.2f}$ for the three rates. Below $-1$ every step overshoots by more "
             "than it started from."),
        Step("The small rate's factor is close to 1: each step covers a small part of the way. A larger rate, still "
             f"below $2/\\lambda_{{\\max}} \\approx {2 / curvature:.3g}$ where the loss starts to grow, covers more "
             "of it per step."),
    ]
    mis = []
    for order, (name, feedback) in WRONG_ORDERS.items():
        called = dict(zip(RATES, order))
        mis.append(Misconception(name, "rates", [called[r] for r in shown], feedback))
    grows, grows_mis = choice(rng, "why_grows", "why one run's loss grows", GROW_RIGHT, GROW_WRONG, 3)
    speed, speed_mis = choice(rng, "speed_up", "what speeds up the slowest run", SPEED_RIGHT, SPEED_WRONG, 3)
    return Variant(
        problem="learning_rate_curves",
        title="Which learning rate made which curve?",
        statement=statement,
        params={"x": floats(data["x"]), "y": floats(data["y"]), "start": start, "rates": rates, "epochs": EPOCHS,
                "shown": shown, "losses": runs},
        answers=[
            Answer("rates", "the rate of runs A, B and C", shown, kind="choice", choices=list(RATES)),
            grows,
            speed,
        ],
        steps=steps,
        misconceptions=mis + grows_mis + speed_mis,
        plots=[plot],
        given=[R(str(rates[r])) for r in RATES],
        style="decimals",
    )


PROBLEMS = [
    ProblemType("learning_rate_curves", 2, "hand", "Match loss curves to small, medium and large learning rates",
                learning_rate_curves, "gradient-step", concept=True),
]

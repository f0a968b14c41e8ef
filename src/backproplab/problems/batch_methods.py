"""Chapter 5 — full batch, mini-batches or single examples: what each looks like, and when to use which.

Two conceptual problems. In the first, one generated regression problem is really
trained three ways from the same start with the same learning rate for the same
epochs (problems/training_runs.py): full-batch gradient descent, mini-batches, and
single examples, each logging the loss of the batch it is about to update on. The
three logs are shown as three plots in a shuffled order; the student says which is
which, why the single-example log is the noisiest, and which run does the most work.
In the second, a data set, a memory budget and the hardware are described, and the
student picks the method and the batch size and says why.

Every wrong option is a named misconception with its own feedback.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..tolerance import WHOLE
from .choices import Wrong, choice
from .curve_plots import epoch_frame
from .exact import pick, shuffled_choices
from .training_runs import batch_run, floats, rounded_data, roughness, shuffled_orders
from .variant import Answer, Line, Misconception, Plot, ProblemType, Reject, Step, Variant, option

METHODS = ["full-batch", "mini-batch", "single-example"]
RUNS = ["A", "B", "C"]
EPOCHS = 6
LOWEST_LOSS = 1e-3  # the plots' axis stops here: a single example that is fitted exactly runs off its bottom

# Which run is which, wrong: the runs put on the smooth, the medium and the jagged curve (right: full,
# mini, single), each with its name and what it misses.
WRONG_ORDERS = {
    ("single-example", "mini-batch", "full-batch"): (
        "noise and batch size reversed",
        "The more examples a batch averages, the less its gradient and its loss vary from update to update: "
        "the full batch gives the smoothest log, single examples the most jagged."),
    ("mini-batch", "full-batch", "single-example"): (
        "full batch and mini-batches swapped",
        "Full-batch gradient descent makes one update per epoch, so its log has one point per epoch and is smooth; "
        "mini-batches make N/B updates per epoch, and their losses vary a little from batch to batch."),
    ("full-batch", "single-example", "mini-batch"): (
        "mini-batches and single examples swapped",
        "Single examples make N updates per epoch, each logging the loss of one example, so their log is the most "
        "jagged; a mini-batch averages B examples, so its log varies less."),
    ("mini-batch", "single-example", "full-batch"): (
        "full batch taken for the noisiest",
        "The full batch's gradient is the exact gradient of the whole data set: its log falls smoothly, one point "
        "per epoch. The jagged log is the single examples', the medium one the mini-batches'."),
    ("single-example", "full-batch", "mini-batch"): (
        "single examples taken for the smoothest",
        "A single example's loss varies the most from update to update: its log is the jagged one. The smooth log, "
        "one point per epoch, is the full batch's."),
}

NOISE_RIGHT = ("Each of its updates uses the gradient of a single example, a noisy estimate of the gradient of the "
               "whole data set, and logs the loss of that one example.")
NOISE_WRONG: Wrong = {
    "updates per epoch reversed": (
        "It makes the fewest updates per epoch.",
        "Single examples make the most updates per epoch, N of them; the full batch makes one."),
    "learning rate blamed": (
        "Its learning rate is larger.",
        "All three runs use the same learning rate; what differs is how many examples each gradient averages."),
    "shuffling blamed": (
        "Shuffling the examples every epoch changes the loss function.",
        "Shuffling changes the order in which examples are used, not the loss; the mini-batch run is shuffled too."),
    "noise taken for divergence": (
        "Single examples make gradient descent diverge.",
        "Its loss does not grow: it falls, noisily, as fast per epoch as the others or faster."),
}
WORK = ["full-batch", "mini-batch", "single-example", "equal"]
WORK_WRONG = {
    "single-example": ("most updates taken for most work",
                       "Single examples make the most updates, but each uses one example's gradient: in an epoch "
                       "every method computes the gradient of each of the N examples once."),
    "full-batch": ("largest batch taken for most work",
                   "The full batch uses all N examples, but only once per epoch: in an epoch every method computes "
                   "the gradient of each example once."),
    "mini-batch": ("mini-batches taken for most work",
                   "N/B updates of B examples each is N per-example gradients per epoch, as for the other two."),
}


def match_batch_curves(rng: np.random.Generator) -> Variant:
    """Three real runs of the same problem (full batch, mini-batches, single examples): which log is which."""
    n = int(pick(rng, [32, 40, 48]))
    b = int(pick(rng, [4, 8]))
    w, c = round(float(rng.uniform(-2, 2)), 1), round(float(rng.uniform(-1, 1)), 1)
    x = rounded_data(rng.uniform(-2, 2, n))
    y = rounded_data(w * x + c + rng.normal(0, float(rng.uniform(0.3, 0.5)), n))
    start = (round(w + float(rng.choice([-1, 1])) * float(rng.uniform(2, 3)), 1), round(c + float(rng.uniform(-2, 2)), 1))
    # A rate safe for every single example (its loss's curvature is 2(x² + 1)), so no run diverges.
    eta = round(float(rng.uniform(0.3, 0.45)) / float(np.max(2 * (x * x + 1))), 3)
    shuffle_seed = int(rng.integers(2**31))
    orders = shuffled_orders(shuffle_seed, n, EPOCHS)
    runs = {m: batch_run(x, y, start, eta, size, orders) for m, size in zip(METHODS, (n, b, 1))}
    rough = {m: roughness(r.loss) for m, r in runs.items()}
    if not (rough["full-batch"] < 1 + 1e-9 and rough["mini-batch"] > 1.5 and rough["single-example"] > 1.5 * rough["mini-batch"]):
        raise Reject("the three logs are not told apart by their noise")
    shown = [METHODS[i] for i in rng.permutation(3)]  # the method behind plot A, B, C
    frame = epoch_frame(EPOCHS, [v for r in runs.values() for v in r.loss], "batch loss", lowest=LOWEST_LOSS)
    plots = [Plot(f"Run {label}: the loss of each batch before its update", frame,
                  [Line(tuple(runs[m].at), tuple(runs[m].loss), "tab:blue", width=1.0)], audience="student")
             for label, m in zip(RUNS, shown)]

    statement = (
        f"The same model $\\hat y = w x + b$ is trained on the same $N = {n}$ examples with the mean squared error, "
        f"from the same start, with the same learning rate, for {EPOCHS} epochs, in three ways: full-batch gradient "
        f"descent (batch size $N$), mini-batches of $B = {b}$ examples, and single examples (batch size 1), the "
        "examples shuffled every epoch. Each run logs the loss of the batch it is about to update on. Runs A, B "
        "and C below are the three, in some order (logarithmic loss axes).\n\n"
        "1. `methods`: the method of run A, of run B and of run C.\n"
        "2. `why_noisy`: why is the single-example log the noisiest?\n"
        "3. `work`: which run computes the most per-example gradients in its "
        f"{EPOCHS} epochs (`'equal'` if none computes more than the others)?"
    )
    by_curve = {m: label for label, m in zip(RUNS, shown)}
    steps = [
        Step(f"Count the points: the full batch logs one loss per epoch ({EPOCHS} in all), mini-batches $N/B = {n // b}$ "
             f"per epoch, single examples $N = {n}$ per epoch. The smooth log with few points is run "
             f"{by_curve['full-batch']}; of the two jagged ones, the mini-batch log (run {by_curve['mini-batch']}) "
             f"varies less than the single-example log (run {by_curve['single-example']})."),
        Step("Each update's gradient averages the examples of its batch; one example's gradient, and its loss, "
             "vary far more from update to update than an average over B or N examples."),
        Step(f"Per epoch every method computes the gradient of each of the {n} examples once: one batch of {n}, "
             f"{n // b} batches of {b}, or {n} single examples. The work is equal; only the number of updates differs."),
    ]
    mis = []
    for order, (name, feedback) in WRONG_ORDERS.items():
        wrong = dict(zip(METHODS, order))  # the true method -> what the student calls it
        mis.append(Misconception(name, "methods", [wrong[m] for m in shown], feedback))
    noisy, noisy_mis = choice(rng, "why_noisy", "why the single-example log is the noisiest", NOISE_RIGHT, NOISE_WRONG, 3)
    mis += noisy_mis
    mis += [Misconception(name, "work", m, feedback) for m, (name, feedback) in WORK_WRONG.items()]
    return Variant(
        problem="match_batch_curves",
        title="Full batch, mini-batches or single examples?",
        statement=statement,
        params={"x": floats(x), "y": floats(y), "start": list(start), "eta": eta, "epochs": EPOCHS,
                "batch_sizes": {"full-batch": n, "mini-batch": b, "single-example": 1}, "shuffle_seed": shuffle_seed,
                "shown": shown, "logs": {m: {"at": r.at, "loss": r.loss} for m, r in runs.items()}},
        answers=[
            Answer("methods", "the method of runs A, B and C", shown, kind="choice", choices=list(METHODS)),
            noisy,
            Answer("work", "the run that computes the most per-example gradients", "equal", kind="choice",
                   choices=list(WORK)),
        ],
        steps=steps,
        misconceptions=mis,
        plots=plots,
        given=[sp.Integer(n), sp.Integer(b)],
        style="integers",
    )


# --- which method, which batch size -----------------------------------------------------------------------

SETTINGS = {
    "mini-batch": "the data set is far larger than the memory holds, and the hardware computes a batch in parallel",
    "full-batch": "the whole data set fits in memory, and every update must use the exact gradient",
    "single-example": "examples arrive one at a time and the model must learn from each as it arrives",
}
REASONS = {
    "mini-batch": "The data set is far too large for memory, and a batch that fills the memory is computed in parallel "
                  "in about the time of one example, so each update averages many examples at little cost.",
    "full-batch": "The whole data set fits in memory at once, and only the full batch gives the exact gradient of the "
                  "loss at every step.",
    "single-example": "Each example must be learned from the moment it arrives and is not kept, so every update can "
                      "use that one example only.",
}
FALSE_REASONS: Wrong = {
    "single-example gradient thought exact": (
        "A single example's gradient is the most accurate estimate of the full gradient.",
        "One example's gradient is the noisiest estimate of the full gradient; averaging more examples makes it "
        "more accurate."),
    "updates per epoch reversed": (
        "Larger batches make more updates per epoch.",
        "Larger batches make fewer updates per epoch: N/B of them."),
    "smaller batches thought to need less computation per epoch": (
        "Smaller batches compute fewer gradients per epoch.",
        "Every method computes each example's gradient once per epoch; small batches only update more often."),
}
MB_PER_GB = 1000


def largest_power_of_two(k: int) -> int:
    """The largest power of two that is at most k (k ≥ 1)."""
    return 1 << (k.bit_length() - 1)


def choose_batch_method(rng: np.random.Generator, setting: str | None = None) -> Variant:
    """Given a data set, a memory budget and the hardware: full batch, mini-batches or single examples, the
    batch size, and why."""
    kind = option("choose_batch_method", "setting", setting, [None, *METHODS]) or str(rng.choice(METHODS))
    # MB of memory one example takes in a training step, and GB free for a batch: one digit each, and a
    # quotient that is never whole (so it must be rounded down) with 3 or 4 digits, for every student
    per_example = int(pick(rng, [3, 6, 7, 9]))
    memory = int(pick(rng, [2, 4, 8]))
    capacity = MB_PER_GB * memory // per_example
    power = largest_power_of_two(capacity)
    if capacity == power or capacity < 64:
        raise Reject("the capacity is a power of two, or too small to tell the options apart")
    if kind == "mini-batch":
        n = int(pick(rng, [120_000, 250_000, 600_000, 1_200_000]))
        what = f"$N = {n:,}$ images".replace(",", "{,}")
        story = ("a GPU computes a batch of examples in parallel, in about the time of one, as long as the batch fits "
                 "in its free memory")
        answer = power
    elif kind == "full-batch":
        n = int(rng.integers(10, min(100, capacity // 20) + 1)) * 10  # at most half the capacity, at most 1000
        what = f"$N = {n}$ rows of a table"
        story = ("the loss must fall smoothly and reproducibly, so every update must use the exact gradient of the "
                 "loss over all the examples")
        answer = n
    else:
        n = 0
        what = "a stream of sensor readings, one a second"
        story = ("the model must adapt to each reading as it arrives, and readings are not stored: each one is gone "
                 "once the next arrives")
        answer = 1
    statement = (
        f"You train a network on {what}. One example takes ${per_example}$ MB of memory during a training step, "
        f"and ${memory}$ GB ($1$ GB $= {MB_PER_GB}$ MB) are free for a batch; {story}. A mini-batch size is "
        "best a power of two, the largest that fits.\n\n"
        "1. `fits`: the largest number of examples that fit in the free memory at once.\n"
        "2. `method`: full-batch gradient descent, mini-batches, or single examples?\n"
        "3. `batch_size`: the number of examples in each update (for the full batch, all of them).\n"
        "4. `why`: the reason."
    )
    steps = [
        Step("At most this many examples fit in memory at once:",
             f"\\left\\lfloor \\frac{{{memory} \\cdot {MB_PER_GB}}}{{{per_example}}} \\right\\rfloor = {capacity}"),
        Step(f"Here {SETTINGS[kind]}: {REASONS[kind][0].lower() + REASONS[kind][1:]}"),
        Step({"mini-batch": f"The largest power of two at most {capacity} is $2^{{{power.bit_length() - 1}}}$:",
              "full-batch": f"All $N = {n}$ examples fit ({n} ≤ {capacity}), so each update uses all of them:",
              "single-example": "One reading at a time:"}[kind], f"B = {answer}"),
    ]
    mis = [Misconception(f"{m} where {kind} is needed", "method", m,
                         f"Here {SETTINGS[kind]}. {m.capitalize()} fits another setting: {SETTINGS[m]}.")
           for m in METHODS if m != kind]
    wrong_sizes = {
        "mini-batch": {"largest that fits, not a power of two": capacity, "next power of two": 2 * power,
                       "the whole data set": n},
        "full-batch": {"a power of two instead of the full batch": power if power != n else 2 * power,
                       "one example": 1},
        "single-example": {"the largest batch that fits": capacity, "a power of two instead of one reading": power},
    }[kind]
    size_feedback = {
        "largest that fits, not a power of two": f"{capacity} examples fit, but the statement asks for a power of two.",
        "next power of two": f"{2 * power} examples need more memory than is free: only {capacity} fit.",
        "the whole data set": f"All {n:,} examples need far more memory than is free.",
        "a power of two instead of the full batch": "Every update must use the exact gradient: the batch is all "
                                                    "N examples, whatever the power of two.",
        "one example": "Single examples give a noisy gradient; the setting asks for the exact one.",
        "the largest batch that fits": "Readings are not stored: there is never more than one to learn from.",
        "a power of two instead of one reading": "Readings are not stored: there is never more than one to learn from.",
    }
    mis += [Misconception(name, "batch_size", sp.Integer(v), size_feedback[name]) for name, v in wrong_sizes.items()]
    mis += [Misconception("1 GB taken as 1024 MB", "fits", sp.Integer(1024 * memory // per_example),
                          f"The statement counts 1 GB as {MB_PER_GB} MB.")]
    mis.append(Misconception("not rounded down", "fits", sp.Rational(MB_PER_GB * memory, per_example),
                             "Only whole examples fit: round the quotient down."))
    others = [m for m in METHODS if m != kind]
    # the reasons for the other settings (true there, not here) and one false claim, drawn
    wrong_reasons: Wrong = {f"the reason for {m}": (REASONS[m], f"That reason holds when {SETTINGS[m]}; here "
                                                              f"{SETTINGS[kind]}.") for m in others}
    false = list(FALSE_REASONS)[int(rng.integers(len(FALSE_REASONS)))]
    why, why_mis = choice(rng, "why", "the reason", REASONS[kind], wrong_reasons | {false: FALSE_REASONS[false]}, 3)
    mis += why_mis
    return Variant(
        problem="choose_batch_method",
        title="Which method, which batch size?",
        statement=statement,
        params={"setting": kind, "N": n, "per_example_mb": per_example, "memory_gb": memory, "mb_per_gb": MB_PER_GB,
                "stream": kind == "single-example", "exact_gradient": kind == "full-batch",
                "parallel_device": kind == "mini-batch"},
        answers=[
            Answer("fits", "the largest number of examples that fit in memory at once", sp.Integer(capacity),
                   tolerance=WHOLE),
            Answer("method", "the method", kind, kind="choice", choices=shuffled_choices(rng, kind, others, 2)),
            Answer("batch_size", "the batch size", sp.Integer(answer), tolerance=WHOLE),
            why,
        ],
        steps=steps,
        misconceptions=mis,
        given=[sp.Integer(per_example), sp.Integer(memory)] + ([sp.Integer(n)] if kind == "full-batch" else []),
        style="integers",
    )


PROBLEMS = [
    ProblemType("match_batch_curves", 5, "hand", "Match training logs to full-batch, mini-batch and single-example runs",
                match_batch_curves, "batching", concept=True),
    ProblemType("choose_batch_method", 5, "hand", "Choose full batch, mini-batches or single examples, and the batch size",
                choose_batch_method, "batching", concept=True),
]

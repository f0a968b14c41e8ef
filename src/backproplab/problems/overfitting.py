"""Chapter 6 — reading training curves: when to stop, over- or underfitting, which fix.

Each variant draws its own pair of loss curves. The plot is the question: the
student reads off the epoch with the lowest validation loss, says whether the
model over- or underfits, and picks the fix that applies (multiple choice with
distractors drawn per variant). The curves are stored in the variant, so the key
(the exact argmin of the plotted numbers) is the plot's own data.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..tolerance import WHOLE
from .exact import R, shuffled_choices
from .figures import round_range
from .variant import Answer, Frame, Line, Misconception, Plot, ProblemType, Reject, Step, Variant

DIAGNOSES = ["overfitting", "underfitting", "a good fit"]

# diagnosis -> fixes that help; the other diagnosis's fixes make it worse.
FIXES = {
    "overfitting": [
        "Stop training at the epoch with the lowest validation loss (early stopping).",
        "Add weight decay (L2 regularisation).",
        "Add dropout.",
        "Train on more (or augmented) data.",
        "Use a smaller network.",
    ],
    "underfitting": [
        "Train for more epochs.",
        "Use a larger network (more units or layers).",
        "Reduce the regularisation (weight decay, dropout).",
    ],
}
NEITHER = ["Lower the learning rate tenfold and start again.", "Shuffle the validation set."]

# A readable minimum: its neighbours are at least this share of the plotted range above it.
MARGIN = 0.03


def overfitting_curves(rng: np.random.Generator, epochs: int, stop: int, floor: float) -> tuple[list, list]:
    """Training loss falling below `floor`; validation loss falling to its minimum at `stop`, then rising."""
    e = np.arange(1, epochs + 1)
    tau = rng.uniform(2.0, 4.0)
    start = floor + rng.uniform(1.0, 2.0)
    train = floor * 0.3 + (start - floor * 0.3) * np.exp(-(e - 1) / tau)
    drop = (start - floor) * np.exp(-(e - 1) / tau)
    rise = rng.uniform(0.03, 0.08) * np.maximum(0, e - stop) ** 1.3
    # The V-shaped term makes the minimum at `stop` stand out from its neighbours on the plot.
    val = floor + 0.15 + drop - drop[stop - 1] + np.where(e < stop, 0.05, 0.1) * np.abs(e - stop) + rise
    return train.tolist(), val.tolist()


def underfitting_curves(rng: np.random.Generator, epochs: int, floor: float) -> tuple[list, list]:
    """Both losses far above `floor`, close together, and still falling steadily at the last epoch."""
    e = np.arange(1, epochs + 1)
    level = floor + rng.uniform(0.5, 0.8)
    slope = rng.uniform(0.06, 0.09)
    train = level + slope * (epochs - e) + 0.4 * np.exp(-(e - 1) / 2.0)
    val = train + rng.uniform(0.05, 0.12)
    return train.tolist(), val.tolist()


def curves_plot(train: list[float], val: list[float], floor: float) -> Plot:
    """The student's plot: both losses per epoch, with markers, and the noise floor (the lowest
    achievable validation loss) dashed."""
    epochs = tuple(float(e) for e in range(1, len(train) + 1))
    # A grid line at every epoch, a label at every other one: the figure is small and the
    # student must read off an exact epoch.
    frame = Frame((0.0, epochs[-1] + 1), round_range(0.0, 1.05 * max(train + val)), xlabel="epoch", ylabel="loss",
                  xticks=epochs[1::2], xgrid=epochs, grid=True, fontsize=10)
    return Plot("Training and validation loss per epoch", frame, [
        Line(epochs, tuple(train), "tab:blue", marker="o", label="training loss", markersize=3),
        Line(epochs, tuple(val), "tab:orange", marker="s", label="validation loss", markersize=3),
        Line(frame.xlim, (floor, floor), "0.4", linestyle="--", label="noise floor"),
    ], audience="student")


def read_training_curves(rng: np.random.Generator, diagnosis: str | None = None) -> Variant:
    """Read a train/validation loss plot: when to stop, what goes wrong, and which fix applies."""
    kind = diagnosis or pick_kind(rng)
    epochs = int(rng.integers(12, 21))
    floor = round(float(rng.uniform(0.2, 0.5)), 2)
    if kind == "overfitting":
        train, val = overfitting_curves(rng, epochs, int(rng.integers(4, epochs - 4)), floor)
    else:
        train, val = underfitting_curves(rng, epochs, floor)
    train, val = [round(v, 3) for v in train], [round(v, 3) for v in val]
    stop = int(np.argmin(val)) + 1
    if min(val) < floor:
        raise Reject("the validation loss dips below the noise floor")
    span = max(train + val)  # the plot's y axis runs from 0 to the highest loss
    neighbours = [val[i] for i in (stop - 2, stop) if 0 <= i < epochs]
    if min(neighbours) - val[stop - 1] < MARGIN * span:
        raise Reject("the lowest validation loss is hard to read off the plot")
    right_fix = FIXES[kind][int(rng.integers(len(FIXES[kind])))]
    other = "underfitting" if kind == "overfitting" else "overfitting"
    fix_choices = shuffled_choices(rng, right_fix, FIXES[other] + NEITHER, 3)
    statement = (
        f"A network is trained for {epochs} epochs. The plot shows its training and validation loss after each "
        f"epoch. The dashed line, the noise floor (about {floor}), is the lowest validation loss any model can be "
        "expected to reach on this task: the noise in the data. A training loss can fall below it, by fitting "
        "that noise.\n\n"
        "After which epoch is the validation loss lowest (where would you stop)? Does the model overfit, "
        "underfit, or fit well at the end of training? Which change would help?"
    )
    if kind == "overfitting":
        story = (f"The training loss keeps falling, but the validation loss is lowest after epoch {stop} and "
                 "rises after it: the network starts fitting noise of the training set, so it overfits.")
    else:
        story = ("Both losses stay far above the noise floor and close to each other, and both are still "
                 f"falling at epoch {epochs}: the model underfits.")
    steps = [
        Step(story),
        Step("The right change: " + right_fix + " Each of the other options makes "
             + ("overfitting worse or does not address it." if kind == "overfitting"
                else "the model fit the training data less well, or does not address it.")),
    ]
    mis = [
        Misconception("over- and underfitting swapped", "diagnosis", other,
                      "Compare the two curves: overfitting is a falling training loss with a validation loss that "
                      "rises again; underfitting is both losses high."),
    ]
    if kind == "overfitting":
        mis.append(Misconception("stopped at the lowest training loss", "stop_epoch", sp.Integer(epochs),
                                 "Stop where the validation loss is lowest: the training loss always keeps falling."))
    return Variant(
        problem="read_training_curves",
        title="Reading training curves",
        statement=statement,
        params={"epochs": epochs, "floor": floor, "train": train, "val": val, "diagnosis": kind},
        answers=[
            Answer("stop_epoch", "the epoch with the lowest validation loss", sp.Integer(stop), tolerance=WHOLE),
            Answer("diagnosis", "what the curves show at the end of training", kind, kind="choice",
                   choices=shuffled_choices(rng, kind, [d for d in DIAGNOSES if d != kind], 2)),
            Answer("fix", "the change that would help", right_fix, kind="choice", choices=fix_choices),
        ],
        steps=steps,
        misconceptions=mis,
        plots=[curves_plot(train, val, floor)],
        given=[sp.Integer(epochs), R(str(floor))],
        style="short decimals",
    )


def pick_kind(rng: np.random.Generator) -> str:
    """Overfitting (the usual case in practice) two times in three, else underfitting."""
    return "overfitting" if rng.random() < 2 / 3 else "underfitting"


PROBLEMS = [
    ProblemType("read_training_curves", 6, "hand", "Overfitting: reading training and validation curves",
                read_training_curves, "failures", concept=True),
]

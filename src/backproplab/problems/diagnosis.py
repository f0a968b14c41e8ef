"""Chapter 6 — diagnose a training run from its curves, and pick the fix.

Each variant really trains something (problems/training_runs.py): a line fitted with
a rate above the stable limit (diverging), a line fitted by log-cosh with a rate far
too large (oscillating: the loss bounces without settling), a sigmoid unit started
saturated (a plateau: the gradient nearly vanishes from the start), a sine model
started in the basin of a poor local minimum, a model with as many weights as
training examples (overfitting), or a well-set run (healthy). The student sees the
training and validation loss with the noise floor, and the norm of the gradient, and
says what went wrong and which change fixes it.

Every wrong diagnosis and every wrong fix among the options is a named misconception
with its own feedback. A fix that could also help the run shown (clipping a diverging
run, weight decay on a saturated unit, momentum out of a local minimum) is never
offered as a wrong option.
"""

from __future__ import annotations

import numpy as np

from .choices import Wrong, choice
from .curve_plots import gradient_plot, loss_plot
from .exact import shuffled_choices
from .training_runs import DEFECT_RUNS, EPOCHS, Run, drawn_until_plain, weight_decay_helps
from .variant import Answer, Misconception, ProblemType, Step, Variant, option

DIAGNOSES = {
    "diverging": "the loss grows without bound",
    "oscillating": "the loss jumps up and down and never settles",
    "plateau": "stuck where the gradient nearly vanishes, as with saturated sigmoids",
    "local-minimum": "settled in a minimum that is worse than the best one",
    "overfitting": "fits the noise of the training set",
    "healthy": "nothing is wrong",
}

# What each kind of run looks like in the two pictures (the worked solution, and the feedback of a wrong diagnosis).
LOOKS = {
    "diverging": "a diverging run's losses and gradient grow by powers of ten",
    "oscillating": "an oscillating run's loss zigzags up and down far above the floor while its gradient stays large",
    "plateau": "a run on a plateau is flat from the very first epoch, with a tiny gradient all along",
    "local-minimum": "a run in a local minimum first falls, then flattens far above the noise floor while its "
                     "gradient falls towards 0: it has converged, to a poor minimum",
    "overfitting": "an overfitting run's training loss keeps falling below the noise floor while its validation "
                   "loss turns and rises",
    "healthy": "a healthy run's training and validation losses both fall to the noise floor and stay together",
}

FIXES = {
    "rate": "Lower the learning rate (say tenfold) and train again.",
    "clip": "Clip the norm of the gradient at every step.",
    "init": "Start from smaller initial weights and biases (a scaled initialisation such as Xavier's, biases at 0), "
            "so no sigmoid starts saturated.",
    "normalise": "Normalise each unit's pre-activation (batch normalisation), so the sigmoids work near 0.",
    "restart": "Restart from several random initialisations and keep the best run.",
    "early": "Stop at the epoch with the lowest validation loss (early stopping).",
    "decay": "Add weight decay (L2 regularisation).",
    "data": "Train on more data.",
    "epochs": "Train for more epochs.",
    "bigger": "Use a larger model, with more weights.",
    "momentum": "Add momentum.",
    "faster": "Raise the learning rate, to train faster.",
    "none": "No change is needed: this run is healthy.",
}
# What each change does (the first half of the feedback when it is picked for a run it does not fix).
PURPOSE = {
    "rate": "A lower rate makes every step smaller; it cures steps that overshoot, nothing else.",
    "clip": "Clipping only shortens gradients that are too long.",
    "init": "A smaller initialisation keeps sigmoids from starting saturated.",
    "normalise": "Normalising pre-activations keeps saturating units near 0.",
    "restart": "Restarts help a run that converged to a poor minimum.",
    "early": "Early stopping helps when the validation loss rises while the training loss falls.",
    "decay": "Weight decay fights overfitting by keeping weights small.",
    "data": "More data fights overfitting.",
    "epochs": "More epochs only help a run that is still making progress.",
    "bigger": "A larger model helps one that underfits; it overfits more easily.",
    "momentum": "Momentum speeds up steady progress; it does not change where a run is headed.",
    "faster": "A larger rate only gets sooner to where the run is headed.",
    "none": "Something is wrong with this run.",
}
# defect -> (changes that fix it, changes that do not and may be offered as wrong options). A change that
# might also help under some reading is in neither list, and never offered: clipping or early stopping for a
# diverging run, more data for one (a new sample can move the stable limit past the rate), momentum or a new
# initialisation for a local minimum, a lower rate or clipping for overfitting (in the same epochs they stop
# early), a larger model or momentum for overfitting (with more weights than examples, more weights can
# generalise better, and momentum can carry the run past the worst of it),
# weight decay, more epochs or momentum on a plateau. tests/test_runs_show_their_defect.py applies each
# offered change to the run and checks that the wrong ones do not fix it and the right ones do.
FIX_OPTIONS: dict[str, tuple[list[str], list[str]]] = {
    "diverging": (["rate"], ["init", "restart", "decay", "epochs", "none"]),
    "oscillating": (["rate"], ["init", "restart", "epochs", "none"]),
    "plateau": (["init", "normalise"], ["rate", "clip", "early", "data", "none"]),
    "local-minimum": (["restart"], ["rate", "clip", "early", "epochs", "none"]),
    "overfitting": (["early", "decay", "data"], ["epochs", "faster", "none"]),
    "healthy": (["none"], ["rate", "clip", "init", "normalise", "restart", "bigger"]),
}
WRONG_FIXES = 3  # distractors shown beside the right change
SHORT = {"rate": "a lower rate", "clip": "clipping", "init": "a smaller initialisation", "normalise": "normalisation",
         "restart": "restarts", "early": "early stopping", "decay": "weight decay", "data": "more data",
         "epochs": "more epochs", "bigger": "a larger model", "momentum": "momentum", "faster": "a larger rate",
         "none": "no change"}


def shown(run: Run, defect: str) -> str:
    """What this run's curves show, in words, with its own numbers."""
    t, v, g = run.train, run.val, run.grad
    if defect == "diverging":
        return (f"The training loss grows from {t[0]:.3g} to {t[-1]:.3g} and the gradient norm from {g[0]:.3g} to "
                f"{g[-1]:.3g}: each step overshoots the minimum by more than the last.")
    if defect == "oscillating":
        tail = t[len(t) // 2:]
        return (f"After the first epochs the training loss jumps between about {min(tail):.3g} and {max(tail):.3g} "
                f"at every step, far above the noise floor ({run.floor:.3g}), and the gradient stays large: every "
                "step jumps across the minimum.")
    if defect == "plateau":
        return (f"The training loss stays at {t[0]:.3g}, far above the noise floor ({run.floor:.3g}), from the first "
                f"epoch, and the gradient is tiny all along (below {max(g):.1g}): the sigmoid is saturated, so "
                "σ′ ≈ 0 and almost no gradient reaches the weights.")
    if defect == "local-minimum":
        return (f"The training loss falls from {t[0]:.3g} to {t[-1]:.3g} and stays there, far above the noise floor "
                f"({run.floor:.3g}), while the gradient falls from {g[0]:.3g} to {g[-1]:.1g}: the run has converged, "
                "to a poor minimum.")
    if defect == "overfitting":
        best = int(np.argmin(v))
        return (f"The training loss keeps falling, to {t[-1]:.3g}, below the noise floor ({run.floor:.3g}), but the "
                f"validation loss is lowest ({v[best]:.3g}) after epoch {best} and rises to {v[-1]:.3g}: the model "
                "fits the noise of its few training examples.")
    return (f"Both losses fall to about the noise floor ({run.floor:.3g}): training {t[-1]:.3g}, validation "
            f"{v[-1]:.3g}, and the gradient shrinks steadily.")


CAUSES = {
    "diverging": "The learning rate is above the stable limit 2/λ_max of the loss's curvature.",
    "oscillating": "The learning rate is far too large for the curvature at the minimum; the loss's slope is "
                   "bounded, so the run bounces around instead of blowing up.",
    "plateau": "The unit started with a large bias, deep in a flat tail of the sigmoid, on every example.",
    "local-minimum": "The loss is not convex: the run started in the basin of a minimum that is not the best one, "
                     "and gradient descent only goes downhill.",
    "overfitting": "The model has as many weights as there are training examples, so it can fit their noise.",
    "healthy": "The rate is well inside the stable range and the model suits the data.",
}


def diagnose_training_run(rng: np.random.Generator, defect: str | None = None) -> Variant:
    """Read a run's loss and gradient curves: what went wrong, and which change fixes it."""
    kind = option("diagnose_training_run", "defect", defect, [None, *DIAGNOSES]) or str(rng.choice(list(DIAGNOSES)))
    run = drawn_until_plain(DEFECT_RUNS[kind], rng)
    right_fixes, wrong_fixes = FIX_OPTIONS[kind]
    if kind == "overfitting" and not weight_decay_helps(run):
        right_fixes = [r for r in right_fixes if r != "decay"]  # offered only where this run shows it helping
    right = right_fixes[int(rng.integers(len(right_fixes)))]
    labels = ", ".join(f"`'{d}'` ({meaning})" for d, meaning in DIAGNOSES.items())
    statement = (
        f"A small model was trained by full-batch gradient descent for {EPOCHS} epochs on a generated data set. "
        "The first plot shows its training and validation loss after each epoch; the dashed noise floor is the "
        "loss of the function that generated the data, on the validation examples: about as low as a validation "
        "loss can be expected to get. The second plot shows the norm of the gradient of the training loss. "
        "Both have logarithmic axes.\n\n"
        f"What does the run show? Answer `diagnosis` with one of {labels}. Then choose the change that fixes "
        "it (`fix`)."
    )
    feedback_looks = shown(run, kind)
    mis = [Misconception(f"{kind} read as {other}", "diagnosis", other,
                         f"{feedback_looks} By contrast, {LOOKS[other]}.")
           for other in DIAGNOSES if other != kind]
    wrong: Wrong = {f"{SHORT[f]} for {'a healthy run' if kind == 'healthy' else kind}":
                    (FIXES[f], f"{PURPOSE[f]} {feedback_looks}") for f in wrong_fixes}
    fix, fix_mis = choice(rng, "fix", "the change that fixes it", FIXES[right], wrong, WRONG_FIXES)
    mis += fix_mis
    steps = [
        Step(feedback_looks),
        Step(f"So the run is `{kind}`: {DIAGNOSES[kind]}. {CAUSES[kind]}"),
        Step("Nothing needs fixing, and each of the other options would change a run that works." if kind == "healthy"
             else f"The change that fixes it: {FIXES[right]} The other options do not address what the curves show."),
    ]
    return Variant(
        problem="diagnose_training_run",
        title="Diagnose a training run",
        statement=statement,
        params={"defect": kind, "model": run.model, "data": run.data, "start": run.start, "eta": run.eta,
                "epochs": run.epochs, "train": run.train, "val": run.val, "grad": run.grad, "floor": run.floor,
                "truth": run.truth},
        answers=[
            Answer("diagnosis", "what the run shows", kind, kind="choice",
                   choices=shuffled_choices(rng, kind, [d for d in DIAGNOSES if d != kind], len(DIAGNOSES) - 1)),
            fix,
        ],
        steps=steps,
        misconceptions=mis,
        plots=[loss_plot("Training and validation loss after each epoch", run.epochs, run.train, run.val, run.floor),
               gradient_plot("Norm of the gradient of the training loss", run.epochs, run.grad)],
        given=[],
        style="decimals",
    )


PROBLEMS = [
    ProblemType("diagnose_training_run", 6, "hand", "Diagnose a training run from its curves and pick the fix",
                diagnose_training_run, "failures", concept=True),
]

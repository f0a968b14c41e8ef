"""Hidden tests: one gradient-descent step, and the loop with its history."""

import numpy as np

from backproplab.tasks import Call, Check, Probe

CHAPTER = 2
TITLE = "Gradient descent: one step and a loop"
SOLUTION = "descent"
FUNCTIONS = ["gd_step", "gd_loop"]

ASCENT = "you moved along the gradient (ascent): descent subtracts lr * gradient"


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """Two steps of different sizes, and two least-squares runs with different N."""
    out: list[Check] = []
    for case in (1, 2):
        w, g, lr = rng.normal(size=3 + case), rng.normal(size=3 + case), float(rng.uniform(0.05, 0.5))
        out.append(Check(f"gd_step, hidden case {case}", Call("gd_step", (w, g, lr)), sol.gd_step(w, g, lr),
                         probes=[Probe("sign flipped", w + lr * g, ASCENT)]))
    for case, n in enumerate((4, 7), start=1):
        X, y, w0 = rng.normal(size=(n, 2)), rng.normal(size=n), rng.normal(size=2)
        lr, steps = float(rng.uniform(0.02, 0.1)), int(rng.integers(3, 6))
        call = Call("gd_loop", (X, y, w0, lr, steps))
        ws, losses = sol.gd_loop(X, y, w0, lr, steps)
        # a gradient off by a constant factor k is a run with learning rate k * lr
        wrong = {
            "sign flipped": (sol.gd_loop(X, y, w0, -lr, steps), ASCENT),
            "scaled by N": (sol.gd_loop(X, y, w0, lr * n, steps), "your gradient is N times too large: the loss is a mean, so its gradient has 1/N"),
            "factor 2": (sol.gd_loop(X, y, w0, lr / 2, steps), "your gradient misses the factor 2 of the square"),
        }
        for part, label, want in ((0, "parameters", ws), (1, "losses", losses)):
            probes = [Probe(name, run[part], why) for name, (run, why) in wrong.items()]
            probes.append(Probe("history off by one", want[1:], "your history leaves out the starting point: entry 0 is w0 and its loss"))
            out.append(Check(f"gd_loop {label}, hidden case {case}", call, want, part=part, probes=probes))
    return out

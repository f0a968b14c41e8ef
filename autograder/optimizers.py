"""Hidden tests: momentum and Adam updates with their state."""

import numpy as np

from backproplab.tasks import Call, Check, Probe

CHAPTER = 5
TITLE = "Momentum and Adam"
SOLUTION = "optimizers"
FUNCTIONS = ["momentum_update", "adam_update"]

MIXED = ("you used another momentum convention; this task's is v <- beta * v + grad, w <- w - lr * v "
         "(not v <- beta * v + (1 - beta) * grad, nor v <- beta * v - lr * grad with w <- w + v)")


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """Momentum from a nonzero velocity; Adam at the first step and later, so t and bias correction show."""
    out: list[Check] = []
    w, g, v = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    lr, beta = float(rng.uniform(0.01, 0.2)), float(rng.choice([0.8, 0.9, 0.95]))
    call = Call("momentum_update", (w, g, v, lr, beta))
    want = sol.momentum_update(w, g, v, lr, beta)
    ema = beta * v + (1 - beta) * g
    lr_inside = beta * v - lr * g
    for part, label, wrongs in ((0, "w", (w - lr * ema, w + lr_inside)), (1, "v", (ema, lr_inside))):
        probes = [Probe("momentum conventions mixed up", x, MIXED) for x in wrongs]
        if part == 0:
            probes.append(Probe("sign flipped", w + lr * want[1], "you stepped along the velocity: w <- w - lr * v"))
        out.append(Check(f"momentum_update {label}", call, want[part], part=part, probes=probes))
    for case, t in enumerate((0, int(rng.integers(2, 6))), start=1):
        w, g, m = rng.normal(size=3), rng.normal(size=3), 0.1 * rng.normal(size=3)
        v = 0.1 * rng.uniform(0.1, 1, size=3) if t else np.zeros(3)
        m = m if t else np.zeros(3)
        lr = float(rng.uniform(0.001, 0.05))
        call = Call("adam_update", (w, g, m, v, t, lr))
        want = sol.adam_update(w, g, m, v, t, lr)
        m1, v1 = want[1], want[2]
        probes = [Probe("no bias correction", w - lr * m1 / (np.sqrt(v1) + 1e-8),
                        "you left out the bias correction m / (1 - beta1**t), v / (1 - beta2**t)")]
        for tt in (t, t + 2):
            if tt > 0:
                probes.append(Probe("Adam t off by one", w - lr * (m1 / (1 - 0.9**tt)) / (np.sqrt(v1 / (1 - 0.999**tt)) + 1e-8),
                                    "your bias correction uses the wrong step count: increment t first, then use the new t"))
        out.append(Check(f"adam_update w, hidden case {case}", call, want[0], part=0, probes=probes))
        out.append(Check(f"adam_update m and v, hidden case {case}", call, [m1, v1], part=slice(1, 3)))
        out.append(Check(f"adam_update t, hidden case {case}", call, want[3], part=3, probes=[
            Probe("Adam t off by one", t, "return the step count after this step, t + 1"),
            Probe("Adam t off by one", t + 2, "return the step count after this step, t + 1 (you added 2)")]))
    return out

"""Hidden tests: clipping a list of gradients by their global norm."""

import numpy as np

from backproplab.tasks import Call, Check, Probe

CHAPTER = 6
TITLE = "Clipping gradients by their global norm"
SOLUTION = "clipping"
FUNCTIONS = ["clip_by_global_norm"]


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """One list above the threshold (clipped) and one below (unchanged)."""
    out: list[Check] = []
    grads = [rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(1, 2))]
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    for case, max_norm in ((1, norm * rng.uniform(0.3, 0.7)), (2, norm * rng.uniform(1.3, 2.0))):
        call = Call("clip_by_global_norm", (grads, float(max_norm)))
        clipped, total = sol.clip_by_global_norm(grads, max_norm)
        per_array = [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]
        probes = [Probe("clipped each array separately", per_array,
                        "you clipped every array by its own norm; scale them all by one factor from the global norm")]
        if case == 2:
            probes.append(Probe("scaled up below the threshold", [g * max_norm / norm for g in grads],
                                "when the global norm is already at most max_norm the gradients stay unchanged"))
        out.append(Check(f"clip_by_global_norm gradients, hidden case {case}", call, clipped, part=0, probes=probes))
        out.append(Check(f"clip_by_global_norm norm, hidden case {case}", call, total, part=1, probes=[
            Probe("sum of norms", float(sum(np.linalg.norm(g) for g in grads)),
                  "the global norm is the square root of the sum of all squared entries, not a sum of norms")]))
    return out

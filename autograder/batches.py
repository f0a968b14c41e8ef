"""Hidden tests: the shuffled mini-batch iterator and SGD over epochs."""

import numpy as np

from backproplab.tasks import Call, Check, Probe

CHAPTER = 5
TITLE = "Mini-batches and SGD over epochs"
SOLUTION = "batches"
FUNCTIONS = ["minibatches", "sgd_train"]


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """Batches with and without drop_last on a size that does not divide N; SGD on two data sets."""
    out: list[Check] = []
    n, bs = int(rng.integers(9, 12)), 4
    if n % bs == 0:
        n += 1
    X, y = rng.normal(size=(n, 2)), rng.integers(0, 5, size=n)
    seed = int(rng.integers(2**31))
    for drop in (False, True):
        want = list(sol.minibatches(X, y, bs, np.random.default_rng(seed), drop))
        other = list(sol.minibatches(X, y, bs, np.random.default_rng(seed), not drop))
        order = np.arange(n)
        unshuffled = [(X[order[i:i + bs]], y[order[i:i + bs]]) for i in range(0, n - (n % bs if drop else 0), bs)]
        out.append(Check(f"minibatches drop_last={drop}, hidden case", Call("minibatches", (X, y, bs, {"__rng__": seed}, drop)),
                         want, probes=[
                             Probe("drop_last ignored" if drop else "last batch dropped", other,
                                   "the last, smaller batch must be kept unless drop_last is True, and skipped when it is"),
                             Probe("not shuffled", unshuffled, "take the examples in the order of rng.permutation(N)"),
                         ]))
    for case, n in enumerate((8, 10), start=1):
        X, y, w0 = rng.normal(size=(n, 3)), rng.normal(size=n), rng.normal(size=3)
        lr, epochs, seed = float(rng.uniform(0.02, 0.08)), 3, int(rng.integers(2**31))
        call = Call("sgd_train", (X, y, w0, lr, 4, epochs, {"__rng__": seed}))
        w, losses = sol.sgd_train(X, y, w0, lr, 4, epochs, np.random.default_rng(seed))
        runs = {  # case 1 has full batches only, so a summed batch gradient is a run with lr * batch_size
            "sign flipped": (-lr, "you stepped along the gradient: SGD subtracts lr * gradient"),
            "factor 2": (lr / 2, "your batch gradient misses the factor 2 of the square"),
        }
        if n % 4 == 0:
            runs["scaled by N"] = (4 * lr, "you summed the batch gradient; this task uses the batch mean")
        for part, label, want in ((0, "w", w), (1, "losses", losses)):
            probes = [Probe(name, sol.sgd_train(X, y, w0, r, 4, epochs, np.random.default_rng(seed))[part], why)
                      for name, (r, why) in runs.items()]
            out.append(Check(f"sgd_train {label}, hidden case {case}", call, want, part=part, tol=1e-6, probes=probes))
    return out

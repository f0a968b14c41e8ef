"""Hidden tests: loss and every gradient of a two-layer ReLU network with softmax cross-entropy."""

import numpy as np

from backproplab.tasks import FD, Call, Check, Probe, scale_probes

CHAPTER = 4
TITLE = "A two-layer network: loss and every gradient"
SOLUTION = "network"
FUNCTIONS = ["two_layer_loss"]


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """One network with no hidden pre-activation near ReLU's kink; gradients checked per parameter."""
    n, d, h, c = 5, 4, 6, 3
    while True:
        X, W1, b1 = rng.normal(size=(n, d)), rng.normal(size=(d, h)) / 2, rng.normal(size=h) / 2
        if np.min(np.abs(X @ W1 + b1)) > 0.05:
            break
    W2, b2, y = rng.normal(size=(h, c)) / 2, rng.normal(size=c) / 2, rng.integers(0, c, size=n)
    args = (X, y, W1, b1, W2, b2)
    loss, grads = sol.two_layer_loss(*args)
    call = Call("two_layer_loss", args)
    out = [Check("two_layer_loss loss, hidden case", call, loss, part=0, tol=1e-7)]
    for k, name in enumerate(("W1", "b1", "W2", "b2"), start=2):
        g = grads[name]
        probes = scale_probes(g, n)
        if g.ndim == 2:
            probes.append(Probe("transposed gradient", g.T, f"your d{name} is transposed: it must have the shape of {name}"))
        out.append(Check(f"two_layer_loss d{name}, hidden case", call, g, part=(1, name), tol=1e-6, probes=probes,
                         fd=FD(Call("two_layer_loss", args, pick=0, hygiene=False), k)))
    return out

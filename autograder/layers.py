"""Hidden tests: the affine layer, forward and backward, with a batch dimension."""

import numpy as np

from backproplab.tasks import FD, Call, Check, Probe, scale_probes

CHAPTER = 3
TITLE = "The affine layer, forward and backward"
SOLUTION = "layers"
FUNCTIONS = ["affine_forward", "affine_backward"]


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """A rectangular and a square layer (so a transposed dW has the right shape once)."""
    out: list[Check] = []
    for case, (n, d, m) in enumerate(((4, 3, 2), (3, 4, 4)), start=1):
        x, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
        dout = rng.normal(size=(n, m))
        forward = Call("affine_forward", (x, W, b))
        out.append(Check(f"affine_forward, hidden case {case}", forward, sol.affine_forward(x, W, b)))
        dx, dW, db = sol.affine_backward(dout, x, W)
        backward = Call("affine_backward", (dout, x, W))
        out.append(Check(f"affine_backward dx, hidden case {case}", backward, dx, part=0,
                         probes=scale_probes(dx, n), fd=FD(forward, 0, dout)))
        out.append(Check(f"affine_backward dW, hidden case {case}", backward, dW, part=1,
                         probes=scale_probes(dW, n) + [Probe("transposed gradient", dW.T,
                                "your dW is the transpose of the right one: dW = x.T @ dout has the shape of W")],
                         fd=FD(forward, 1, dout)))
        not_summed = "you kept one bias gradient per example: db sums dout over the batch axis"
        out.append(Check(f"affine_backward db, hidden case {case}", backward, db, part=2,
                         probes=scale_probes(db, n) + [
                             Probe("bias gradient not summed over the batch", dout, not_summed),
                             Probe("bias gradient not summed over the batch", db / n,
                                   "you averaged dout over the batch; db is its sum (dout already carries the 1/N)"),
                         ], fd=FD(forward, 2, dout)))
    return out

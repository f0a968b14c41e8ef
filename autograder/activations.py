"""Hidden tests: sigmoid, tanh and ReLU, forward and backward."""

import numpy as np

from backproplab.tasks import FD, Call, Check, Probe

CHAPTER = 3
TITLE = "Activation functions, forward and backward"
SOLUTION = "activations"
FUNCTIONS = ["sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward", "relu_forward", "relu_backward"]

FORGOT_DOUT = "you returned the local derivative only: multiply it by the upstream gradient dout"


def _away_from_zero(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Inputs in ±[0.2, 2.5]: no kink of ReLU within a finite-difference step, σ′ and tanh′ far from flat."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.5, size=shape)


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """Each forward on ordinary and huge inputs; each backward on reference inputs, with named misconceptions."""
    out: list[Check] = []
    x = _away_from_zero(rng, (3, 4))
    huge = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    dout = rng.normal(size=x.shape)
    s, t = sol.sigmoid_forward(x), sol.tanh_forward(x)
    backward = {
        "sigmoid": [
            Probe("σ′ from the pre-activation", dout * x * (1 - x),
                  "you applied s(1 - s) to the pre-activation x; it needs the output s = sigmoid(x)"),
            Probe("σ applied twice", dout * sol.sigmoid_forward(s) * (1 - sol.sigmoid_forward(s)),
                  "you passed sigmoid(x) through sigmoid again before taking s(1 - s)"),
            Probe("upstream gradient ignored", s * (1 - s), FORGOT_DOUT),
        ],
        "tanh": [
            Probe("tanh′ as 1−z²", dout * (1 - x**2),
                  "you computed 1 - x**2 from the pre-activation x; tanh′(x) = 1 - tanh(x)**2"),
            Probe("upstream gradient ignored", 1 - t**2, FORGOT_DOUT),
        ],
        "relu": [Probe("upstream gradient ignored", (x > 0).astype(float), FORGOT_DOUT)],
    }
    for name, probes in backward.items():
        fwd = getattr(sol, f"{name}_forward")
        forward = Call(f"{name}_forward", (x,))
        out.append(Check(f"{name}_forward, hidden case", forward, fwd(x)))
        out.append(Check(f"{name}_forward, huge inputs (stability)", Call(f"{name}_forward", (huge,)), fwd(huge)))
        want = getattr(sol, f"{name}_backward")(dout, x)
        out.append(Check(f"{name}_backward, hidden case", Call(f"{name}_backward", (dout, x)), want,
                         probes=[Probe("sign flipped", -want, "your gradient has the opposite sign")] + probes,
                         fd=FD(forward, 0, dout)))
    return out

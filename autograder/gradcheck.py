"""Hidden tests: central-difference gradients and a per-parameter gradient check."""

import numpy as np

from backproplab.tasks import Call, Check, Probe
from backproplab.tasks.catalog import harness

CHAPTER = 4
TITLE = "Numerical gradients and gradient checking"
SOLUTION = "gradcheck"
FUNCTIONS = ["numerical_gradient", "gradient_check"]


def _sines(rng: np.random.Generator, shape: tuple) -> dict:
    return {"a": rng.uniform(0.5, 2, size=shape), "b": rng.uniform(0.5, 2, size=shape), "c": float(rng.uniform(0.1, 1))}


def _analytic(spec: dict, x: np.ndarray) -> np.ndarray:
    """Exact gradient of sum(a sin(b x)) + c sum(x)^2."""
    return spec["a"] * spec["b"] * np.cos(spec["b"] * x) + 2 * spec["c"] * np.sum(x)


def checks(rng: np.random.Generator, sol) -> list[Check]:
    """numerical_gradient with a step large enough that one-sided differences show; gradient_check on two parameters."""
    out: list[Check] = []
    make = harness().backproplab_make_function
    for case, shape in enumerate(((3, 2), (4,)), start=1):
        spec = {"fn": "sines", **_sines(rng, shape)}
        x, h = rng.normal(size=shape), 1e-3
        f = make(spec)
        want = sol.numerical_gradient(f, x.copy(), h)
        f0 = f(x)
        forward, backward = np.zeros(shape), np.zeros(shape)
        for i in np.ndindex(shape):
            e = np.zeros(shape)
            e[i] = h
            forward[i], backward[i] = (f(x + e) - f0) / h, (f0 - f(x - e)) / h
        one_sided = "you used a one-sided difference (f(x+h) - f(x)) / h; central differences (f(x+h) - f(x-h)) / (2h) are far more accurate"
        out.append(Check(f"numerical_gradient, hidden case {case}",
                         Call("numerical_gradient", ({"__function__": spec}, x, h)), want, tol=1e-6, probes=[
                             Probe("one-sided differences", forward, one_sided),
                             Probe("one-sided differences", backward, one_sided),
                             Probe("factor 2", 2 * want, "you divided by h instead of 2h"),
                         ]))
    terms = {"W": _sines(rng, (2, 3)), "b": _sines(rng, (3,))}
    params = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=3)}
    # analytic gradients with deliberate errors, so every relative error is well above noise
    grads = {k: _analytic(terms[k], params[k]) * (1 + rng.uniform(0.02, 0.3, size=params[k].shape)) for k in params}
    spec = {"fn": "sines_of_dict", "terms": {k: [t["a"], t["b"], t["c"]] for k, t in terms.items()}}
    f = make(spec)
    want = sol.gradient_check(f, {k: v.copy() for k, v in params.items()}, grads, 1e-5)
    out.append(Check("gradient_check, hidden case", Call("gradient_check", ({"__function__": spec}, params, grads, 1e-5)),
                     want, tol=1e-4))
    return out

"""Chapter 6 — where gradient descent goes: overshooting and local minima.

On a quadratic, a rate too large makes each step overshoot the minimum (and, past
a threshold, diverge). On a non-convex function, gradient descent with a small
rate settles in the minimum of the basin it starts in, which need not be the
global one.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any, Callable

import numpy as np
import sympy as sp

from ..tolerance import WHOLE
from .exact import R, latex_decimal, nonzero_int, paren, pick, short_decimal, shuffled_choices, to_str
from .figures import function_curve, parabola
from .follow import refs
from .variant import Answer, Line, Misconception, Note, Plot, ProblemType, Reject, Step, Variant

# behaviour -> factors r = 1 − 2aη per step that show it
BEHAVIOURS = {
    "converges without overshooting": [R(1, 5), R(2, 5), R(1, 2), R(3, 5)],
    "overshoots but converges": [R(-1, 5), R(-2, 5), R(-1, 2), R(-3, 5), R(-4, 5)],
    "bounces between two points forever": [R(-1)],
    "overshoots and diverges": [R(-6, 5), R(-7, 5), R(-3, 2), R(-2), R(-3)],
}
# The problem is about rates that are too large, so overshooting cases come up most.
BEHAVIOUR_WEIGHTS = [0.1, 0.35, 0.1, 0.45]


def path_plot(caption: str, f: Callable[[float], float], xs: list[float], lo: float, hi: float, var: str = "x") -> Plot:
    """A key plot: the curve f on [lo, hi] and the iterates xs (of the variable `var`) joined in order."""
    frame, curve = function_curve(f, lo, hi, f"${var}$", "")
    iterates = Line(tuple(xs), tuple(f(v) for v in xs), "tab:red", marker="o", label="iterates")
    return Plot(caption, frame, [replace(curve, label="$f$"), iterates, Note("start", xs[0], f(xs[0]), (6.0, 6.0))])


def overshooting(rng: np.random.Generator, behaviour: str | None = None) -> Variant:
    """Three gradient descent steps on f(x) = a(x − c)², the factor 1 − 2aη, and the largest stable rate."""
    kind = behaviour or str(rng.choice(list(BEHAVIOURS), p=BEHAVIOUR_WEIGHTS))
    a = pick(rng, [R(1, 2), R(1), R(2), R(5, 2)])
    r = pick(rng, BEHAVIOURS[kind])
    eta = (1 - r) / (2 * a)
    c = sp.Integer(int(rng.integers(-2, 3)))
    x0 = c + nonzero_int(rng, -3, 3)
    x = sp.Symbol("x")
    f = a * (x - c) ** 2
    xs = [x0]
    for _ in range(3):
        xs.append(xs[-1] - eta * 2 * a * (xs[-1] - c))  # x ← x − η f′(x), f′(x) = 2a(x − c)
    iterates = xs[1:]
    choices = shuffled_choices(rng, kind, [b for b in BEHAVIOURS if b != kind], 3)
    statement = (
        f"Run gradient descent $x \\leftarrow x - \\eta f'(x)$ on $f(x) = {sp.latex(f)}$ from $x_0 = {x0}$ "
        f"with learning rate $\\eta = {latex_decimal(eta)}$.\n\n"
        f"Compute $x_1, x_2, x_3$, the factor by which the offset from the minimum, ${sp.latex(x - c)}$, "
        "is multiplied at each step, what the iterates do, and the learning rate at and above "
        "which gradient descent on this $f$ no longer converges."
    )
    steps = [
        Step(f"$f'(x) = {sp.latex(sp.diff(f, x))}$, so one step maps ${sp.latex(x - c)}$ to "
             f"$(1 - {sp.latex(2 * a)}\\eta)({sp.latex(x - c)})$:",
             f"1 - {sp.latex(2 * a)} \\cdot {latex_decimal(eta)} = {latex_decimal(r)}"),
        Step("The iterates:", ", \\; ".join(f"x_{k} = {latex_decimal(v)}" for k, v in enumerate(xs))),
        Step(f"The factor is ${latex_decimal(r)}$: " + {
            "converges without overshooting": "between 0 and 1, so every step moves part of the way to the minimum.",
            "overshoots but converges": "negative, so each step jumps past the minimum, but its size is below 1, "
                                        "so the jumps shrink.",
            "bounces between two points forever": "exactly −1, so the iterate jumps between the same two points.",
            "overshoots and diverges": "negative and larger than 1 in size, so every step overshoots by more "
                                       "than the last: the iterates grow without bound.",
        }[kind]),
        Step(f"Convergence needs $|1 - {sp.latex(2 * a)}\\eta| < 1$, i.e. $\\eta < {latex_decimal(1 / a)}$.",
             f"\\eta_{{\\max}} = 1 / {latex_decimal(a)} = {latex_decimal(1 / a)}"),
    ]

    def run(factor: sp.Expr) -> list:
        return [c + factor**k * (x0 - c) for k in (1, 2, 3)]

    mis = [
        Misconception("derivative without the 2", "iterates", run(1 - a * eta),
                      "The derivative of a(x − c)² is 2a(x − c)."),
        Misconception("derivative without the 2", "factor", 1 - a * eta, "The derivative of a(x − c)² is 2a(x − c)."),
        Misconception("sign flipped", "iterates", run(1 + 2 * a * eta),
                      "Gradient descent subtracts η·f′(x); adding it climbs the curve."),
        Misconception("rate that jumps to the minimum", "eta_max", 1 / (2 * a),
                      "That rate reaches the minimum in one step; larger rates still converge while they overshoot "
                      "by less than the distance itself."),
        Misconception("derivative without the 2", "eta_max", 2 / a, "The derivative of a(x − c)² is 2a(x − c)."),
    ]
    floats = [float(v) for v in xs]
    span = max(abs(v - float(c)) for v in floats) * 1.15
    return Variant(
        problem="overshooting",
        title="Overshooting with a large learning rate",
        statement=statement,
        params={"a": to_str(a), "c": to_str(c), "d": "0", "x0": to_str(x0), "eta": to_str(eta), "steps": 3, "behaviour": kind},
        answers=[
            Answer("iterates", "$[x_1, x_2, x_3]$", iterates, kind="vector",
                   follows=[p - eta * 2 * a * (p - c) for p in [x0, *refs("iterates", iterates[:-1])]]),
            Answer("factor", "the factor per step", r, nonzero=True),
            Answer("behaviour", "what the iterates do", kind, kind="choice", choices=choices),
            Answer("eta_max", "the smallest learning rate at which gradient descent no longer converges", 1 / a),
        ],
        steps=steps,
        misconceptions=mis,
        plots=[path_plot("Gradient descent iterates on f", parabola(float(a), float(c)), floats, float(c) - span, float(c) + span)],
        given=[a, c, x0, eta],
        style="short decimals",
    )


@functools.cache
def quartic_latex(p: int, q: int, r: int) -> str:
    """LaTeX of f and f′ with f′(x) = (x − p)(x − q)(x − r), once per roots (sympy's printer is slow)."""
    x = sp.Symbol("x")
    e1, e2, e3 = p + q + r, p * q + p * r + q * r, p * q * r
    f = x**4 / R(4) - e1 * x**3 / R(3) + e2 * x**2 / R(2) - e3 * x
    return rf"{sp.latex(f)}, \qquad f'(x) = {sp.latex((x - p) * (x - q) * (x - r))}"


def local_minimum(rng: np.random.Generator) -> Variant:
    """Which minimum gradient descent with a small rate reaches on a quartic with two minima."""
    p, q, r = sorted(int(v) for v in rng.choice(np.arange(-3, 4), size=3, replace=False))
    # f′(x) = (x − p)(x − q)(x − r): minima at p and r, a maximum at q. Expanded and integrated by hand
    # (sympy's integrate is slow), with e1, e2, e3 the elementary symmetric sums of the roots:
    e1, e2, e3 = p + q + r, p * q + p * r + q * r, p * q * r

    def fprime(t: Any) -> Any:
        return (t - p) * (t - q) * (t - r)

    def f_of(t: Any) -> Any:
        return t**4 / R(4) - e1 * t**3 / R(3) + e2 * t**2 / R(2) - e3 * t

    def f2(t: Any) -> Any:
        return 3 * t**2 - 2 * e1 * t + e2

    f_min = {p: f_of(sp.Integer(p)), r: f_of(sp.Integer(r))}
    if f_min[p] == f_min[r]:
        raise Reject("the two minima are equally deep")
    x0 = short_decimal(rng, p - 1, r + 1, places=1)
    if min(abs(x0 - v) for v in (p, q, r)) < R(3, 10):
        raise Reject("the start is on or next to a critical point")
    # While η·f″ < 1 between the start and both minima, x − ηf′(x) is increasing there:
    # the iterates never jump over the maximum q and settle in the start's basin.
    # f″ is a convex parabola, so its largest value on an interval is at an end.
    lo, hi = min(x0, p), max(x0, r)
    safe = [e for e in (R(1, 100), R(1, 50), R(1, 20), R(1, 10)) if e * max(f2(lo), f2(hi)) < 1]
    if not safe:
        raise Reject("no small rate is safe")
    eta = pick(rng, safe)
    reached = p if x0 < q else r
    best = p if f_min[p] < f_min[r] else r
    kind = "global" if reached == best else "local"
    x1 = x0 - eta * fprime(x0)
    statement = (
        f"Gradient descent with $\\eta = {latex_decimal(eta)}$ starts at $x_0 = {latex_decimal(x0)}$ on\n\n"
        f"$$ f(x) = {quartic_latex(p, q, r)}. $$\n\n"
        "Compute the first iterate $x_1$. Which $x$ does gradient descent converge to (the rate is small enough "
        "that no step jumps over a maximum), and is that a local or the global minimum of $f$?"
    )
    steps = [
        Step(f"$f'$ is zero at ${p}, {q}, {r}$; $f$ falls then rises around ${p}$ and ${r}$ (minima) and rises "
             f"then falls around ${q}$ (a maximum).",
             f"f({p}) = {sp.latex(f_min[p])}, \\qquad f({r}) = {sp.latex(f_min[r])}"),
        Step("First step:", f"x_1 = {latex_decimal(x0)} - {latex_decimal(eta)} \\cdot {paren(fprime(x0))} "
                            f"= {latex_decimal(x1)}"),
        Step(f"The start is {'left' if x0 < q else 'right'} of the maximum at ${q}$; small steps go downhill and "
             f"never cross it, so gradient descent settles at $x = {reached}$, the {kind} minimum "
             f"(the global minimum is at $x = {best}$)."),
    ]
    wrong_reached: dict[int, Misconception] = {}
    nearest = min((p, r), key=lambda m: abs(x0 - m))
    if best != reached:
        wrong_reached[best] = Misconception(
            "global minimum assumed", "reached", sp.Integer(best),
            "Gradient descent only goes downhill from where it starts; it cannot climb over the maximum to "
            "reach a deeper minimum.")
    if nearest != reached and nearest not in wrong_reached:
        wrong_reached[nearest] = Misconception(
            "nearest minimum assumed", "reached", sp.Integer(nearest),
            "Gradient descent follows the slope, not the distance: check the sign of f′ at the start.")
    mis = list(wrong_reached.values()) + [
        Misconception("sign flipped", "first_step", x0 + eta * fprime(x0),
                      "Gradient descent subtracts η·f′(x)."),
    ]
    path, rate = [float(x0)], float(eta)
    for _ in range(40):
        path.append(path[-1] - rate * fprime(path[-1]))
    return Variant(
        problem="local_minimum",
        title="Local and global minima",
        statement=statement,
        params={"roots": [p, q, r], "x0": to_str(x0), "eta": to_str(eta)},
        answers=[
            Answer("first_step", "the first iterate $x_1$", x1),
            Answer("reached", "the $x$ gradient descent converges to", sp.Integer(reached), tolerance=WHOLE),
            Answer("kind", "whether that minimum is local or global", kind, kind="choice", choices=["local", "global"]),
        ],
        steps=steps,
        misconceptions=mis,
        # floats, not sympy numbers: the curve is evaluated at 100 points
        plots=[path_plot("Gradient descent on f from the start", lambda t: t**4 / 4 - e1 * t**3 / 3 + e2 * t**2 / 2 - e3 * t, path, min(p, float(x0)) - 0.8,
                         max(r, float(x0)) + 0.8)],
        given=[x0, eta],
        style="short decimals",
    )


PROBLEMS = [
    ProblemType("overshooting", 6, "hand", "Overshooting: gradient descent with a large rate on a quadratic",
                overshooting, "failures"),
    ProblemType("local_minimum", 6, "hand", "Which minimum gradient descent reaches", local_minimum, "failures"),
]

"""Chapter 2 — the learning rate: monotone, oscillating, 2-cycle, divergent.

On f(x) = a x² one gradient step is x ← x − η·2a x = (1 − 2aη) x, so everything
about a rate is in the factor q = 1 − 2aη: 0 < q < 1 creeps in, −1 < q < 0
oscillates in, q = −1 bounces forever, q < −1 blows up. Three hand problems:
classify given rates, the largest stable rate of a 2-D quadratic, and how many
steps it takes to get within ε of the minimum.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import sympy as sp

from ..tolerance import WHOLE
from .exact import R, latex_decimal, nonzero_int, pick, to_str
from .gradient_descent import rates_with_factor, sum_latex, x
from .variant import Answer, Frame, Line, Misconception, Plot, ProblemType, Reject, Step, Variant, option

REGIMES = ["monotone", "oscillating", "2-cycle", "divergent"]
REGIME_MEANING = {
    "monotone": "x_k → 0 without changing sign",
    "oscillating": "x_k → 0, changing sign every step",
    "2-cycle": "x_k jumps between x_0 and −x_0 forever",
    "divergent": "|x_k| → ∞",
}


def step_factors(f: sp.Expr, rates: list[sp.Expr]) -> list[sp.Expr]:
    """For each rate η, the q with x_{k+1} = x_k − η f′(x_k) = q·x_k on f(x) = a x² (f′ from sympy)."""
    slope = sp.diff(f, x).coeff(x)  # f′(x) = slope · x
    return [1 - eta * slope for eta in rates]


def linear_root(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """The root of an expression linear in `var` (what sp.solve gives, without its cost)."""
    return -expr.subs(var, 0) / expr.coeff(var)


def regime(q: sp.Expr) -> str:
    """The behaviour of x_{k+1} = q·x_k for η > 0 (so q < 1); q = 0 lands on the minimum at once."""
    if 0 <= q < 1:
        return "monotone"
    if -1 < q < 0:
        return "oscillating"
    if q == -1:
        return "2-cycle"
    if q < -1:
        return "divergent"
    raise ValueError(f"factor {q} >= 1 needs a negative learning rate")


def regime_ignoring_sign(q: sp.Expr) -> str:
    """The mistaken classification that looks at |q| only (and so never sees an oscillation)."""
    return "monotone" if abs(q) < 1 else ("2-cycle" if abs(q) == 1 else "divergent")


# --- problem 1: classify given learning rates --------------------------------------------------


def rate_in(rng: np.random.Generator, a: sp.Rational, kind: str) -> sp.Rational:
    """A short-decimal η > 0 for which f = a x² behaves as `kind`."""
    if kind == "2-cycle":
        return 1 / a  # q = 1 − 2aη = −1
    bounds = {"monotone": (0, 1), "oscillating": (1, 2), "divergent": (2, 4)}[kind]  # ranges of 2aη
    # η = k/100 lies strictly inside the range, and never at 2aη = 1 (q = 0 lands on the minimum at once).
    p, q = int((2 * a).p), int((2 * a).q)  # 2aη = p·k / (100 q): compare in integers
    hundredths = [k for k in range(1, 501) if bounds[0] * 100 * q < p * k < bounds[1] * 100 * q]
    nice = [k for k in hundredths if k % 5 == 0]  # multiples of 0.05 when there are any
    return R(pick(rng, nice or hundredths), 100)


def learning_rate_regimes(rng: np.random.Generator, rates: int = 4) -> Variant:
    """Classify 3 or 4 learning rates for f(x) = a x² as monotone / oscillating / 2-cycle / divergent."""
    n = option("learning_rate_regimes", "rates", rates, (3, 4))
    a = pick(rng, [R(1, 2), R(1), R(2), R(5, 2), R(5)])
    others = [k for k in REGIMES if k != "oscillating"]
    kinds = ["oscillating"] + [others[i] for i in rng.permutation(3)[: n - 1]]  # always an oscillation to spot
    kinds = [kinds[i] for i in rng.permutation(n)]
    rates = [rate_in(rng, a, k) for k in kinds]
    f = a * x**2
    factors = step_factors(f, rates)
    regimes = [regime(q) for q in factors]

    table = [["$\\eta$", f"$q = 1 - {latex_decimal(2 * a)}\\eta$", "behaviour"]]
    table += [[f"${latex_decimal(eta)}$", f"${latex_decimal(q)}$", r] for eta, q, r in zip(rates, factors, regimes)]
    steps = [
        Step("One step of gradient descent multiplies x by a fixed factor:",
             f"x_{{k+1}} = x_k - \\eta \\cdot {sum_latex([(2 * a, 'x_k')])} = (1 - {sum_latex([(2 * a, '')]) if 2 * a != 1 else ''}"
             f"\\eta)\\, x_k = q\\, x_k"),
        Step("So $x_k = q^k x_0$: $0 \\le q < 1$ is monotone, $-1 < q < 0$ oscillating, $q = -1$ a 2-cycle, "
             "$q < -1$ divergent.", table=table),
    ]
    choices = ", ".join(f"`'{r}'` ({REGIME_MEANING[r]})" for r in REGIMES)
    statement = (
        f"Gradient descent runs on $f(x) = {sum_latex([(a, 'x^2')])}$ from some $x_0 \\ne 0$ with the rule "
        f"$x_{{k+1}} = x_k - \\eta f'(x_k)$. Consider the learning rates $\\eta = {latex_decimal(rates)}$.\n\n"
        f"1. `factors`: for each rate, the number $q$ with $x_{{k+1}} = q\\,x_k$ (a list of {n} numbers).\n"
        f"2. `regimes`: for each rate, one of {choices} (a list of {n} strings)."
    )
    no_two = [1 - a * eta for eta in rates]  # f′ = a x instead of 2a x
    mis = [
        Misconception("missing factor 2", "factors", no_two,
                      "Your factors use f'(x) = a·x; the power rule gives f'(x) = 2a·x."),
        Misconception("gradient ascent", "factors", [1 + 2 * a * eta for eta in rates],
                      "Your factors add η f'(x); gradient descent subtracts it."),
        Misconception("missing factor 2", "regimes", [regime(q) for q in no_two],
                      "Your classification uses f'(x) = a·x; with the 2 from the power rule every threshold halves."),
        Misconception("oscillation missed", "regimes", [regime_ignoring_sign(q) for q in factors],
                      "A negative factor q flips the sign of x every step: look at the sign of q, not only at |q|."),
    ]
    return Variant(
        problem="learning_rate_regimes",
        title="Monotone, oscillating, 2-cycle or divergent?",
        statement=statement,
        params={"a": to_str(a), "c": "0", "d": "0", "rates": to_str(rates)},
        answers=[
            Answer("factors", "the factors $q$", factors, kind="vector"),
            Answer("regimes", "the behaviour for each rate", regimes, kind="choice", choices=list(REGIMES)),
        ],
        steps=steps,
        misconceptions=mis,
        given=[a] + rates,
        style="short decimals",
    )


# --- problem 2: the largest stable rate of a diagonal 2-D quadratic ------------------------------


def largest_stable_rate(rng: np.random.Generator) -> Variant:
    """sup η for which GD converges on f = a1 x² + a2 y² from every start, and the best single rate."""
    a1, a2 = (pick(rng, [R(1, 2), R(1), R(3, 2), R(2), R(5, 2), R(3), R(4), R(5)]) for _ in range(2))
    if a1 == a2:
        raise Reject("equal curvatures")
    eta = sp.Symbol("eta", positive=True)
    [qx], [qy] = step_factors(a1 * x**2, [eta]), step_factors(a2 * x**2, [eta])  # f separates: one factor per axis
    # Converges from every start ⇔ |q| < 1 in both directions; q < 1 holds for η > 0, so solve q = −1.
    limits = [linear_root(q + 1, eta) for q in (qx, qy)]
    eta_max = min(limits)
    # The best single rate balances the two directions: q_x = −q_y (fast one oscillates, slow one creeps).
    eta_best = linear_root(qx + qy, eta)
    big, small = max(a1, a2), min(a1, a2)

    steps = [
        Step("Each coordinate descends on its own, with its own factor:",
             f"x \\leftarrow ({sp.latex(qx)})\\, x, \\quad y \\leftarrow ({sp.latex(qy)})\\, y"),
        Step("A direction converges from every start exactly when its factor has $|q| < 1$; for $\\eta > 0$ only "
             f"$q > -1$ can fail, so each direction needs $\\eta < 1/a$, where $a$ is its coefficient "
             f"(${latex_decimal(a1)}$ for $x$, ${latex_decimal(a2)}$ for $y$):",
             f"\\eta < {latex_decimal(limits[0])} \\text{{ and }} \\eta < {latex_decimal(limits[1])} "
             f"\\ \\Rightarrow\\ \\eta_{{\\max}} = {latex_decimal(eta_max)}"),
        Step("At $\\eta_{\\max}$ itself the steeper direction is a 2-cycle ($q = -1$), so $\\eta_{\\max}$ is a "
             "supremum: every smaller positive rate converges."),
        Step("The rate that makes the slowest direction as fast as possible balances the factors, "
             "$q_x = -q_y$:", f"\\eta^* = \\frac{{1}}{{{latex_decimal(a1)} + {latex_decimal(a2)}}} = {latex_decimal(eta_best)}"),
    ]
    statement = (
        f"Gradient descent $(x, y) \\leftarrow (x, y) - \\eta \\nabla f(x, y)$ runs on "
        f"$f(x, y) = {sum_latex([(a1, 'x^2'), (a2, 'y^2')])}$.\n\n"
        f"1. `eta_max`: the largest learning rate for which gradient descent converges to the minimum from every "
        f"start — the supremum $\\eta_{{\\max}}$ such that every $0 < \\eta < \\eta_{{\\max}}$ converges.\n"
        f"2. `eta_best`: the single rate $\\eta^*$ that makes the slower of the two coordinates shrink fastest "
        f"(minimises $\\max(|q_x|, |q_y|)$, where $q$ is the factor one step multiplies a coordinate by)."
    )
    mis = [
        Misconception("flattest direction", "eta_max", 1 / small,
                      "The steepest direction (largest coefficient) limits the rate, not the flattest one."),
        Misconception("missing factor 2", "eta_max", 2 / big,
                      "Your limit uses f' = a·x; the power rule gives 2a·x, which halves the limit."),
        Misconception("no-oscillation limit", "eta_max", 1 / (2 * big),
                      "That is the largest rate without oscillation; oscillations that shrink still converge."),
        Misconception("missing factor 2", "eta_best", 2 / (a1 + a2),
                      "Your balance uses f' = a·x; with the 2 from the power rule the rate halves."),
        Misconception("steepest direction only", "eta_best", 1 / (2 * big),
                      "That rate solves the steep direction in one step but leaves the flat one crawling."),
    ]
    return Variant(
        problem="largest_stable_rate",
        title="The largest stable learning rate",
        statement=statement,
        params={"axx": to_str(a1), "ayy": to_str(a2), "axy": "0", "c": ["0", "0"]},
        answers=[
            Answer("eta_max", "$\\eta_{\\max}$", eta_max, nonzero=True),
            Answer("eta_best", "$\\eta^*$", eta_best, nonzero=True),
        ],
        steps=steps,
        misconceptions=mis,
        given=[a1, a2],
        style="short decimals",
    )


# --- problem 3: steps until |x_k| <= ε ------------------------------------------------------------

# |q| = 1/2, 1/5 or 1/10: then (1/|q|)^k is a whole number and the count needs no logarithm.
RATES_EPS = rates_with_factor([R(1, 2), R(-1, 2), R(1, 5), R(-1, 5), R(1, 10), R(-1, 10)])
# Every student counts about as many steps: the answer lies in this range (inclusive).
STEPS_RANGE = (3, 6)


def steps_until(q: sp.Expr, x0: sp.Expr, done: Callable[[sp.Expr], bool], cap: int = 200) -> int | None:
    """The first k ≥ 0 with done(q^k·x0), or None if it takes more than `cap` steps."""
    xk = x0
    for k in range(cap + 1):
        if done(xk):
            return k
        xk = q * xk
    return None


def steps_to_epsilon(rng: np.random.Generator) -> Variant:
    """How many GD steps on f = a x² from x0 until |x_k| ≤ ε."""
    a, eta = pick(rng, RATES_EPS)
    x0 = nonzero_int(rng, -10, 10)
    eps = pick(rng, [R(1, 10), R(1, 20), R(1, 50), R(1, 100)])
    [q] = step_factors(a * x**2, [eta])
    n = steps_until(q, x0, lambda v: abs(v) <= eps)
    if n is None or not STEPS_RANGE[0] <= n <= STEPS_RANGE[1]:
        raise Reject("step count out of range")
    if abs(q) ** n * abs(x0) == eps:
        raise Reject("lands exactly on ε: the count would hinge on ≤ versus <")

    grow, need = 1 / abs(q), abs(x0) / eps  # |q|^k |x0| <= ε  ⇔  (1/|q|)^k >= |x0|/ε, both whole numbers
    powers = [["$k$", f"${latex_decimal(grow)}^k$", f"$\\ge {latex_decimal(need)}$?"]] + [
        [str(k), latex_decimal(grow**k), "yes" if grow**k >= need else "no"] for k in range(1, n + 1)]
    steps = [
        Step("One step multiplies x by a fixed factor:",
             f"x_{{k+1}} = x_k - {latex_decimal(eta)} \\cdot {sum_latex([(2 * a, 'x_k')])} = q\\, x_k, \\quad "
             f"q = 1 - {latex_decimal(2 * a)} \\cdot {latex_decimal(eta)} = {latex_decimal(q)}"),
        Step("So $|x_k| = |q|^k\\,|x_0|$, and we need the first whole $k$ with $|q|^k |x_0| \\le \\varepsilon$, "
             "that is $(1/|q|)^k \\ge |x_0| / \\varepsilon$:",
             f"{latex_decimal(grow)}^k \\ge \\frac{{{latex_decimal(abs(x0))}}}{{{latex_decimal(eps)}}} = {latex_decimal(need)}"),
        Step(f"Multiply by ${latex_decimal(grow)}$ until the product reaches ${latex_decimal(need)}$:", table=powers),
        Step(f"So $k = {n}$: $|x_{{{n}}}| = {latex_decimal(abs(q) ** n * abs(x0))} \\le {latex_decimal(eps)} "
             f"< |x_{{{n - 1}}}| = {latex_decimal(abs(q) ** (n - 1) * abs(x0))}$."),
    ]
    statement = (
        f"Gradient descent $x_{{k+1}} = x_k - \\eta f'(x_k)$ runs on $f(x) = {sum_latex([(a, 'x^2')])}$ from "
        f"$x_0 = {latex_decimal(x0)}$ with $\\eta = {latex_decimal(eta)}$.\n\n"
        f"`steps`: the smallest number of steps $k$ after which $|x_k| \\le {latex_decimal(eps)}$ (a whole number)."
    )
    mis = [Misconception("rounded down", "steps", n - 1,
                         "You stopped one step early: at that step |x_k| is still above ε; the first k with "
                         "|x_k| ≤ ε is one more.")]
    wrong_factor = steps_until(1 - a * eta, x0, lambda v: abs(v) <= eps)
    if wrong_factor is not None:
        mis.append(Misconception("used 1 − aη", "steps", wrong_factor,
                                 "Your factor is 1 − aη; the derivative of a x² is 2a x, so one step multiplies x by 1 − 2aη."))
    signed = steps_until(q, x0, lambda v: v <= eps)
    if signed != n:  # only a mistake that changes the count can be recognised
        mis.append(Misconception("ignored the absolute value", "steps", signed,
                                 "You stopped at the first x_k ≤ ε, but a large negative x_k is far from the minimum: "
                                 "the condition is on |x_k|."))

    path = [float(abs(q) ** k * abs(x0)) for k in range(n + 2)]

    # whole decades strictly around the points on the log axis, so that frames repeat across a class
    low, high = min(path[-1], float(eps)), path[0]
    frame = Frame((-0.5, len(path) - 0.5), (10.0 ** (math.ceil(math.log10(low)) - 1), 10.0 ** (math.floor(math.log10(high)) + 1)),
                  xlabel="step $k$", ylog=True)
    marks = [Line(tuple(map(float, range(len(path)))), tuple(path), "C3", marker="o", label="$|x_k|$"),
             Line(frame.xlim, (float(eps), float(eps)), "0.4", linestyle="--", label="$\\varepsilon$")]

    return Variant(
        problem="steps_to_epsilon",
        title="Steps until within ε of the minimum",
        statement=statement,
        params={"a": to_str(a), "c": "0", "d": "0", "eta": to_str(eta), "x0": to_str(x0), "threshold": to_str(eps)},
        answers=[Answer("steps", "the number of steps", sp.Integer(n), tolerance=WHOLE)],
        steps=steps,
        misconceptions=mis,
        plots=[Plot("$|x_k|$ on a log scale against the step $k$", frame, marks, "key")],
        given=[a, eta, x0, eps],
        style="short decimals",
    )


PROBLEMS = [
    ProblemType("learning_rate_regimes", 2, "hand", "Classify learning rates: monotone, oscillating, 2-cycle, divergent",
                learning_rate_regimes, "gradient-step", concept=True),
    ProblemType("largest_stable_rate", 2, "hand", "Largest stable learning rate of a 2-D quadratic",
                largest_stable_rate, "gradient-step"),
    ProblemType("steps_to_epsilon", 2, "hand", "Number of gradient-descent steps to reach a tolerance",
                steps_to_epsilon, "gradient-step"),
]

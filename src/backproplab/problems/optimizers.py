"""Chapter 5 — optimizers: momentum and Adam, step by step by hand.

Momentum runs on a one-weight quadratic f(w) = (a/2)(w − c)², so each gradient
depends on where the previous step landed. Adam is given the gradients of three
steps, so the bookkeeping (m, v, the bias corrections, the update) is the whole
exercise; its first step is about η·sign(g) whatever the size of g. The
assignment chooses the number of momentum steps and the momentum convention.
"""

from __future__ import annotations

from typing import Callable

import mpmath
import numpy as np
import sympy as sp

from .exact import latex_decimal, nonzero_int, paren, pick, rounded, short_decimal, shuffled_choices, to_str, with_floor
from .figures import parabola
from .landscape import path_plot
from ..tolerance import Tolerance, decimals_tolerance
from .follow import ref, refs
from .variant import Answer, Misconception, ProblemType, Reject, Step, Variant, option

# name -> (velocity update, formula shown to the student)
MOMENTUM = {
    "sum": (lambda v, g, beta: beta * v + g,
            r"v_t = \beta v_{t-1} + g_t, \qquad w_t = w_{t-1} - \eta\, v_t"),
    "average": (lambda v, g, beta: beta * v + (1 - beta) * g,
                r"v_t = \beta v_{t-1} + (1-\beta)\, g_t, \qquad w_t = w_{t-1} - \eta\, v_t"),
}

PLACES = 4  # decimals asked for where answers do not terminate
# Later steps build on earlier ones, so a student who rounds each step to 4 decimals drifts by a
# few units in the 4th place: accept that, while every named slip stays far outside.
ROUNDED = decimals_tolerance(PLACES)  # widened by QA by what rounding the answers it follows from may cause
FIGURES_CARRIED = Tolerance(rel=2e-3, abs=0.0, why="to 4 significant figures (within 0.2%: rounding along the way is fine)")


def run_momentum(grad: Callable, w0: sp.Expr, eta: sp.Expr, beta: sp.Expr, steps: int, velocity: Callable,
                 step_with_old_v: bool = False) -> tuple[list, list, list]:
    """Momentum from v₀ = 0: the gradients, velocities and weights of `steps` steps.

    `step_with_old_v` moves w with v_{t−1} before updating v (a common slip).
    """
    w, v = w0, sp.Integer(0)
    gs, vs, ws = [], [], []
    for _ in range(steps):
        g = grad(w)
        v_new = velocity(v, g, beta)
        w = w - eta * (v if step_with_old_v else v_new)
        v = v_new
        gs.append(g), vs.append(v), ws.append(w)
    return gs, vs, ws


def momentum_steps(rng: np.random.Generator, steps: int = 3, convention: str = "sum") -> Variant:
    """Two or three momentum steps on f(w) = (a/2)(w − c)² under a stated convention."""
    option("momentum_steps", "steps", steps, (2, 3))
    conv = option("momentum_steps", "convention", convention, MOMENTUM)
    velocity, formula = MOMENTUM[conv]
    a = pick(rng, [sp.Integer(1), sp.Integer(2), sp.Rational(1, 2)])
    c = nonzero_int(rng, -3, 3)
    w0 = c + nonzero_int(rng, -4, 4)
    eta = pick(rng, [sp.Rational(1, 10), sp.Rational(1, 5), sp.Rational(1, 4)])
    beta = pick(rng, [sp.Rational(9, 10), sp.Rational(4, 5), sp.Rational(1, 2)])
    w = sp.Symbol("w")
    f = a / 2 * (w - c) ** 2
    grad = sp.Lambda(w, sp.diff(f, w))
    gs, vs, ws = run_momentum(grad, w0, eta, beta, steps, velocity)
    statement = (
        f"Minimise $f(w) = {sp.latex(f)}$ with gradient descent with momentum, starting from "
        f"$w_0 = {latex_decimal(w0)}$ and $v_0 = 0$, with $\\eta = {latex_decimal(eta)}$ and $\\beta = {latex_decimal(beta)}$. "
        f"Use exactly this convention:\n\n$$ {formula} $$\n\n"
        f"where $g_t = f'(w_{{t-1}})$. Compute $v_t$ and $w_t$ for $t = 1, \\dots, {steps}$ "
        f"(to {PLACES} decimal places, or exactly)."
    )
    steps_shown = [Step(f"The gradient is $f'(w) = {sp.latex(grad(w))}$.")]
    for t, (g, v, wt) in enumerate(zip(gs, vs, ws), start=1):
        prev_w = w0 if t == 1 else ws[t - 2]
        prev_v = 0 if t == 1 else vs[t - 2]
        v_expr = (f"{latex_decimal(beta)} \\cdot {paren(sp.sympify(prev_v))} + {paren(g)}" if conv == "sum" else
                  f"{latex_decimal(beta)} \\cdot {paren(sp.sympify(prev_v))} + {latex_decimal(1 - beta)} \\cdot {paren(g)}")
        steps_shown.append(Step(
            f"Step {t}: $g_{t} = f'({latex_decimal(prev_w)}) = {latex_decimal(g)}$.",
            f"v_{t} = {v_expr} = {latex_decimal(v)}, \\qquad w_{t} = {latex_decimal(prev_w)} - {latex_decimal(eta)} \\cdot {paren(v)} "
            f"= {latex_decimal(wt)} \\approx {rounded(wt, PLACES)}"))
    other = "average" if conv == "sum" else "sum"
    _, other_vs, other_ws = run_momentum(grad, w0, eta, beta, steps, MOMENTUM[other][0])
    _, _, late_ws = run_momentum(grad, w0, eta, beta, steps, velocity, step_with_old_v=True)
    _, _, plain_ws = run_momentum(grad, w0, eta, 0, steps, MOMENTUM["sum"][0])
    other_why = ("You averaged the gradient into v with weight (1 − β); this problem's convention adds the whole gradient."
                 if conv == "sum" else
                 "You added the whole gradient into v; this problem's convention weights the new gradient by (1 − β).")
    mis = [
        Misconception("other momentum convention", "v", other_vs, other_why),
        Misconception("other momentum convention", "w", other_ws, other_why),
        Misconception("step before velocity update", "w", late_ws,
                      "Update v first, then move w with the new v_t, not with v_{t−1}."),
        Misconception("no momentum", "w", plain_ws,
                      "Your weights follow plain gradient descent; momentum moves w by η·v, and v remembers earlier gradients."),
    ]
    path = [float(w0)] + [float(x) for x in ws]
    span = max(abs(x - float(c)) for x in path) * 1.15
    plot = path_plot("Momentum iterates on f", parabola(float(a) / 2, float(c)), path,
                     float(c) - span, float(c) + span, var="w")
    return Variant(
        problem="momentum_steps",
        title="Gradient descent with momentum by hand",
        statement=statement,
        params={"momentum_convention": conv, "a": to_str(a / 2), "c": to_str(c), "d": "0", "w0": to_str(w0),
                "v0": "0", "eta": to_str(eta), "beta": to_str(beta), "steps": steps},
        answers=[
            Answer("v", f"the velocities $[v_1, \\dots, v_{steps}]$", vs, kind="vector", tolerance=ROUNDED,
                   follows=[velocity(v_prev, grad(w_prev), beta) for v_prev, w_prev in
                            zip([0, *refs("v", vs[:-1])], [w0, *refs("w", ws[:-1])])]),
            Answer("w", f"the weights $[w_1, \\dots, w_{steps}]$", ws, kind="vector", tolerance=ROUNDED,
                   follows=[w_prev - eta * v for w_prev, v in zip([w0, *refs("w", ws[:-1])], refs("v", vs))]),
        ],
        steps=steps_shown,
        misconceptions=mis,
        plots=[plot],
        given=[a, c, w0, eta, beta],
        style="decimals",
    )


EPS = sp.Rational(1, 10**8)

WHY_RIGHT = "Bias correction makes m̂₁ = g₁ and v̂₁ = g₁², so m̂₁/√v̂₁ = ±1 and the step is η·sign(g₁)."
WHY_WRONG = [
    "β₁ is close to 1, so m₁ is close to g₁ and v₁ is close to g₁².",
    "ε is much larger than the gradient, so it sets the step size.",
    "Adam clips every step to length at most η.",
    "The learning rate is divided by the number of steps taken so far.",
    "The first gradient is always close to 1 in size.",
]


def sqrt30(x: sp.Rational) -> sp.Float:
    """√x to 30 digits: far finer than any tolerance, and (unlike a radical that nests deeper with
    every Adam step) cheap to carry and compare. The weights w are kept to 30 digits likewise."""
    with mpmath.workdps(40):
        return sp.Float(mpmath.sqrt(mpmath.mpf(int(x.p)) / int(x.q)), 30)


def run_adam(gs: list, w0: sp.Expr, eta: sp.Expr, b1: sp.Expr, b2: sp.Expr, t_shift: int = 0,
             correct: bool = True, root: bool = True) -> dict[str, list]:
    """Adam on given gradients: m, v, m̂, v̂ and w after each step.

    The keywords make the usual slips: `t_shift` shifts the t of the bias
    correction (a counter off by one), `correct=False` leaves the bias correction
    out, `root=False` divides by v̂ instead of √v̂.
    """
    out: dict[str, list] = {"m": [], "v": [], "m_hat": [], "v_hat": [], "w": []}
    m = v = sp.Integer(0)
    w = w0
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1 ** (t + t_shift)) if correct else m
        v_hat = v / (1 - b2 ** (t + t_shift)) if correct else v
        w = sp.Float(w - eta * m_hat / ((sqrt30(v_hat) if root else v_hat) + EPS), 30)
        for key, val in zip(out, (m, v, m_hat, v_hat, w)):
            out[key].append(val)
    return out


def adam_steps(rng: np.random.Generator) -> Variant:
    """Three Adam steps on given gradients, and why the first step is about η·sign(g₁)."""
    b1 = pick(rng, [sp.Rational(9, 10), sp.Rational(8, 10)])
    b2 = pick(rng, [sp.Rational(999, 1000), sp.Rational(99, 100)])
    eta = pick(rng, [sp.Rational(1, 10), sp.Rational(1, 20), sp.Rational(1, 100)])
    w0 = short_decimal(rng, -2, 2, places=1)
    gs = [short_decimal(rng, -2, 2, places=1) for _ in range(3)]
    key = run_adam(gs, w0, eta, b1, b2)
    if 0 in key["m"]:
        raise Reject("a first moment is exactly 0: that step would not move w")
    first_step = key["w"][0] - w0
    statement = (
        f"A weight starts at $w_0 = {latex_decimal(w0)}$. Adam with $\\eta = {latex_decimal(eta)}$, $\\beta_1 = {latex_decimal(b1)}$, "
        f"$\\beta_2 = {latex_decimal(b2)}$, $\\epsilon = 10^{{-8}}$ and $m_0 = v_0 = 0$ sees the gradients "
        f"$g_1, g_2, g_3 = {', '.join(latex_decimal(g) for g in gs)}$. For $t = 1, 2, 3$:\n\n"
        r"$$ m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad "
        r"\hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \hat v_t = \frac{v_t}{1-\beta_2^t}, \quad "
        r"w_t = w_{t-1} - \eta \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} $$"
        "\n\n"
        f"Compute $m_t, v_t, \\hat m_t, \\hat v_t$ (to 4 significant figures, or exactly) and $w_t$ "
        f"(to {PLACES} decimal places). Then give the first step $w_1 - w_0$ and say why its size is about "
        f"$\\eta$ whatever the size of $g_1$."
    )
    steps = []
    for t in range(3):
        steps.append(Step(
            f"Step {t + 1}, $g_{t + 1} = {latex_decimal(gs[t])}$:",
            f"m_{t + 1} = {rounded(key['m'][t], 6)}, \\; v_{t + 1} = {rounded(key['v'][t], 8)}, \\; "
            f"\\hat m_{t + 1} = \\frac{{m_{t + 1}}}{{1 - {latex_decimal(b1)}^{t + 1}}} = {rounded(key['m_hat'][t], 6)}, \\; "
            f"\\hat v_{t + 1} = {rounded(key['v_hat'][t], 6)}, \\; w_{t + 1} = {rounded(key['w'][t], 6)}"))
    steps.append(Step(
        "At $t = 1$: $m_1 = (1-\\beta_1) g_1$ and $1 - \\beta_1^1 = 1 - \\beta_1$, so $\\hat m_1 = g_1$; likewise "
        "$\\hat v_1 = g_1^2$. The step is $-\\eta\\, g_1 / (|g_1| + \\epsilon) \\approx -\\eta\\,\\mathrm{sign}(g_1)$.",
        f"w_1 - w_0 \\approx {rounded(first_step, PLACES)}"))
    plain = run_adam(gs, w0, eta, b1, b2, correct=False)
    late = run_adam(gs, w0, eta, b1, b2, t_shift=1)
    no_corr = "Without bias correction m and v start near 0; divide by 1 − β^t."
    off_by_one = "Your bias correction uses t + 1: at the first step the exponent is t = 1."
    mis = [Misconception("no bias correction", name, plain[name], no_corr) for name in ("m_hat", "v_hat", "w")]
    mis += [Misconception("t off by one", name, late[name], off_by_one) for name in ("m_hat", "v_hat", "w")]
    mis += [
        Misconception("no bias correction", "first_step", plain["w"][0] - w0, no_corr),
        Misconception("sign flipped", "first_step", -first_step,
                      "Adam, like gradient descent, steps against the gradient."),
        Misconception("forgot square root", "w", run_adam(gs, w0, eta, b1, b2, root=False)["w"],
                      "Divide by the square root of v̂, which has the units of the gradient, not by v̂ itself."),
    ]
    return Variant(
        problem="adam_steps",
        title="Adam by hand",
        statement=statement,
        params={"w0": to_str(w0), "g": to_str(gs), "eta": to_str(eta), "beta1": to_str(b1), "beta2": to_str(b2),
                "epsilon": to_str(EPS), "m0": "0", "v0": "0"},
        answers=[
            Answer("m", "$[m_1, m_2, m_3]$", key["m"], kind="vector", tolerance=with_floor(FIGURES_CARRIED, key["m"]),
                   follows=[b1 * m + (1 - b1) * g for m, g in zip([0, *refs("m", gs[:-1])], gs)]),
            Answer("v", "$[v_1, v_2, v_3]$", key["v"], kind="vector", tolerance=with_floor(FIGURES_CARRIED, key["v"]),
                   follows=[b2 * v + (1 - b2) * g**2 for v, g in zip([0, *refs("v", gs[:-1])], gs)]),
            Answer("m_hat", "$[\\hat m_1, \\hat m_2, \\hat m_3]$", key["m_hat"], kind="vector",
                   tolerance=with_floor(FIGURES_CARRIED, key["m_hat"]),
                   follows=[ref("m", t) / (1 - b1 ** (t + 1)) for t in range(3)]),
            Answer("v_hat", "$[\\hat v_1, \\hat v_2, \\hat v_3]$", key["v_hat"], kind="vector",
                   tolerance=with_floor(FIGURES_CARRIED, key["v_hat"]),
                   follows=[ref("v", t) / (1 - b2 ** (t + 1)) for t in range(3)]),
            Answer("w", "$[w_1, w_2, w_3]$", key["w"], kind="vector", tolerance=ROUNDED,
                   follows=[w - eta * ref("m_hat", t) / (sp.sqrt(ref("v_hat", t)) + EPS)
                            for t, w in enumerate([w0, *refs("w", gs[:-1])])]),
            Answer("first_step", "the first step $w_1 - w_0$", first_step, tolerance=ROUNDED, nonzero=True,
                   follows=ref("w", 0) - w0),
            Answer("why", "why the first step has size about $\\eta$", WHY_RIGHT, kind="choice",
                   choices=shuffled_choices(rng, WHY_RIGHT, WHY_WRONG, 3)),
        ],
        steps=steps,
        misconceptions=mis,
        given=[w0, eta, b1, b2] + gs,
        style="decimals",
    )


PROBLEMS = [
    ProblemType("momentum_steps", 5, "hand", "Gradient descent with momentum, two or three steps",
                momentum_steps, "gradient-step"),
    ProblemType("adam_steps", 5, "hand", "Adam by hand for three steps", adam_steps, "gradient-step"),
]

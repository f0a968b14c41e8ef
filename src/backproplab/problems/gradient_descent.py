"""Chapter 2 — gradient descent by hand.

Three hand problems: one gradient step on the MSE of a linear model, k steps on a
1-D quadratic and k steps on a 2-D quadratic. The descent is run exactly on
sympy Rationals, and each misconception is the same run with the mistake made
(ascent instead of descent, the 2 of the power rule forgotten, η left out, ...),
so the key and the wrong answers come from one derivation. The assignment
chooses the structure (points, convention, number of steps, a cross term); the
seed chooses the numbers.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from .exact import R, decimal_places, integer, latex_decimal, nonzero_int, pick, to_str
from .loss import CONVENTIONS, POINTS
from .figures import ellipses, function_curve, iterate_notes, round_range
from .follow import ref, refs
from .variant import Answer, Frame, Line, Misconception, Plot, ProblemType, Reject, Step, Variant, option

x, y, w, b = sp.symbols("x y w b")

Point = tuple  # a point of parameter space: a tuple of exact sympy numbers


# --- the descent itself -------------------------------------------------------


def gradient(form: Callable[..., sp.Expr], numbers: Sequence[sp.Expr], variables: Sequence[sp.Symbol]
             ) -> Callable[[Point], Point]:
    """∇ of form(*numbers) as a function of a point, evaluated exactly.

    The form is differentiated once with sympy, with symbols in place of its numbers, and
    lambdify turns each partial derivative into plain arithmetic, which sympy's Rationals
    carry out exactly (rebuilding every variant's expression costs far more).
    """
    parts = _form_gradient(form, len(numbers), tuple(variables))
    return lambda p: tuple(sp.sympify(g(*p, *numbers)) for g in parts)


FORM_SYMBOLS = sp.symbols("k0:8")


@functools.cache
def _form_gradient(form: Callable[..., sp.Expr], count: int, variables: tuple[sp.Symbol, ...]
                   ) -> list[Callable[..., sp.Expr]]:
    f = form(*FORM_SYMBOLS[:count])
    return [sp.lambdify([*variables, *FORM_SYMBOLS[:count]], sp.diff(f, v), modules="sympy") for v in variables]


def descend(grad: Callable[[Point], Point], eta: sp.Expr, start: Point, k: int) -> list[Point]:
    """The iterates p1..pk of gradient descent p ← p − η ∇f(p), all coordinates at once."""
    path, p = [], start
    for _ in range(k):
        p = tuple(pi - eta * gi for pi, gi in zip(p, grad(p)))
        path.append(p)
    return path


def short_enough(values: Sequence[sp.Expr], places: int = 3) -> bool:
    """Are all `values` terminating decimals with at most `places` digits after the point?"""
    return all((decimal_places(v) or places + 1) <= places for v in values)


# --- writing numbers and quadratics the way a student would ---------------------------


def shifted(var: sp.Symbol | str, c: sp.Expr) -> str:
    """LaTeX of (var − c), written as plain `var` when c = 0 (`var` a symbol or its LaTeX)."""
    tex = var if isinstance(var, str) else sp.latex(var)
    if c == 0:
        return tex
    return f"({tex} {'-' if c > 0 else '+'} {latex_decimal(abs(c))})"


def sum_latex(terms: list[tuple[sp.Expr, str]]) -> str:
    """LaTeX of Σ coef·body as given (no reordering by sympy); zero terms are left out."""
    out = ""
    for coef, body in terms:
        if coef == 0:
            continue
        sign = "-" if coef < 0 else ("+" if out else "")
        mag = abs(coef)
        factor = "" if (mag == 1 and body) else latex_decimal(mag)
        out += f" {sign} {factor}{body}" if out else f"{sign}{factor}{body}"
    return out or "0"


# --- plots: the student's shows the function and the start, the key's adds the iterates ---


def parabola_plots(caption: str, a: float, c: float, d: float, start: float, path: list[float]) -> list[Plot]:
    """f(x) = a(x − c)² + d around its minimum with the start; the key's plot adds the iterates."""
    def f(t: float) -> float:
        return a * (t - c) ** 2 + d

    reach = 1.25 * max(abs(p - c) for p in [start, *path])
    # Up to a little above the start, from 0 (or the minimum, below 0): fewer distinct frames
    # than the curve's own range, which ends wherever the widened x range does.
    frame, curve = function_curve(f, c - reach, c + reach, "$x$", "$f(x)$",
                                  round_range(min(d, 0.0), d + 1.2 * (f(start) - d)))
    begin = Line((start,), (f(start),), "C0", linestyle="", marker="o", label="$x_0$")
    iterates = Line(tuple([start, *path]), tuple(f(p) for p in [start, *path]), "C3", linestyle="--", marker="o",
                    label="iterates")
    names = iterate_notes(frame, [(f"$x_{i}$", p, f(p)) for i, p in enumerate(path, start=1)])
    return [Plot(caption, frame, [curve, begin], "student"),
            Plot("The iterates of gradient descent", frame, [curve, begin, iterates, *names], "key")]


def contour_plots(caption: str, m: np.ndarray, centre: tuple[float, float], start: tuple[float, float],
                  path: list[tuple[float, float]]) -> list[Plot]:
    """Contours of the bowl (p − centre)ᵀ m (p − centre) with the start; the key's plot adds the iterates."""
    cx, cy = centre
    reach = np.ceil(1.25 * max(max(abs(p[0] - cx), abs(p[1] - cy)) for p in [start, *path]))
    frame = Frame((cx - reach, cx + reach), (cy - reach, cy + reach), xlabel="$x$", ylabel="$y$", equal=True)
    # levels spaced like the squared distance, so the rings near the minimum are not lost
    offset = np.subtract(start, centre)
    rings = ellipses(m, centre, (offset @ m @ offset * np.linspace(0.15, 1.6, 10) ** 2).tolist())
    begin = Line((start[0],), (start[1],), "C0", linestyle="", marker="o", label="start")
    iterates = Line(tuple(p[0] for p in [start, *path]), tuple(p[1] for p in [start, *path]), "C3",
                    linestyle="--", marker="o", label="iterates")
    return [Plot(caption, frame, [rings, begin], "student"),
            Plot("The iterates of gradient descent", frame, [rings, begin, iterates], "key")]


# --- problem 1: one gradient step on the MSE of a linear model ------------------------

X, Y = sp.symbols("X Y")
# The squared error of one point (X, Y) and its partial derivatives, differentiated once.
POINT_LOSS = (w * X + b - Y) ** 2
POINT_LOSS_GRAD = (sp.diff(POINT_LOSS, w), sp.diff(POINT_LOSS, b))


def mse_gradient_step(rng: np.random.Generator, points: int = 4, convention: str = "mean") -> Variant:
    """∂L/∂w, ∂L/∂b of the MSE of ŷ = w·x + b on a few points, then one descent step."""
    n = option("mse_gradient_step", "points", points, POINTS)
    conv = option("mse_gradient_step", "convention", convention, CONVENTIONS)
    half, formula = CONVENTIONS[conv]
    w0, b0 = nonzero_int(rng, -2, 2), integer(rng, -2, 2)
    xs = [integer(rng, -3, 3) for _ in range(n)]
    ys = [integer(rng, -4, 4) for _ in range(n)]
    eta = pick(rng, [R(1, 10), R(1, 20), R(1, 4), R(1, 5), R(1, 2)])

    # L = (half/N) Σ ℓ(x_i, y_i), so each partial derivative is the mean of the per-point ones.
    dw, db = (half * sum(d.xreplace({w: w0, b: b0, X: xi, Y: yi}) for xi, yi in zip(xs, ys)) / n
              for d in POINT_LOSS_GRAD)
    w_new, b_new = w0 - eta * dw, b0 - eta * db
    errors = [w0 * xi + b0 - yi for xi, yi in zip(xs, ys)]
    if len(set(xs)) == 1:
        raise Reject("all inputs equal")

    two_h = 2 * half  # the factor in front of the mean after the power rule
    statement = (
        f"A linear model $\\hat y = w x + b$ is trained with the loss ${formula}$ on the data "
        f"$x = {latex_decimal(xs)}$, $y = {latex_decimal(ys)}$. The parameters are now $w = {latex_decimal(w0)}$, $b = {latex_decimal(b0)}$.\n\n"
        f"1. Compute the gradient $\\partial L/\\partial w$ (`dw`) and $\\partial L/\\partial b$ (`db`).\n"
        f"2. Take one gradient-descent step with learning rate $\\eta = {latex_decimal(eta)}$: "
        f"give the new parameters `w_new` and `b_new`."
    )
    steps = [
        Step("Errors $e_i = \\hat y_i - y_i = w x_i + b - y_i$ at the current parameters:", latex_decimal(errors)),
        Step("By the chain rule (the power rule brings down a 2, and $\\partial \\hat y_i/\\partial w = x_i$, "
             "$\\partial \\hat y_i/\\partial b = 1$):",
             f"\\frac{{\\partial L}}{{\\partial w}} = \\frac{{{latex_decimal(two_h)}}}{{N}}\\sum_i e_i x_i, \\quad "
             f"\\frac{{\\partial L}}{{\\partial b}} = \\frac{{{latex_decimal(two_h)}}}{{N}}\\sum_i e_i"),
        Step(f"With $N = {n}$, $\\sum e_i x_i = {latex_decimal(sum(e * xi for e, xi in zip(errors, xs)))}$ and "
             f"$\\sum e_i = {latex_decimal(sum(errors))}$:",
             f"\\frac{{\\partial L}}{{\\partial w}} = {latex_decimal(dw)}, \\quad \\frac{{\\partial L}}{{\\partial b}} = {latex_decimal(db)}"),
        Step("Descent moves against the gradient, $\\theta \\leftarrow \\theta - \\eta\\, \\partial L/\\partial\\theta$:",
             f"w = {latex_decimal(w0)} - {latex_decimal(eta)} \\cdot ({latex_decimal(dw)}) = {latex_decimal(w_new)}, \\quad "
             f"b = {latex_decimal(b0)} - {latex_decimal(eta)} \\cdot ({latex_decimal(db)}) = {latex_decimal(b_new)}"),
    ]

    mis: list[Misconception] = []
    for name, new, grad, start in (("dw", "w_new", dw, w0), ("db", "b_new", db, b0)):
        mis += [
            Misconception("sign flipped", name, -grad,
                          "Your gradient has the wrong sign: the derivative of (ŷ − y)² with respect to a parameter "
                          "is 2(ŷ − y)·∂ŷ/∂θ; check which way round you wrote the error."),
            Misconception("missing factor 2", name, grad / 2,
                          "You lost the 2 that the power rule brings down from the square."),
            Misconception("missing 1/N", name, grad * n,
                          "You summed over the points but did not divide by N: the loss is a mean."),
            Misconception("gradient ascent", new, start + eta * grad,
                          "You moved along the gradient; gradient descent subtracts η times the gradient."),
            Misconception("learning rate forgotten", new, start - grad,
                          "You subtracted the whole gradient; the step is η times the gradient."),
            Misconception("learning rate applied twice", new, start - eta**2 * grad,
                          "You multiplied the gradient by η twice; the step is η times the gradient."),
            Misconception("missing 1/N", new, start - eta * grad * n,
                          "Your step uses a gradient that was summed over the points instead of averaged."),
        ]
        if conv == "half-mean" and n != 2:  # under 1/N it is 'missing factor 2', with N = 2 'missing 1/N'
            mis.append(Misconception("other convention", name, grad * 2,
                                     "You used L = (1/N)Σ(ŷ − y)²; this problem's loss has 1/(2N), which cancels the 2."))
    mis.append(Misconception("x forgotten", "dw", db,
                             "∂ŷ/∂w is x_i: each error must be multiplied by its input before summing."))
    return Variant(
        problem="mse_gradient_step",
        title="One gradient step on the MSE of a linear model",
        statement=statement,
        params={"mse_convention": conv, "x": to_str(xs), "y": to_str(ys), "w": to_str(w0), "b": to_str(b0), "eta": to_str(eta)},
        answers=[
            Answer("dw", "$\\partial L/\\partial w$", dw, nonzero=True),
            Answer("db", "$\\partial L/\\partial b$", db, nonzero=True),
            Answer("w_new", "$w$ after one step", w_new, follows=w0 - eta * ref("dw")),
            Answer("b_new", "$b$ after one step", b_new, follows=b0 - eta * ref("db")),
        ],
        steps=steps,
        misconceptions=mis,
        given=xs + ys + [w0, b0, eta],
        style="short decimals",
    )


# --- problem 2: k steps on a 1-D quadratic ------------------------------------------------

CURVATURES = (R(1, 2), R(1), R(3, 2), R(2), R(5, 2), R(5))


def rates_with_factor(factors: Sequence[sp.Rational], curvatures: Sequence[sp.Rational] = CURVATURES) -> list[tuple[sp.Rational, sp.Rational]]:
    """(a, η) pairs with a short-decimal η whose factor 1 − 2aη is one of `factors`.

    On f = a(x − c)² + d, x_k − c = (1 − 2aη)^k (x_0 − c), so a short factor
    (±1/2, ±1/5, 1/10, ...) keeps every iterate a short decimal.
    """
    pairs = []
    for a in curvatures:
        for r in factors:
            eta = (1 - r) / (2 * a)
            if (decimal_places(eta) or 3) <= 2:
                pairs.append((a, eta))
    return pairs


RATES_1D = rates_with_factor([R(1, 2), R(-1, 2), R(1, 5), R(-1, 5), R(1, 10), R(-1, 10), R(3, 5), R(-3, 10)])


def quadratic_1d(a: sp.Expr, c: sp.Expr, d: sp.Expr) -> sp.Expr:
    """f(x) = a(x − c)² + d, kept unexpanded so it prints as given."""
    return a * (x - c) ** 2 + d


STEPS_1D = (2, 3)  # a fourth step makes the iterates too long for paper


def gd_steps_1d(rng: np.random.Generator, steps: int = 3) -> Variant:
    """k steps of gradient descent on f(x) = a(x − c)² + d from x0."""
    k = option("gd_steps_1d", "steps", steps, STEPS_1D)
    a, eta = pick(rng, RATES_1D)
    c, d = integer(rng, -3, 3), integer(rng, -3, 3)
    x0 = c + nonzero_int(rng, -6, 6)  # never already at the minimum
    f = quadratic_1d(a, c, d)
    f_tex = sum_latex([(a, shifted(x, c) + "^2"), (d, "")])
    path = [p[0] for p in descend(gradient(quadratic_1d, (a, c, d), [x]), eta, (x0,), k)]
    if not short_enough(path):
        raise Reject("iterates are long decimals")
    f_last = f.xreplace({x: path[-1]})

    fprime = sp.diff(f, x)
    table = [["$t$", "$x_t$", "$f'(x_t)$", "$x_{t+1} = x_t - \\eta f'(x_t)$"]]
    for t, (before, after) in enumerate(zip([x0] + path[:-1], path)):
        table.append([str(t), f"${latex_decimal(before)}$", f"${latex_decimal(fprime.xreplace({x: before}))}$", f"${latex_decimal(after)}$"])
    steps = [
        Step("Differentiate (power rule):", f"f'(x) = {sum_latex([(2 * a, shifted(x, c))])}"),
        Step(f"Apply $x_{{t+1}} = x_t - \\eta f'(x_t)$ with $\\eta = {latex_decimal(eta)}$, {k} times:", table=table),
        Step(f"Each step multiplies the distance to the minimum $x = {latex_decimal(c)}$ by the same factor "
             f"(the curvature is ${latex_decimal(a)}$, the factor in front of the square):",
             f"{shifted('x_{t+1}', c)} = (1 - 2 \\cdot {latex_decimal(a)} \\cdot {latex_decimal(eta)})\\,{shifted('x_t', c)} "
             f"= {latex_decimal(1 - 2 * a * eta)}\\,{shifted('x_t', c)}"),
        Step("The function value at the last iterate:", f"f(x_{k}) = {latex_decimal(f_last)}"),
    ]
    statement = (
        f"Run gradient descent on $f(x) = {f_tex}$ starting at $x_0 = {latex_decimal(x0)}$ with learning rate "
        f"$\\eta = {latex_decimal(eta)}$, using $x_{{t+1}} = x_t - \\eta f'(x_t)$.\n\n"
        f"Give the iterates `iterates` $= [x_1, \\dots, x_{k}]$ (a list of {k} numbers) and `f_last` $= f(x_{k})$."
    )

    def run(curvature: sp.Expr, rate: sp.Expr) -> list[sp.Expr]:
        return [p[0] for p in descend(gradient(quadratic_1d, (curvature, c, d), [x]), rate, (x0,), k)]

    mis = [
        Misconception("gradient ascent", "iterates", run(a, -eta),
                      "Your iterates move uphill: gradient descent subtracts η f'(x)."),
        Misconception("missing factor 2", "iterates", run(a / 2, eta),
                      "Your derivative lacks the 2 that the power rule brings down from (x − c)²."),
        Misconception("learning rate forgotten", "iterates", run(a, sp.Integer(1)),
                      "You subtracted f'(x) itself; each step subtracts η times f'(x)."),
        Misconception("off by one", "iterates", [x0] + path[:-1],
                      "Your list starts at x₀; the answer starts with x₁, the point after the first step."),
    ]
    return Variant(
        problem="gd_steps_1d",
        title="Gradient descent on a parabola",
        statement=statement,
        params={"a": to_str(a), "c": to_str(c), "d": to_str(d), "x0": to_str(x0), "eta": to_str(eta), "steps": k},
        answers=[
            Answer("iterates", f"the iterates $x_1, \\dots, x_{k}$", path, kind="vector",
                   follows=[p - eta * fprime.xreplace({x: p}) for p in [x0, *refs("iterates", path[:-1])]]),
            Answer("f_last", f"$f(x_{k})$", f_last, follows=f.xreplace({x: ref("iterates", k - 1)})),
        ],
        steps=steps,
        misconceptions=mis,
        plots=parabola_plots(f"$f(x) = {f_tex}$ and the start $x_0 = {latex_decimal(x0)}$",
                             float(a), float(c), float(d), float(x0), [float(p) for p in path]),
        given=[a, c, d, x0, eta],
        style="short decimals",
    )


# --- problem 3: k steps on a 2-D quadratic --------------------------------------------------


def quadratic_2d(a: sp.Expr, bb: sp.Expr, h: sp.Expr, c1: sp.Expr, c2: sp.Expr) -> sp.Expr:
    """f(x, y) = a(x − c1)² + b(y − c2)² + h(x − c1)(y − c2); h = 0 gives the diagonal case."""
    return a * (x - c1) ** 2 + bb * (y - c2) ** 2 + h * (x - c1) * (y - c2)


def sequential(grad: Callable[[Point], Point], eta: sp.Expr, start: Point, k: int) -> list[Point]:
    """The mistaken 'update x, then use the new x for y's gradient' iteration."""
    path, (u, v) = [], start
    for _ in range(k):
        u = u - eta * grad((u, v))[0]
        v = v - eta * grad((u, v))[1]
        path.append((u, v))
    return path


def gd_steps_2d(rng: np.random.Generator, steps: int = 2, cross_term: bool = False) -> Variant:
    """k steps of gradient descent on a 2-D quadratic, with a cross term if the assignment asks for one."""
    k = option("gd_steps_2d", "steps", steps, (2, 3))
    option("gd_steps_2d", "cross_term", cross_term, (False, True))
    eta = pick(rng, [R(1, 10), R(1, 5), R(1, 4)])
    a, bb = (pick(rng, [R(1, 2), R(1), R(3, 2), R(2), R(5, 2)]) for _ in range(2))
    h = nonzero_int(rng, -2, 2) if cross_term else sp.Integer(0)
    c1, c2 = integer(rng, -2, 2), integer(rng, -2, 2)
    start = (c1 + nonzero_int(rng, -4, 4), c2 + nonzero_int(rng, -4, 4))
    hessian = np.array([[2 * float(a), float(h)], [float(h), 2 * float(bb)]])
    eig = np.linalg.eigvalsh(float(eta) * hessian)
    if eig.min() <= 0 or eig.max() >= 2:  # keep a bowl, and a run that converges
        raise Reject("not a convergent bowl")
    u, v = shifted(x, c1), shifted(y, c2)
    f_tex = sum_latex([(a, u + "^2"), (bb, v + "^2"), (h, u + v)])
    grad = gradient(quadratic_2d, (a, bb, h, c1, c2), [x, y])
    path = descend(grad, eta, start, k)
    if not short_enough([v for p in path for v in p]):
        raise Reject("iterates are long decimals")
    iterates = [list(p) for p in path]

    table = [["$t$", "$(x_t, y_t)$", "$\\nabla f(x_t, y_t)$", "$(x_{t+1}, y_{t+1})$"]]
    for t, (before, after) in enumerate(zip([start] + path[:-1], path)):
        table.append([str(t), f"${latex_decimal(list(before))}$", f"${latex_decimal(list(grad(before)))}$", f"${latex_decimal(list(after))}$"])
    steps = [
        Step("The gradient (each partial derivative treats the other variable as a constant):",
             f"\\nabla f = \\left({sum_latex([(2 * a, u), (h, v)])},\\ {sum_latex([(2 * bb, v), (h, u)])}\\right)"),
        Step(f"Update both coordinates at once from the same point, $\\eta = {latex_decimal(eta)}$:", table=table),
    ]
    statement = (
        f"Run gradient descent on $f(x, y) = {f_tex}$ from $(x_0, y_0) = {latex_decimal(list(start))}$ "
        f"with learning rate $\\eta = {latex_decimal(eta)}$, updating both coordinates at once: "
        f"$(x, y) \\leftarrow (x, y) - \\eta \\nabla f(x, y)$.\n\n"
        f"Give `iterates`, the list of the {k} points after each step, as a list of pairs: "
        f"`[[x1, y1], ..., [x{k}, y{k}]]`."
    )

    def as_lists(points: list[Point]) -> list[list[sp.Expr]]:
        return [list(p) for p in points]

    mis = [
        Misconception("gradient ascent", "iterates", as_lists(descend(grad, -eta, start, k)),
                      "Your points move uphill: gradient descent subtracts η∇f."),
        Misconception("missing factor 2", "iterates",
                      as_lists(descend(gradient(quadratic_2d, (a / 2, bb / 2, h, c1, c2), [x, y]), eta, start, k)),
                      "Your partial derivatives lack the 2 that the power rule brings down from the squares."),
        Misconception("learning rate forgotten", "iterates", as_lists(descend(grad, sp.Integer(1), start, k)),
                      "You subtracted the gradient itself; each step subtracts η times the gradient."),
        Misconception("off by one", "iterates", as_lists([start] + path[:-1]),
                      "Your list starts at the start point; the answer starts with the point after the first step."),
    ]
    if h != 0:
        mis.append(Misconception("sequential update", "iterates", as_lists(sequential(grad, eta, start, k)),
                                 "You used the new x to compute the y-derivative; both partial derivatives "
                                 "must be taken at the same (old) point."))
    return Variant(
        problem="gd_steps_2d",
        title="Gradient descent on a 2-D quadratic",
        statement=statement,
        params={"axx": to_str(a), "ayy": to_str(bb), "axy": to_str(h), "c": to_str([c1, c2]),
                "x0": to_str(list(start)), "eta": to_str(eta), "steps": k},
        answers=[Answer("iterates", f"the points after steps 1..{k}", iterates, kind="vector",
                        follows=[list(descend(grad, eta, tuple(p), 1)[0])  # one step from the point before
                                 for p in [start, *refs("iterates", iterates[:-1])]])],
        steps=steps,
        misconceptions=mis,
        plots=contour_plots(f"Contours of $f$ and the start ${latex_decimal(list(start))}$",
                            hessian / 2, (float(c1), float(c2)),  # f minus its minimum is pᵀ (H/2) p
                            (float(start[0]), float(start[1])), [(float(u), float(v)) for u, v in path]),
        given=[a, bb, h, c1, c2, *start, eta],
        style="short decimals",
    )


PROBLEMS = [
    ProblemType("mse_gradient_step", 2, "hand", "Gradient of the MSE of a linear model and one descent step",
                mse_gradient_step, "gradient-step"),
    ProblemType("gd_steps_1d", 2, "hand", "Several steps of gradient descent on a parabola",
                gd_steps_1d, "gradient-step"),
    ProblemType("gd_steps_2d", 2, "hand", "Several steps of gradient descent on a 2-D quadratic",
                gd_steps_2d, "gradient-step"),
]

"""Chapter 6 — what goes wrong with the size of gradients, and the fixes.

Vanishing gradients through a chain of sigmoids (each factor σ′ ≤ 1/4), the
scale s^L of a gradient through L layers that each multiply it by s, the
initialisation scale that keeps it near 1 (1/√n, or √(2/n) for ReLU), and
clipping a gradient by its global norm. The assignment chooses the structure
(how many layers, the activation, how many weights are clipped); the seed the
numbers. Powers too long to write out are asked as powers.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import sympy as sp

from ..tolerance import WHOLE, Tolerance, decimals_tolerance
from .exact import R, approx_latex, decimal_places, latex_decimal, paren, pick, rounded, short_decimal, to_str, with_floor
from .follow import ref, refs
from .variant import Answer, Misconception, ProblemType, Reject, Step, Variant, option

PLACES = 4
# A product of six factors each rounded to 4 decimals can be off by ~0.7%: accept 1%.
THREE_FIGURES = Tolerance(rel=1e-2, abs=0.0, why="to 3 significant figures (within 1%)")
# An exact power: written as a power it is exact, as a decimal it must have 4 significant figures.
POWER = Tolerance(rel=5e-4, abs=0.0, why="exact, or a decimal to 4 significant figures")


def power(base: sp.Expr, exponent: int) -> sp.Expr:
    """base^exponent as a student may write it, unevaluated (QA counts its digits, not the value's)."""
    return sp.Pow(base, exponent, evaluate=False)


def sigmoid(z: sp.Expr) -> sp.Float:
    """σ(z) = 1 / (1 + e^(−z)) to 30 digits (irrational; far finer than any tolerance, and fast)."""
    with mpmath.workdps(40):
        return sp.Float(1 / (1 + mpmath.exp(-_mpf(z))), 30)


def _mpf(x: sp.Expr) -> mpmath.mpf:
    """A sympy rational or float as an mpmath number, at the working precision."""
    return mpmath.mpf(int(x.p)) / int(x.q) if x.is_Rational else mpmath.mpf(str(x))


def sigmoid_prime(z: sp.Expr) -> sp.Float:
    """σ′(z) = σ(z)(1 − σ(z)), to 30 digits."""
    s = sigmoid(z)
    return s * (1 - s)


def sigmoid_chain(rng: np.random.Generator, layers: int = 4) -> Variant:
    """The gradient through L one-unit sigmoid layers: ∏ w_l σ′(z_l), and the bound (1/4)^L."""
    n = option("sigmoid_chain", "layers", layers, range(2, 7))
    zs = [short_decimal(rng, -3, 3, places=1) for _ in range(n)]
    ws = [short_decimal(rng, -2, 2, places=1) for _ in range(n)]
    primes = [sigmoid_prime(z) for z in zs]
    act = sp.Mul(*primes)
    grad = sp.Mul(*ws) * act
    bound = R(1, 4) ** n
    rows = [["$l$", "$z_l$", "$w_l$", r"$\sigma'(z_l)$"]] + [
        [str(i + 1), f"${latex_decimal(z)}$", f"${latex_decimal(w)}$", rounded(p, PLACES)]
        for i, (z, w, p) in enumerate(zip(zs, ws, primes))
    ]
    statement = (
        f"A chain of {n} one-unit layers computes $a_l = \\sigma(z_l)$ with $z_l = w_l a_{{l-1}} + b_l$, "
        f"where $\\sigma$ is the sigmoid. On one input the weights and pre-activations are\n\n"
        f"$w = {latex_decimal(ws)}$, $z = {latex_decimal(zs)}$ (layer $1$ first).\n\n"
        f"Compute each $\\sigma'(z_l)$ (to {PLACES} decimals), the product of the activation derivatives "
        f"$\\prod_l \\sigma'(z_l)$ and the gradient $\\partial a_{n} / \\partial a_0 = \\prod_l w_l \\sigma'(z_l)$ "
        f"(both to 3 significant figures), and the largest value $\\prod_l \\sigma'(z_l)$ can take for any "
        f"pre-activations."
    )
    steps = [
        Step(r"$\sigma'(z) = \sigma(z)(1 - \sigma(z))$ for each layer:", table=rows),
        Step("Chain rule: each layer multiplies the gradient by $w_l \\sigma'(z_l)$.",
             f"\\prod_l \\sigma'(z_l) \\approx {approx_latex(act)}, \\qquad \\frac{{\\partial a_{n}}}{{\\partial a_0}} "
             f"\\approx {approx_latex(grad)}"),
        Step(f"$\\sigma'$ is largest at $z = 0$, where it is $\\tfrac14$; so the product is at most "
             f"$(\\tfrac14)^{n} = {sp.latex(bound)}$: the gradient shrinks at least fourfold per layer "
             "unless the weights are large.", f"(1/4)^{n} = {sp.latex(bound)}"),
    ]
    from_pre = [z * (1 - z) for z in zs]
    twice = [sigmoid_prime(sigmoid(z)) for z in zs]
    mis = [
        Misconception("σ′ from the pre-activation", "sigma_primes", from_pre,
                      "σ′(z) = σ(z)(1 − σ(z)) uses the activation σ(z), not the pre-activation z."),
        Misconception("σ applied twice", "sigma_primes", twice,
                      "You applied σ to the activation again: σ′(z) = a(1 − a) with a = σ(z), no second σ."),
        Misconception("σ instead of σ′", "sigma_primes", [sigmoid(z) for z in zs],
                      "You wrote the activation σ(z) itself; the chain rule needs its derivative."),
        Misconception("sum instead of product", "activation_factor", sp.Add(*primes),
                      "The chain rule multiplies the factors of successive layers; it does not add them."),
        Misconception("weights left out", "gradient", act,
                      "Each layer's factor is w_l σ′(z_l): the weight multiplies too."),
        Misconception("largest σ′ is 1", "bound", sp.Integer(1),
                      "σ′ never reaches 1: find where σ(z)(1 − σ(z)) is largest."),
        Misconception("largest σ′ is 1/2", "bound", R(1, 2) ** n,
                      "At z = 0, σ(0) = 1/2 but σ′(0) = σ(0)(1 − σ(0)) is smaller."),
    ]
    return Variant(
        problem="sigmoid_chain",
        title="Vanishing gradients through sigmoids",
        statement=statement,
        params={"z": to_str(zs), "w": to_str(ws)},
        answers=[
            Answer("sigma_primes", "$[\\sigma'(z_1), \\dots]$, layer 1 first", primes, kind="vector",
                   tolerance=decimals_tolerance(PLACES)),
            Answer("activation_factor", "$\\prod_l \\sigma'(z_l)$", act, tolerance=with_floor(THREE_FIGURES, act),
                   follows=sp.Mul(*refs("sigma_primes", primes))),
            Answer("gradient", f"$\\partial a_{n} / \\partial a_0$", grad, tolerance=with_floor(THREE_FIGURES, grad),
                   nonzero=True, follows=sp.Mul(*ws) * sp.Mul(*refs("sigma_primes", primes))),
            Answer("bound", "the largest possible value of $\\prod_l \\sigma'(z_l)$", bound,
                   tolerance=with_floor(POWER, bound), hand_form=power(R(1, 4), n)),
        ],
        steps=steps,
        misconceptions=mis,
        given=zs + ws,
        style="decimals",
    )


def smallest_depth_below(s: sp.Rational, limit: sp.Rational) -> int:
    """The fewest layers L with s^L < limit (0 < s < 1), by exact comparison."""
    depth, scale = 0, sp.Integer(1)
    while scale >= limit:
        depth, scale = depth + 1, scale * s
    return depth


# s < 1 with 1/s a whole number, so that "how many layers until below the limit" is whole-number
# arithmetic: (1/s)^d > 1/limit.
VANISHING = [R(1, 2), R(1, 4), R(1, 5), R(1, 10)]
EXPLODING = [R(11, 10), R(6, 5), R(5, 4), R(13, 10), R(3, 2), R(2), R(3)]


def depth_scale(rng: np.random.Generator) -> Variant:
    """How a gradient scale s per layer compounds to s^L: vanishing for s < 1, exploding for s > 1."""
    n = int(rng.integers(10, 31))
    small = pick(rng, VANISHING)
    big = pick(rng, EXPLODING)
    limit = pick(rng, [R(1, 10), R(1, 100), R(1, 1000)])
    depth = smallest_depth_below(small, limit)
    statement = (
        f"A deep network has $L = {n}$ layers. On the way back from the network's output to its input $x$, "
        f"each of the {n} layers multiplies the size of the gradient by the same factor $s$, exactly once "
        f"(think of $s$ as the scale of the weights).\n\n"
        f"By what factor is the gradient with respect to the input $x$ larger than the gradient with respect to "
        f"the output when $s = {latex_decimal(small)}$ (`vanishing_factor`), and when $s = {latex_decimal(big)}$ "
        f"(`exploding_factor`)? Write each as a power, e.g. `0.5**12`. With $s = {latex_decimal(small)}$, what "
        f"is the fewest number of layers for which that factor is below ${latex_decimal(limit)}$ (`depth`)?"
    )
    grow, need = 1 / small, 1 / limit
    steps = [
        Step(f"Each of the {n} layers contributes one factor $s$:",
             f"{latex_decimal(small)}^{{{n}}} \\approx {approx_latex(small ** n)}, \\qquad "
             f"{latex_decimal(big)}^{{{n}}} \\approx {approx_latex(big ** n)}"),
        Step(f"With $d$ layers the factor is ${latex_decimal(small)}^d$, and ${latex_decimal(small)}^d < {latex_decimal(limit)}$ "
             f"means ${latex_decimal(grow)}^d > {latex_decimal(need)}$; keep multiplying by ${latex_decimal(grow)}$:",
             f"{latex_decimal(grow)}^{{{depth - 1}}} = {latex_decimal(grow ** (depth - 1))} \\le {latex_decimal(need)} "
             f"< {latex_decimal(grow)}^{{{depth}}} = {latex_decimal(grow ** depth)}"),
        Step("A factor below 1 per layer makes gradients vanish with depth, above 1 makes them explode; "
             "this is why weights are initialised so that the factor is close to 1."),
    ]
    mis = [
        Misconception("s·L instead of s^L", "vanishing_factor", small * n,
                      "Layers multiply the gradient one after another: the factors compound as a power."),
        Misconception("s·L instead of s^L", "exploding_factor", big * n,
                      "Layers multiply the gradient one after another: the factors compound as a power."),
        Misconception("one layer too few", "vanishing_factor", small ** (n - 1),
                      f"Count the factors: each of the {n} layers contributes one."),
        Misconception("one layer too few", "exploding_factor", big ** (n - 1),
                      f"Count the factors: each of the {n} layers contributes one."),
        Misconception("last depth above the limit", "depth", sp.Integer(depth - 1),
                      "At that depth the factor is still at or above the limit; one more layer takes it below."),
    ]
    return Variant(
        problem="depth_scale",
        title="Vanishing and exploding gradients with depth",
        statement=statement,
        params={"L": n, "s_small": to_str(small), "s_big": to_str(big), "limit": to_str(limit)},
        answers=[
            Answer("vanishing_factor", f"the factor for $s = {latex_decimal(small)}$", small**n,
                   tolerance=with_floor(POWER, small**n), hand_form=power(small, n)),
            Answer("exploding_factor", f"the factor for $s = {latex_decimal(big)}$", big**n,
                   tolerance=with_floor(POWER, big**n), hand_form=power(big, n)),
            Answer("depth", f"the fewest layers for which the factor is below ${latex_decimal(limit)}$",
                   sp.Integer(depth), tolerance=WHOLE),
        ],
        steps=steps,
        misconceptions=mis,
        given=[sp.Integer(n), small, big, limit],
        style="short decimals",
    )


# activation -> (variance factor c in Var(w) = c/n, name of the rule, fan-ins n with √(n/c) an integer)
INIT = {
    "tanh": (R(1), "LeCun/Xavier", [k * k for k in range(3, 26)]),
    "ReLU": (R(2), "He", [2 * k * k for k in range(2, 21)]),
}
# What "the scale" is, and why the rule keeps it: for ReLU exactly (in expectation), for tanh only
# as long as tanh stays close to the identity, which the statement says.
SCALE_MEANING = {
    "ReLU": ("The biases are 0, and the scale of a layer is the root mean square of its pre-activations, "
             "averaged over the random weights (ReLU keeps the positive half of a symmetric distribution, "
             "so this holds exactly, at any depth)."),
    "tanh": ("The biases are 0, and the scale of a layer is the root mean square of its pre-activations. "
             "Treat tanh as the identity, as the derivation of this rule does (tanh z ≈ z for small z): "
             "a real tanh saturates once the scale grows beyond about 1, so a real stack grows less than this."),
}


def init_scale(rng: np.random.Generator, activation: str = "ReLU", layers: int = 5) -> Variant:
    """The initial weight scale that keeps signals steady (1/√n or √(2/n)), and what a wrong one does."""
    act = option("init_scale", "activation", activation, INIT)
    n_layers = option("init_scale", "layers", layers, range(2, 11))
    c, rule, fan_ins = INIT[act]
    n = int(pick(rng, fan_ins))
    sigma0 = pick(rng, [R(3), R(2), R(3, 2), R(1), R(1, 2), R(3, 10), R(1, 5), R(1, 10), R(1, 20), R(1, 50), R(1, 100)])
    variance = c / n
    std = sp.sqrt(variance)
    gain = sigma0 / std  # per layer, the signal's scale is multiplied by σ₀·√(n/c)
    if gain == 1:
        raise Reject("the wrong scale happens to be the right one")
    statement = (
        f"A fully connected layer has fan-in $n = {n}$ and is followed by {act}. Its weights are drawn from a "
        f"normal distribution with mean 0. {SCALE_MEANING[act]}\n\n"
        f"Which standard deviation (`std`) and variance (`variance`) of the weights keep the scale the same "
        f"from layer to layer ({rule} initialisation)? If instead every weight of a {n_layers}-layer stack of "
        f"such layers is drawn with standard deviation $\\sigma_0 = {latex_decimal(sigma0)}$, by what factor is "
        f"the scale multiplied per layer (`gain`), and through all {n_layers} layers (`total_gain`)?"
    )
    steps = [
        Step("A unit sums $n$ inputs times weights $w$, so its variance is $n \\operatorname{Var}(w)$ times the "
             "input's" + (", and ReLU keeps half of it." if act == "ReLU" else " (tanh taken as the identity)."),
             f"\\operatorname{{Var}}(w) = \\frac{{{sp.latex(c)}}}{{n}} = {sp.latex(variance)}, \\qquad "
             f"\\sigma_w = {sp.latex(std)}"),
        Step("With $\\sigma_0$ instead, each layer multiplies the scale by $\\sigma_0 / \\sigma_w$:",
             f"\\frac{{\\sigma_0}}{{\\sigma_w}} = {latex_decimal(sigma0)} \\cdot {latex_decimal(1 / std)} = "
             f"{latex_decimal(gain)}, \\qquad "
             f"{paren(gain)}^{{{n_layers}}} \\approx {approx_latex(gain ** n_layers)}"),
    ]
    other_c = R(2) if c == 1 else R(1)
    mis = [
        Misconception("variance given as std", "std", variance,
                      "That is the variance of the weights; the standard deviation is its square root."),
        Misconception("std given as variance", "variance", std,
                      "That is the standard deviation; the variance is its square."),
        Misconception("He and Xavier swapped", "std", sp.sqrt(other_c / n),
                      "The factor 2 belongs to ReLU (He), which zeroes half of its inputs; tanh has none."),
        Misconception("gain·L instead of gain^L", "total_gain", gain * n_layers,
                      "Every layer multiplies the scale again: the factors compound as a power."),
        Misconception("gain inverted", "gain", 1 / gain,
                      "Compare the actual scale with the right one: σ₀ divided by the right σ_w."),
    ]
    return Variant(
        problem="init_scale",
        title="Initialisation scale",
        statement=statement,
        params={"activation": act, "n": n, "variance_factor": to_str(c), "layers": n_layers, "sigma0": to_str(sigma0)},
        answers=[
            Answer("std", "the standard deviation of the weights", std),
            Answer("variance", "the variance of the weights", variance, follows=ref("std") ** 2),
            Answer("gain", f"the factor per layer with $\\sigma_0 = {latex_decimal(sigma0)}$", gain,
                   follows=sigma0 / ref("std")),
            Answer("total_gain", f"the factor through all {n_layers} layers", gain**n_layers,
                   tolerance=with_floor(POWER, gain**n_layers), hand_form=power(gain, n_layers),
                   follows=ref("gain") ** n_layers),
        ],
        steps=steps,
        misconceptions=mis,
        given=[sp.Integer(n), sigma0],
        style="simple fractions",
    )


def norm(vectors: list[list[sp.Expr]]) -> sp.Expr:
    """The Euclidean norm of all entries of all vectors together, exact."""
    return sp.sqrt(sum(x**2 for vec in vectors for x in vec))


NONZERO = [k for k in range(-6, 7) if k != 0]


def clip_global_norm(rng: np.random.Generator, weights: int = 3) -> Variant:
    """Clip the gradients of two tensors (a weight vector and a bias vector) by their global norm."""
    option("clip_global_norm", "weights", weights, (2, 3, 4))
    for _ in range(200):  # draw small integers until the global norm is a whole number
        gw = [int(k) for k in rng.choice(NONZERO, size=weights)]
        gb = [int(k) for k in rng.choice(NONZERO, size=2)]
        squares = sum(k * k for k in gw + gb)
        if math.isqrt(squares) ** 2 == squares:
            break
    else:
        raise Reject("no whole-number norm found")
    gw, gb = [sp.Integer(k) for k in gw], [sp.Integer(k) for k in gb]
    total = sp.Integer(math.isqrt(squares))
    # thresholds whose factor c / ‖g‖ is a terminating decimal, so the clipped entries are too
    thresholds = [k for k in range(1, int(total)) if decimal_places(sp.Rational(k, total)) is not None]
    if not thresholds:
        raise Reject(f"every factor c / {total} is a repeating decimal")
    c = sp.Integer(pick(rng, thresholds))
    scale = c / total
    clipped = [[x * scale for x in gw], [x * scale for x in gb]]
    statement = (
        f"One training step produces the gradients $g_W = {latex_decimal(gw)}$ for a weight vector and "
        f"$g_b = {latex_decimal(gb)}$ for a bias vector. They are clipped together by their global norm with "
        f"threshold $c = {c}$: if $\\lVert g \\rVert > c$, every gradient is multiplied by "
        f"$c / \\lVert g \\rVert$, where $\\lVert g \\rVert$ is the norm of all entries of both gradients.\n\n"
        "Compute the global norm, the factor applied, and both clipped gradients."
    )
    squares = " + ".join(f"{paren(x)}^2" for x in gw + gb)
    steps = [
        Step("The global norm takes every entry of every gradient:",
             f"\\lVert g \\rVert = \\sqrt{{{squares}}} = \\sqrt{{{total ** 2}}} = {total}"),
        Step(f"${total} > {c}$, so scale everything by the same factor:",
             f"\\frac{{c}}{{\\lVert g \\rVert}} = \\frac{{{c}}}{{{total}}} = {latex_decimal(scale)}"),
        Step("The clipped gradients point the same way as before, with norm $c$:",
             f"g_W = {latex_decimal(clipped[0])}, \\qquad g_b = {latex_decimal(clipped[1])}"),
    ]

    def per_tensor(vec: list) -> list:
        squares = sum(x * x for x in vec)
        return [x * c / sp.sqrt(squares) for x in vec] if squares > c * c else vec

    def by_value(vec: list) -> list:
        return [max(-c, min(c, x)) for x in vec]

    per_feedback = ("You clipped each tensor by its own norm; global-norm clipping scales all gradients by one "
                    "factor from the norm of all entries together, which keeps their direction.")
    value_feedback = "You clipped each entry to [−c, c]; clipping by norm rescales the whole gradient instead."
    mis = [
        Misconception("clipping per tensor", "clipped_W", per_tensor(gw), per_feedback),
        Misconception("clipping per tensor", "clipped_b", per_tensor(gb), per_feedback),
        Misconception("clipping by value", "clipped_W", by_value(gw), value_feedback),
        Misconception("clipping by value", "clipped_b", by_value(gb), value_feedback),
        Misconception("not clipped", "clipped_W", gw, "The global norm is above c, so the gradient must be scaled."),
        Misconception("norm without square root", "global_norm", total**2,
                      "That is the sum of squares; the norm is its square root."),
        Misconception("norm of one tensor", "global_norm", norm([gw]),
                      "The global norm includes the entries of every gradient, the bias too."),
        Misconception("factor inverted", "factor", 1 / scale,
                      "Clipping shrinks the gradient: multiply by c divided by the norm."),
    ]
    return Variant(
        problem="clip_global_norm",
        title="Gradient clipping by global norm",
        statement=statement,
        params={"g_W": to_str(gw), "g_b": to_str(gb), "threshold": to_str(c)},
        answers=[
            Answer("global_norm", "the global norm $\\lVert g \\rVert$", total),
            Answer("factor", "the factor every gradient is multiplied by", scale, follows=c / ref("global_norm")),
            Answer("clipped_W", "the clipped $g_W$", clipped[0], kind="vector", follows=[x * ref("factor") for x in gw]),
            Answer("clipped_b", "the clipped $g_b$", clipped[1], kind="vector", follows=[x * ref("factor") for x in gb]),
        ],
        steps=steps,
        misconceptions=mis,
        given=gw + gb + [c],
        style="integers",
    )


PROBLEMS = [
    ProblemType("sigmoid_chain", 6, "hand", "Vanishing gradients through a chain of sigmoids",
                sigmoid_chain, "failures"),
    ProblemType("depth_scale", 6, "hand", "Gradient scale s^L through L layers", depth_scale, "failures"),
    ProblemType("init_scale", 6, "hand", "Initialisation scale 1/√n or √(2/n)", init_scale, "failures"),
    ProblemType("clip_global_norm", 6, "hand", "Gradient clipping by global norm", clip_global_norm, "failures"),
]

"""Chapter 3 — the chain rule on a composed scalar function y = f(g(h(x))).

The student evaluates the chain inside out (u = h(x), v = g(u), y = f(v)) and
multiplies the three local derivatives, each taken at its own input:
dy/dx = f′(v) · g′(u) · h′(x). Sympy differentiates each piece once; the
misconceptions are the usual ways of getting that product wrong.

The assignment chooses the pieces g and f (options `middle` and `outer`: a name,
or a list of names to draw from, which must all need a calculator or all not);
the seed chooses h(x) = a x + b and the point.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp

from .exact import integer, nonzero_int, pick
from .expression_graph import PLACES, graded_answer, misconceptions_from, number_style, show
from .follow import ref
from .variant import OptionError, ProblemType, Reject, Step, Variant, option

t = sp.Symbol("t")

# The pieces a chain is made of, as functions of one variable t, with their LaTeX (t -> the variable).
MIDDLE = {"square": t**2, "cube": t**3, "reciprocal": 1 / t, "shift square": (t - 1) ** 2}
OUTER = {
    "square": t**2, "exp": sp.exp(t), "log": sp.log(t), "sin": sp.sin(t), "sqrt": sp.sqrt(t),
    "sigmoid": 1 / (1 + sp.exp(-t)), "tanh": sp.tanh(t), "triple": 3 * t,
}
LATEX = {"sigmoid": r"\sigma({})", "tanh": r"\tanh({})", "log": r"\ln({})"}  # sympy would expand (or say log)
IRRATIONAL = {"exp", "log", "sin", "sqrt", "sigmoid", "tanh"}  # these need a calculator
# Pieces of equal effort: a pool of pieces to draw from must stay within one group.
GROUPS = [{"square", "cube", "reciprocal", "shift square"}, {"square", "triple"}, {"exp", "log", "sin", "sqrt"},
          {"sigmoid", "tanh"}]
SMALL_ARGUMENT = {"exp": 4, "sin": 3, "sigmoid": 3, "tanh": 2}  # |v| at most this (size, radians, saturation)


@cache
def derivative(expr: sp.Expr) -> sp.Expr:
    """d expr / dt, derived once per piece."""
    return sp.diff(expr, t)


def at(expr: sp.Expr, value: sp.Expr) -> sp.Expr:
    """expr with t replaced by `value` (exact)."""
    return expr.xreplace({t: value})


def piece_tex(name: str, expr: sp.Expr, var: str) -> str:
    """LaTeX of a piece as a function of `var`."""
    if name in LATEX:
        return LATEX[name].format(var)
    return sp.latex(expr.xreplace({t: sp.Symbol(var)}))


def real(x: sp.Expr) -> bool:
    """Is x a finite real number?"""
    return x.is_finite is True and x.is_real is True


def pieces(name: str, chosen: str | list[str], table: dict[str, sp.Expr]) -> list[str]:
    """The names an option allows (one name, or a list to draw from), checked against `table`."""
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    for n in names or [None]:
        option("chain_rule_composed", name, n, table)
    if not any(set(names) <= group for group in GROUPS):
        raise OptionError(f"chain_rule_composed: option {name} = {names} mixes pieces of unequal effort; a pool "
                          f"stays within one of {', '.join(str(sorted(g)) for g in GROUPS)}")
    return names


def chain_rule_composed(rng: np.random.Generator, middle: str | list[str] = "square",
                        outer: str | list[str] = "log") -> Variant:
    """Value and derivative of y = f(g(h(x))) at a point, inside out."""
    gname = pick(rng, pieces("middle", middle, MIDDLE))
    fname = pick(rng, pieces("outer", outer, OUTER))
    a, b = nonzero_int(rng, -3, 3), integer(rng, -3, 3)
    h = a * t + b
    g, f = MIDDLE[gname], OUTER[fname]
    x0 = integer(rng, -2, 2)
    u = at(h, x0)
    v = at(g, u)
    if not real(v):
        raise Reject("g undefined at u")
    y = at(f, v)
    if fname in ("log", "sqrt") and v <= 0 or abs(float(v)) > SMALL_ARGUMENT.get(fname, 200) or not real(y):
        raise Reject("f undefined, saturated or far out at v")
    dh, dg, df = at(derivative(h), x0), at(derivative(g), u), at(derivative(f), v)
    dydx = df * dg * dh
    if dydx == 0:
        raise Reject("zero derivative")
    right = {"u": u, "v": v, "y": y, "df_dv": df, "dg_du": dg, "dh_dx": dh, "dydx": dydx}
    if any(abs(float(x)) > 200 for x in right.values()):
        raise Reject("numbers too large for paper")
    style = number_style(list(right.values()), [a, b, x0])

    wrong = {
        "all derivatives at x": (at(derivative(f), x0) * at(derivative(g), x0) * dh,
                                 "Each derivative is taken at its own input: f′ at v = g(h(x)), g′ at u = h(x), "
                                 "not all of them at x."),
        "inner derivatives dropped": (df, "You differentiated the outer function only; the chain rule multiplies "
                                          "by the derivatives of the inner functions too."),
        "last factor missing": (df * dg, "You stopped one step early: h′(x) is a factor of dy/dx as well."),
        "sum instead of product": (df + dg + dh, "The chain rule multiplies the local derivatives; it does not add them."),
    }
    mis = []
    for name, (value, feedback) in wrong.items():
        if real(value):
            mis += misconceptions_from(name, feedback, right, {"dydx": value})

    h_tex, g_tex, f_tex = piece_tex("", h, "x"), piece_tex(gname, g, "u"), piece_tex(fname, f, "v")
    dg_tex, df_tex = sp.latex(derivative(g).xreplace({t: sp.Symbol("u")})), sp.latex(derivative(f).xreplace({t: sp.Symbol("v")}))
    statement = (
        f"Let $h(x) = {h_tex}$, $g(u) = {g_tex}$, $f(v) = {f_tex}$ and $y = f(g(h(x)))$. At $x = {x0}$ compute, "
        "inside out, $u = h(x)$, $v = g(u)$, $y = f(v)$, the local derivatives $h'(x)$, $g'(u)$, $f'(v)$ "
        "(each at its own input), and $dy/dx$."
        + (" Angles are in radians." if fname == "sin" else "")
    )
    if style == "decimals" or fname in IRRATIONAL:
        statement += f"\n\nGive values that are not exact to {PLACES} decimal places."

    def both(x: sp.Expr) -> str:
        return sp.latex(x) if x.is_Rational else rf"{sp.latex(x)} \approx {show(x)}"

    table = [
        ["quantity", "formula", "value"],
        ["$u = h(x)$", f"${h_tex.replace('x', f'({x0})')}$", f"${both(u)}$"],
        ["$v = g(u)$", f"$g({sp.latex(u)})$", f"${both(v)}$"],
        ["$y = f(v)$", f"$f({sp.latex(v)})$", f"${both(y)}$"],
        ["$h'(x)$", f"${sp.latex(a)}$", f"${both(dh)}$"],
        ["$g'(u)$", f"${dg_tex}$ at $u = {sp.latex(u)}$", f"${both(dg)}$"],
        ["$f'(v)$", f"${df_tex}$ at $v = {sp.latex(v)}$", f"${both(df)}$"],
        ["$dy/dx$", "$f'(v) \\cdot g'(u) \\cdot h'(x)$", f"${both(dydx)}$"],
    ]
    labels = {"u": "$u = h(x)$", "v": "$v = g(u)$", "y": "$y = f(g(h(x)))$", "dh_dx": "$h'(x)$",
              "dg_du": "$g'(u)$", "df_dv": "$f'(v)$", "dydx": "$dy/dx$"}
    # Each value at its own input: v from u, y from v, each local derivative at its input, dy/dx their product.
    follows = {"v": at(g, ref("u")), "y": at(f, ref("v")), "dg_du": at(derivative(g), ref("u")),
               "df_dv": at(derivative(f), ref("v")), "dydx": ref("df_dv") * ref("dg_du") * ref("dh_dx")}
    answers = [graded_answer(k, labels[k], right[k], nonzero=k == "dydx", follows=follows.get(k)) for k in labels]
    return Variant(
        problem="chain_rule_composed",
        title="The chain rule on a composed function",
        statement=statement,
        params={"h": str(h.xreplace({t: sp.Symbol("x")})), "g": str(g.xreplace({t: sp.Symbol("u")})),
                "f": str(f.xreplace({t: sp.Symbol("v")})), "x": str(x0), "exact": {k: str(x) for k, x in right.items()}},
        answers=answers,
        steps=[Step("Evaluate inside out, then multiply the local derivatives, each at its own input:", table=table)],
        misconceptions=mis,
        given=[a, b, x0],
        style=style,
        calculator="basic" if fname in IRRATIONAL else None,  # even where the point makes y rational
    )


PROBLEMS = [
    ProblemType("chain_rule_composed", 3, "hand", "Chain rule: value and derivative of f(g(h(x)))",
                chain_rule_composed, "chain-rule"),
]

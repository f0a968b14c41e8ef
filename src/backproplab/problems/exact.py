"""Exact numbers: choosing hand-friendly ones and writing them out.

Generators pick numbers with these helpers so every variant uses numbers a
student can work with on paper, and the key stores every exact value both as a
string (exact) and a float.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import sympy as sp
from mpmath.libmp import prec_to_dps
from mpmath.libmp import to_str as mlib_to_str

from ..tolerance import Tolerance, flat
from .variant import Exact


def R(p: int | str, q: int = 1) -> sp.Rational:
    """An exact rational: R(3, 4) or R("0.25")."""
    return sp.Rational(p, q)


def nonzero_int(rng: np.random.Generator, lo: int, hi: int) -> sp.Integer:
    """A random nonzero integer in [lo, hi]."""
    choices = [k for k in range(lo, hi + 1) if k != 0]
    return sp.Integer(int(rng.choice(choices)))


def integer(rng: np.random.Generator, lo: int, hi: int) -> sp.Integer:
    """A random integer in [lo, hi]."""
    return sp.Integer(int(rng.integers(lo, hi + 1)))


def short_decimal(rng: np.random.Generator, lo: float, hi: float, places: int = 1, nonzero: bool = True) -> sp.Rational:
    """A random decimal with `places` digits after the point in [lo, hi]."""
    scale = 10**places
    ks = [k for k in range(int(round(lo * scale)), int(round(hi * scale)) + 1) if not (nonzero and k == 0)]
    return sp.Rational(int(rng.choice(ks)), scale)


def pick(rng: np.random.Generator, options: Iterable[Any]) -> Any:
    """One element of `options`, chosen by `rng` (works for sympy numbers and strings)."""
    opts = list(options)
    return opts[int(rng.integers(len(opts)))]


def to_str(value: Exact) -> Any:
    """Exact value as JSON: '3/4', a list of such strings, or the choice string."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [to_str(v) for v in value]
    if isinstance(value, sp.Rational):  # what str() prints, without the printer (a key holds hundreds)
        return str(value.p) if value.q == 1 else f"{value.p}/{value.q}"
    if isinstance(value, sp.Float):
        return _float_str(value)
    return str(sp.nsimplify(value) if isinstance(value, float) else value)


def _float_str(value: sp.Float) -> str:
    """str(value), as sympy's StrPrinter._print_Float writes a top-level Float, without the printer."""
    prec = value._prec
    text = mlib_to_str(value._mpf_, 0 if prec < 5 else prec_to_dps(prec), strip_zeros=False)
    if text.startswith("-.0"):
        text = "-0." + text[3:]
    elif text.startswith(".0"):
        text = "0." + text[2:]
    return text.removeprefix("+")


def _float_latex(value: sp.Float) -> str:
    """sp.latex(value), as sympy's LatexPrinter._print_Float writes it by default, without the printer."""
    text = mlib_to_str(value._mpf_, prec_to_dps(value._prec), strip_zeros=True)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \cdot 10^{{{exponent.removeprefix('+')}}}"
    if text == "+inf":
        return r"\infty"
    if text == "-inf":
        return r"- \infty"
    return text


def to_float(value: Exact) -> Any:
    """Exact value as JSON floats (choices stay strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [to_float(v) for v in value]
    if isinstance(value, sp.Rational):  # int / int rounds correctly, as sympy's float() does, and is far cheaper
        return value.p / value.q
    return float(value)


def latex(value: Exact) -> str:
    """LaTeX of an exact value (lists as row vectors)."""
    if isinstance(value, str):
        return r"\text{" + value + "}"
    if isinstance(value, (list, tuple)):
        return r"\left(" + ", ".join(latex(v) for v in value) + r"\right)"
    if isinstance(value, sp.Float):  # an irrational key held to 30 digits: show 10 of them
        return _float_latex(sp.Float(value, 10))
    if isinstance(value, sp.Rational):
        return _rational_latex(value)
    return sp.latex(value)


LONG_FRACTION = 4  # a terminating fraction whose denominator has more digits is written as its decimal


def _rational_latex(value: sp.Rational) -> str:
    """sp.latex(value) for a rational, without the printer (a key holds hundreds); but a long
    terminating fraction such as 745533121/100000000000 as the decimal it is, 0.00745533121."""
    if value.q == 1:
        return str(value.p)
    if len(str(value.q)) > LONG_FRACTION:
        places = decimal_places(value)
        if places is not None:
            return _decimal_text(value, places)
    return f"{'- ' if value.p < 0 else ''}\\frac{{{abs(value.p)}}}{{{value.q}}}"


def _decimal_text(value: sp.Rational, places: int) -> str:
    """The exact decimal of a terminating rational with `places` digits after the point."""
    digits = str(abs(int(value.p)) * 10**places // int(value.q)).rjust(places + 1, "0")
    return f"{'-' if value.p < 0 else ''}{digits[:-places]}.{digits[-places:]}"


def py(value: Exact) -> str:
    """How a student would type the exact value in the notebook: 3/4, -2, [1, 1/2]."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py(v) for v in value) + "]"
    if isinstance(value, sp.Float):  # an irrational key held to 30 digits: a decimal, not a huge fraction
        return str(sp.N(value, 12))
    value = sp.nsimplify(value)
    if value.is_Rational:
        return str(value)
    return str(sp.N(value, 12))


def decimal_places(x: sp.Expr) -> int | None:
    """Digits after the point of a terminating decimal, or None if it does not terminate."""
    q = int(sp.Rational(x).q)
    twos = fives = 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    return max(twos, fives) if q == 1 else None


# Without a calculator, every given number and every answer has at most this many significant
# digits (QA rejects a variant that breaks it; the notebook's header says so) ...
HAND_DIGITS = 4
# ... and they average at most this many. A number has at least one, so no student of a class
# handles more than twice the digits of another: QA's class bound (qa.MAX_EFFORT_SPREAD) holds.
HAND_AVERAGE_DIGITS = 2


def significant_digits(x: sp.Expr) -> int | None:
    """How many digits a student writes for the rational `x`, in its shorter written form: a
    terminating decimal's significant digits (0.375: 3, -1200: 2, 0: 1), or a fraction p/q's
    longer part (14/3: 2, 1/1024: 4). None for an irrational number."""
    x = sp.sympify(x)
    if not x.is_Rational:
        return None
    x = sp.Rational(x)
    fraction = max(len(str(abs(int(x.p)))), len(str(int(x.q))))
    places = decimal_places(x)
    if places is None:
        return fraction
    digits = str(abs(int(x.p)) * 10**places // int(x.q)).strip("0")
    return min(fraction, max(len(digits), 1))


def fits_style(x: sp.Expr, style: str) -> bool:
    """Is the number `x` one a student can handle on paper under `style`?"""
    if not x.is_Rational:
        return style == "decimals"
    x = sp.Rational(x)
    if abs(x) > 1000:
        return False
    if style == "integers":
        return x.q == 1
    if style == "short decimals":
        p = decimal_places(x)
        return p is not None and p <= 2
    if style == "simple fractions":
        return x.q <= 12 or (decimal_places(x) or 9) <= 2
    return True  # "decimals": any number, rounded as the problem states


def approx_latex(x: sp.Expr, figures: int = 4) -> str:
    """LaTeX of x to `figures` significant figures, with a power of ten where it is very large or small."""
    value = float(x)
    if value != 0 and not 1e-3 <= abs(value) < 1e5:
        mantissa, exponent = f"{value:.{figures - 1}e}".split("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return f"{value:.{figures}g}"


def rounded(x: sp.Expr, places: int = 4) -> str:
    """A number as a decimal rounded to `places` digits, for worked steps (e.g. '0.1966')."""
    return f"{float(x):.{places}f}"


def shuffled_choices(rng: np.random.Generator, right: str, wrong: Iterable[str], k: int) -> list[str]:
    """`right` plus `k` of the `wrong` options, drawn and ordered at random for each variant."""
    pool = list(wrong)
    picked = [pool[i] for i in rng.permutation(len(pool))[:k]]
    options = picked + [right]
    return [options[i] for i in rng.permutation(len(options))]


def paren(x: sp.Expr) -> str:
    """LaTeX of `x` (decimals where they terminate), in parentheses when negative: 2 \\cdot (-0.5)."""
    return rf"\left({latex_decimal(x)}\right)" if x.is_negative else latex_decimal(x)


def latex_sum(terms: Iterable[sp.Expr]) -> str:
    """LaTeX of a sum term by term (decimals where they terminate), signs merged: 1 - 2.5 (not 1 + -2.5)."""
    out = ""
    for i, t in enumerate(terms):
        if i == 0:
            out = latex_decimal(t)
        else:
            out += f" - {latex_decimal(-t)}" if t.is_negative else f" + {latex_decimal(t)}"
    return out


def latex_decimal(x: sp.Expr) -> str:
    """LaTeX of `x` as a decimal when it terminates (0.25, not 1/4), else as `latex` writes it."""
    if isinstance(x, (list, tuple)):
        return r"\left(" + ", ".join(latex_decimal(v) for v in x) + r"\right)"
    x = sp.sympify(x)
    places = decimal_places(x) if x.is_Rational else None
    if places is None or x.q == 1:
        return _rational_latex(x) if isinstance(x, sp.Rational) else sp.latex(x)
    return f"{float(x):.{places}f}"


def with_floor(tol: Tolerance, value: Exact) -> Tolerance:
    """`tol` with an absolute floor: its relative part taken of the answer's largest entry.

    A relative tolerance alone accepts nothing but an exact 0 for an entry that is 0 (or very
    small next to the others), although rounding the larger entries along the way moves it
    by as much as it moves them."""
    scale = max((abs(float(x)) for x in flat(value)), default=0.0)
    return Tolerance(tol.rel, max(tol.abs, tol.rel * scale), tol.why)

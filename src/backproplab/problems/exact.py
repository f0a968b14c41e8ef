"""Exact numbers: choosing hand-friendly ones and writing them out.

Generators pick numbers with these helpers so every variant uses numbers a
student can work with on paper, and the key stores every exact value both as a
string (exact) and a float.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import sympy as sp

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
    return str(sp.nsimplify(value) if isinstance(value, float) else value)


def to_float(value: Exact) -> Any:
    """Exact value as JSON floats (choices stay strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [to_float(v) for v in value]
    return float(value)


def latex(value: Exact) -> str:
    """LaTeX of an exact value (lists as row vectors)."""
    if isinstance(value, str):
        return r"\text{" + value + "}"
    if isinstance(value, (list, tuple)):
        return r"\left(" + ", ".join(latex(v) for v in value) + r"\right)"
    return sp.latex(value)


def py(value: Exact) -> str:
    """How a student would type the exact value in the notebook: 3/4, -2, [1, 1/2]."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py(v) for v in value) + "]"
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

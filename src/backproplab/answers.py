"""Reading hand answers from a cell without running it, and the form an answer must have.

A student's answer cell holds lines like `loss = 3/4` or `w = [1, -1/2]`. The
grader parses the cell with `ast` and evaluates only literal arithmetic (numbers,
+ - * / **, parentheses, lists, a few named functions and constants, strings):
student text is never passed to eval, exec or sympy's parse_expr.

The grader and the student's own checks (`backproplab check`, the notebook's
check cells) read answers with this one module, so a form the check accepts is a
form the grader grades. It needs only the standard library.
"""

from __future__ import annotations

import ast
import math
import re
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from .tolerance import shape

MAX_DEPTH = 3
MAX_ITEMS = 1000
MAX_EXPONENT = 64
MAX_MAGNITUDE = 1e100
# Exact arithmetic is bounded by the size of every intermediate, not only by exponents and
# magnitudes: (1 + 1/10**50)**64 is small, but its denominator has 3200 digits, and four
# more powers of 64 would run for hours. No numerator or denominator may exceed this.
MAX_DIGITS = 300
MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))
CELL_SECONDS = 2.0  # reading one cell may take at most this long

FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "tanh": math.tanh, "abs": abs,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
MODULES = {"np", "numpy", "math"}  # np.sqrt(2), math.exp(1), np.array([...])


class Unanswered(Exception):
    """The answer is still `...` or missing."""


class BadAnswer(Exception):
    """The answer is not a literal number, list or string this parser accepts."""


@dataclass
class Parsed:
    """What one answer cell says: a value per name, or the reason it could not be read."""

    values: dict[str, Any]
    errors: dict[str, str]
    syntax_error: str | None = None


TOO_LONG = f"number too long (more than {MAX_DIGITS} digits in its numerator or denominator): use a decimal"


def _bits(x: Fraction | float) -> int:
    return max(x.numerator.bit_length(), x.denominator.bit_length()) if isinstance(x, Fraction) else 0


def _number(x: Any) -> Fraction | float:
    if isinstance(x, bool) or not isinstance(x, (int, float, Fraction)):
        raise BadAnswer("expected a number")
    if isinstance(x, float) and not math.isfinite(x):
        raise BadAnswer("not a finite number")
    if _bits(x) > MAX_BITS:  # before abs(), which would divide two huge integers
        raise BadAnswer(TOO_LONG)
    if abs(x) > MAX_MAGNITUDE:
        raise BadAnswer("number too large")
    return x


def _eval(node: ast.AST, depth: int = 0, deadline: float = math.inf) -> Any:
    if time.monotonic() > deadline:
        raise BadAnswer(f"took longer than {CELL_SECONDS:g} s to read")
    return _eval_node(node, depth, deadline)


def _eval_node(node: ast.AST, depth: int, deadline: float) -> Any:
    if isinstance(node, ast.Constant):
        if node.value is Ellipsis:
            raise Unanswered()
        if isinstance(node.value, str):
            if len(node.value) > 200:
                raise BadAnswer("string too long")
            return node.value
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise BadAnswer(f"{type(node.value).__name__} is not a number")
        return _number(Fraction(node.value) if isinstance(node.value, int) else node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        x = _number(_eval(node.operand, depth, deadline))
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
        a, b = _number(_eval(node.left, depth, deadline)), _number(_eval(node.right, depth, deadline))
        try:
            if isinstance(node.op, ast.Add):
                return _number(a + b)
            if isinstance(node.op, ast.Sub):
                return _number(a - b)
            if isinstance(node.op, ast.Mult):
                return _number(a * b)
            if isinstance(node.op, ast.Div):
                return _number(Fraction(a) / Fraction(b) if isinstance(a, Fraction) and isinstance(b, Fraction) else a / b)
            if abs(b) > MAX_EXPONENT:
                raise BadAnswer("exponent too large")
            if isinstance(b, Fraction) and b.denominator == 1 and isinstance(a, Fraction):
                if _bits(a) * abs(int(b)) > MAX_BITS and abs(a) != 1:  # checked before it is computed
                    raise BadAnswer(TOO_LONG)
                return _number(a ** int(b))
            return _number(float(a) ** float(b))
        except (ZeroDivisionError, OverflowError, ValueError):
            raise BadAnswer("arithmetic error (division by zero or overflow)") from None
    if isinstance(node, (ast.List, ast.Tuple)):
        if depth >= MAX_DEPTH:
            raise BadAnswer("lists nested too deeply")
        if len(node.elts) > MAX_ITEMS:
            raise BadAnswer("list too long")
        return [_eval(e, depth + 1, deadline) for e in node.elts]
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in MODULES and node.attr in CONSTANTS:
        return CONSTANTS[node.attr]
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else (
            func.attr if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in MODULES else None)
        if name in ("array", "asarray") and isinstance(func, ast.Attribute):
            return _eval(node.args[0], depth, deadline)
        if name in FUNCTIONS:
            try:
                return _number(float(FUNCTIONS[name](float(_number(_eval(node.args[0], depth, deadline))))))
            except (ValueError, OverflowError):
                raise BadAnswer(f"{name}() of a value outside its domain") from None
    raise BadAnswer("only numbers, fractions like 3/4, lists and strings are read (no variables or function calls)")


def parse_answers(source: str) -> Parsed:
    """Every `name = <literal>` at the top level of `source`; later assignments win.

    Reading one cell takes at most about CELL_SECONDS: past it every answer not yet
    read gets a one-line error (each operation is bounded by MAX_DIGITS, so the
    limit is checked often enough).
    """
    deadline = time.monotonic() + CELL_SECONDS
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return Parsed({}, {}, f"line {e.lineno}: {e.msg}")
    except (ValueError, RecursionError, MemoryError):
        return Parsed({}, {}, "the cell cannot be read as Python")
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            try:
                values[name] = _eval(stmt.value, 0, deadline)
                errors.pop(name, None)
            except Unanswered:
                values.pop(name, None)
                errors[name] = "not answered yet (still ...)"
            except (BadAnswer, RecursionError) as e:
                values.pop(name, None)
                errors[name] = f"line {stmt.lineno}: {e}"
    return Parsed(values, errors)


def to_floats(value: Any) -> Any:
    """Parsed value with numbers as floats (strings and nesting kept)."""
    if isinstance(value, list):
        return [to_floats(v) for v in value]
    if isinstance(value, str):
        return value
    return float(value)


def answer_form(kind: str, value: Any, choices: list[str] | None = None) -> dict:
    """The form an answer must have ({"kind", "shape", "choices"}): what `form_problem` checks.

    The grader derives it from the key, the notebook's check cell carries the same dict,
    so both reject the same answers with the same message.
    """
    form: dict = {"kind": kind}
    if isinstance(value, list):
        form["shape"] = list(shape(value))
    if choices:
        form["choices"] = list(choices)
    return form


def _squeeze(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.strip().strip("'\"").strip().rstrip(".").lower())


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def choice_label(text: str, labels: list[str]) -> str | None:
    """The label a choice answer means, or None when it means none (or more than one).

    Accepted: the label itself in any case, with surrounding quotes or a trailing
    period, a plural, hyphens or spaces changed; a prefix of one label only ('mono');
    a word of the same stem as one label only ('monotonic' for 'monotone').
    """
    if not isinstance(text, str):
        return None
    got = _squeeze(text)
    if not got:
        return None
    by_key = {_squeeze(label): label for label in labels}
    for key in (got, got[:-1] if got.endswith("s") else None, got[:-2] if got.endswith("es") else None):
        if key and key in by_key:
            return by_key[key]
    if len(got) >= 3:
        prefixed = [label for key, label in by_key.items() if key.startswith(got)]
        if len(prefixed) == 1:
            return prefixed[0]
    stem = [label for key, label in by_key.items()
            if len(key) > 1 and _common_prefix(got, key) >= max(5, len(key) - 3)]
    return stem[0] if len(stem) == 1 else None


def form_problem(value: Any, form: dict) -> str | None:
    """Why `value` does not have the form `form` ({"kind", "shape", "choices"}), or None."""
    kind = form["kind"]
    if kind == "number":
        return None if not isinstance(value, (list, str)) else "should be a single number"
    if kind == "vector":
        if not isinstance(value, list):
            return "should be a list"
        want = form.get("shape")
        got = list(shape(value))
        if want is not None and got != list(want):
            return f"should be a list of shape {tuple(want)}, got {tuple(got)}"
        flat = value
        while flat and isinstance(flat[0], list):
            flat = [y for x in flat for y in x]
        return None if all(not isinstance(x, (str, list)) for x in flat) else "should contain only numbers"
    if kind == "choice":
        choices = form.get("choices") or []
        items = value if isinstance(value, list) else [value]
        if "shape" in form and (not isinstance(value, list) or len(value) != form["shape"][0]):
            return f"should be a list of {form['shape'][0]} choices"
        if "shape" not in form and isinstance(value, list):
            return "should be one choice, not a list"
        if not all(isinstance(x, str) for x in items):
            return "should be a string (or a list of strings) from the listed options"
        bad = [x for x in items if choices and choice_label(x, choices) is None]
        return f"{bad[0]!r} is not one of {', '.join(map(repr, choices))}" if bad else None
    return None


def as_labels(value: Any, choices: list[str]) -> Any:
    """A choice answer with each string replaced by the label it means (unchanged where none)."""
    if isinstance(value, list):
        return [as_labels(v, choices) for v in value]
    return (choice_label(value, choices) or value) if isinstance(value, str) else value


def form_messages(parsed: Parsed, forms: dict[str, dict]) -> dict[str, str]:
    """Why each answer of a cell cannot be graded, one line per answer (absent: it can be).

    The grader, the notebook's check cell and `backproplab check` all report these
    same lines, so "Form OK" means the grader will grade every answer.
    """
    out: dict[str, str] = {}
    for name, form in forms.items():
        if parsed.syntax_error:
            out[name] = f"`{name}`: the answer cell is not valid Python ({parsed.syntax_error})."
        elif name not in parsed.values:
            out[name] = f"`{name}`: {parsed.errors.get(name, 'not answered')}."
        else:
            why = form_problem(readable(parsed.values[name], form), form)
            if why:
                out[name] = f"`{name}` {why}."
    return out


def readable(value: Any, form: dict) -> Any:
    """A parsed answer as the grader compares it: numbers as floats, a choice by its label."""
    got = to_floats(value)
    return as_labels(got, form.get("choices") or []) if form["kind"] == "choice" else got


def kernel_value(value: Any) -> Any:
    """A value from the student's running notebook, as the parser would give it."""
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
    except ImportError:
        pass
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [kernel_value(v) for v in value]
    return value

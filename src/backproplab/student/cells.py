"""What a student's notebook cells call: the form check of hand answers and the public tests of code.

Only public examples are involved here: the test cells hold their own inputs and
expected values, and nothing reads the hidden tests (autograder/), the reference
solutions or the key. Notebooks import these through `backproplab.notebook_api`.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable

import numpy as np

from ..answers import Parsed, form_messages, kernel_value, parse_answers
from ..tasks.catalog import test_function
from ..tasks.compare import mismatch

__all__ = ["check_form", "expect", "test_function"]

PUBLIC_TOL = 1e-7


def _shown(args: tuple) -> str:
    return ", ".join(type(a).__name__ if not isinstance(a, np.ndarray) else f"array{a.shape}" for a in args)


def expect(fn: Callable, args: tuple, want: Any, tol: float = PUBLIC_TOL) -> None:
    """Call `fn(*args)` and compare with `want`; print a line, or raise AssertionError saying why."""
    name = getattr(fn, "__name__", "function")
    pristine = copy.deepcopy(args)
    try:
        got = fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{name}: not implemented yet") from None
    if inspect.isgenerator(got):
        got = list(got)
    why = mismatch(got, want, tol)
    if why is None:
        for k, (before, after) in enumerate(zip(pristine, args)):
            if isinstance(before, np.ndarray) and not np.array_equal(before, after):
                why = f"changed its argument {k + 1} in place; work on a copy"
    if why:
        raise AssertionError(f"{name}({_shown(args)}): {why}")
    print(f"ok  {name}({_shown(args)})")


class NotReady(Exception):
    """A hand answer the grader could not grade in its present form (the check cell raises it)."""


AUTOGRADING = "__backproplab_autograding__"  # set by the source notebook's hidden tests: only report


def answer_cell_source(names: list[str], namespace: dict) -> str | None:
    """The source of the last cell run before this one that assigns one of `names` (IPython's input
    history, `In`), or None outside IPython: the grader reads that text, never the variables."""
    history = namespace.get("In") or namespace.get("_ih")
    if not isinstance(history, list):
        return None
    for source in reversed(history[:-1]):  # the last entry is the check cell itself
        if not isinstance(source, str):
            continue
        parsed = parse_answers(source)
        if parsed.syntax_error or any(n in parsed.values or n in parsed.errors for n in names):
            return source
    return None


def check_form(forms: dict[str, dict], namespace: dict) -> None:
    """The check cell of a hand problem: read the answer cell as the grader does and say what would
    stop it being graded (NotReady); or "Form OK". Values are not checked: they are graded later."""
    source = answer_cell_source(list(forms), namespace)
    if source is None:  # not in Jupyter: the variables are the best we have
        values = {n: kernel_value(namespace[n]) for n in forms if n in namespace and namespace[n] is not Ellipsis}
        parsed = Parsed({n: v for n, v in values.items() if not callable(v)}, {})
    else:
        parsed = parse_answers(source)
    problems = form_messages(parsed, forms)
    if not problems:
        print(f"Form OK: {', '.join(forms)} will be graded as written (their values are graded after you submit).")
        return
    lines = "\n  ".join(problems.values())
    if namespace.get(AUTOGRADING):
        print("Not gradable as written:\n  " + lines)
        return
    raise NotReady("not ready to be graded:\n  " + lines)

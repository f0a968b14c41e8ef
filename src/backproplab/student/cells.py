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

from ..answers import form_problem, kernel_value
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


def check_form(forms: dict[str, dict], namespace: dict) -> None:
    """Public check run in the student's notebook: is every answer present and of the right form?"""
    problems = []
    for name, form in forms.items():
        if name not in namespace or namespace[name] is Ellipsis:
            problems.append(f"`{name}`: not answered yet")
            continue
        why = form_problem(kernel_value(namespace[name]), form)
        if why:
            problems.append(f"`{name}`: {why}")
    if problems:
        print("Not ready:\n  " + "\n  ".join(problems))
    else:
        print(f"Form OK: {', '.join(forms)} (values are graded after you submit).")

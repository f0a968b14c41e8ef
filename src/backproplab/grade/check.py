"""Public tests a student runs: the helpers their notebook's test cells call, and
`_run_pair`, which runs one problem's cells for `backproplab check` (grade.public).

Only public examples are involved here: the test cells hold their own inputs and
expected values, and nothing reads the hidden tests (autograder/) or the
reference solutions.
"""

from __future__ import annotations

import copy
import inspect
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .code import harness, mismatch

PUBLIC_TOL = 1e-7
CELL_TIMEOUT_S = 60


def test_function(spec: dict) -> Callable:
    """The scalar test function a public example describes (the same one the grader uses)."""
    return harness().backproplab_make_function(spec)


test_function.__test__ = False  # not a pytest test


def build_arg(arg: Any) -> Any:
    """A public argument as the function receives it (rng and test-function descriptions built)."""
    if isinstance(arg, dict) and "__rng__" in arg:
        return np.random.default_rng(arg["__rng__"])
    if isinstance(arg, dict) and "__function__" in arg:
        return test_function(arg["__function__"])
    return arg


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


@dataclass
class CellCheck:
    """The outcome of one problem's public tests."""

    key: str
    passed: bool
    output: str


def _run_pair(key: str, solution: str, tests: str) -> CellCheck:
    """Run a solution cell then its public test cell in a fresh Python process."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / f"{key}.py"
        script.write_text(solution + "\n\n" + tests)
        try:
            proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                  timeout=CELL_TIMEOUT_S, cwd=tmp)
        except subprocess.TimeoutExpired:
            return CellCheck(key, False, f"timed out after {CELL_TIMEOUT_S} s")
    output = proc.stdout
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit code {proc.returncode}"
        output += ("\n" if output else "") + f"FAILED: {last}"
    return CellCheck(key, proc.returncode == 0, output.strip())

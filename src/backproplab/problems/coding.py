"""Coding tasks: students implement the course's algorithms in numpy.

Each task is a module of reference solutions (solutions/<task>.py, function
bodies between BEGIN/END SOLUTION markers) and a module of hidden tests
(autograder/<task>.py, which also names the task's chapter and title; see
tasks/catalog.py). A variant of a coding problem shows the functions'
signatures and docstrings (the conventions), a starter cell, and public tests on
small examples drawn from the variant's own random numbers; the hidden inputs
come from another stream of the student's seed and live only in the grader.
"""

from __future__ import annotations

import inspect
import re
from functools import partial

import numpy as np

from ..paths import data_dir
from ..tasks import FORBIDDEN_MODULES, Call
from ..tasks.catalog import autograder, build_arg, solution, task_ids
from .variant import CHAPTER_OUTCOMES, CodeTask, ProblemType, Variant

# What every coding problem asks, said once in the notebook's header (render/templates/header.md.j2).
FORBIDDEN_NOTE = f"Use numpy only: {', '.join(FORBIDDEN_MODULES[:-1])} and {FORBIDDEN_MODULES[-1]} are not allowed and score 0."
ARRAYS_NOTE = "Return new arrays of dtype float64 (or the dtype of the inputs for labels); never modify the inputs."

_REGION = re.compile(r"^([ \t]*)# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION\n", re.S | re.M)
_MARKER = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION\n", re.M)


def _cell_text(task: str) -> str:
    """The solutions module without its module docstring (it speaks to instructors)."""
    text = (data_dir("solutions") / f"{autograder(task).SOLUTION}.py").read_text()
    doc = inspect.getdoc(solution(task))
    if doc:
        text = text.split('"""', 2)[2].lstrip("\n")
    return text


def solution_code(task: str) -> str:
    """The reference cell: the solutions module with the marker lines removed."""
    return _MARKER.sub("", _cell_text(task))


def starter_code(task: str) -> str:
    """The student's cell: every solution region replaced by a placeholder."""
    return _REGION.sub(lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()\n", _cell_text(task))


def _literal(value) -> str:
    """Python source that rebuilds a public input or expected value."""
    if isinstance(value, np.ndarray):
        dtype = "" if value.dtype == np.float64 else f", dtype=np.{value.dtype}"
        return f"np.array({value.tolist()!r}{dtype})"
    if isinstance(value, dict) and "__rng__" in value:
        return f"np.random.default_rng({value['__rng__']})"
    if isinstance(value, dict) and "__function__" in value:
        return f"test_function({_literal(value['__function__'])})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, np.generic):
        return repr(value.item())
    return repr(value)


def _reference_output(task: str, call: Call):
    """What the reference returns for a public call (generators become lists)."""
    out = getattr(solution(task), call.fn)(*[build_arg(a) for a in call.args])
    return list(out) if inspect.isgenerator(out) else out


def _rounded(arg):
    """A public input with 3 decimals (numbers: 3 digits), so the example reads well (expected values are recomputed)."""
    if isinstance(arg, np.ndarray) and arg.dtype == np.float64:
        return np.round(arg, 3)
    if isinstance(arg, float):
        return float(f"{arg:.3g}")  # 3 significant digits: a step h = 1e-5 stays 1e-5
    if isinstance(arg, dict) and "__rng__" not in arg:
        return {k: _rounded(v) for k, v in arg.items()}
    if isinstance(arg, list):
        return [_rounded(v) for v in arg]
    return arg


def public_tests(task: str, rng: np.random.Generator) -> str:
    """Visible test code: the first example of every function, with its expected output."""
    seen: dict[str, Call] = {}
    for check in autograder(task).checks(rng, solution(task)):
        seen.setdefault(check.call.fn, check.call)
    lines = [
        "# Public tests: small examples with their expected outputs. Run this cell after the one above.",
        "# The grader runs hidden tests on other inputs, and also checks that inputs are not modified.",
        "import numpy as np",
        "from backproplab.notebook_api import expect, test_function",
    ]
    for fn in autograder(task).FUNCTIONS:
        call = Call(fn, tuple(_rounded(a) for a in seen[fn].args))
        names = list(inspect.signature(getattr(solution(task), fn)).parameters)[: len(call.args)]
        lines += ["", f"# {fn}"]
        lines += [f"{name} = {_literal(arg)}" for name, arg in zip(names, call.args)]
        lines.append(f"expected = {_literal(_reference_output(task, call))}")
        lines.append(f"expect({fn}, ({', '.join(names)},), expected)")
    lines += ["", 'print("All public tests passed.")']
    return "\n".join(lines) + "\n"


def statement(task: str) -> str:
    """What to implement, with each function's signature and conventions."""
    sol = solution(task)
    parts = ["Implement the functions below.\n"]
    for fn in autograder(task).FUNCTIONS:
        f = getattr(sol, fn)
        parts.append(f"**`{fn}{inspect.signature(f)}`**\n\n{inspect.getdoc(f)}\n")
    return "\n".join(parts).rstrip()


def generate(task: str, rng: np.random.Generator) -> Variant:
    """A coding variant: conventions, starter, reference and public tests from `rng`."""
    title = autograder(task).TITLE
    code = CodeTask(task, list(autograder(task).FUNCTIONS), starter_code(task), solution_code(task), public_tests(task, rng))
    return Variant(problem=f"code_{task}", title=title, statement=statement(task), params={"task": task},
                   answers=[], code=code, style="decimals")


PROBLEMS = [ProblemType(f"code_{task}", autograder(task).CHAPTER, "code", autograder(task).TITLE,
                        partial(generate, task), CHAPTER_OUTCOMES[autograder(task).CHAPTER])
            for task in task_ids()]

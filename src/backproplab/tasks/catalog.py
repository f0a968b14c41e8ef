"""The coding tasks on disk: `autograder/<task>.py` (hidden tests) and `solutions/<name>.py`.

Adding a coding task is adding these two files (and an assignment entry): the
autograder module names its reference solution (`SOLUTION`), the functions the
student writes (`FUNCTIONS`), its chapter and title (`CHAPTER`, `TITLE`), and
`checks(rng, solution)`. `autograder/harness.py` is not a task: it is the adapter
loaded into the student's sandbox session, and it describes the test functions
the public examples use.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from types import ModuleType
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError
from ..paths import data_dir, student_build
from .checks import Check

HARNESS = "harness"


class TaskNotFound(ConfigError):
    """A coding task's hidden tests or reference solution are not in this install."""


def task_ids() -> list[str]:
    """Every coding task this install carries (none in the student build, which has no hidden tests)."""
    return sorted(p.stem for p in data_dir("autograder").glob("*.py") if p.stem != HARNESS and not p.stem.startswith("_"))


def _load(folder: str, name: str) -> ModuleType:
    path = data_dir(folder) / f"{name}.py"
    if not path.is_file():
        why = " (the student build carries no hidden tests or solutions)" if student_build() else ""
        raise TaskNotFound(f"no {folder} module {name!r} at {path}{why}")
    spec = importlib.util.spec_from_file_location(f"_backproplab_{folder}_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def autograder(task: str) -> ModuleType:
    """The hidden-test module of `task` (autograder/<task>.py)."""
    return _load("autograder", task)


@cache
def solution(task: str) -> ModuleType:
    """The reference implementation used by `task` (solutions/<SOLUTION>.py)."""
    return _load("solutions", autograder(task).SOLUTION)


@cache
def harness_source() -> str:
    """The adapter appended to the student's cell (no checks, no expected values)."""
    return (data_dir("autograder") / "harness.py").read_text()


def harness() -> ModuleType:
    """The adapter as a module of the grader, to evaluate test functions here."""
    return _load("autograder", "harness")


def hidden_rng(seed: int) -> np.random.Generator:
    """The stream of hidden inputs: independent of the public examples drawn from `seed`."""
    return np.random.default_rng(np.random.SeedSequence([seed, 0x4D1DDE]))


def hidden_checks(task: str, seed: int) -> list[Check]:
    """Every hidden check of `task` for the student whose variant seed is `seed`."""
    return autograder(task).checks(hidden_rng(seed), solution(task))


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

"""Shared by the coding-task tests: a sandbox (the real one if it exists, else an
in-process stand-in with the same interface) and helpers to grade a source text."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from backproplab.grade.code import grade_code
from backproplab.grade.sandbox import StudentError
from backproplab.problems import get
from backproplab.problems.qa import make_variant

BUGGY = Path(__file__).parent / "buggy"


class StandInSession:
    """Runs the student's source in a fresh namespace of this process (tests only: no isolation)."""

    def __init__(self, source: str):
        self.namespace: dict[str, Any] = {"__name__": "student"}
        try:
            exec(compile(source, "<student>", "exec"), self.namespace)
        except Exception as e:
            raise StudentError(f"your cell failed to run: {type(e).__name__}: {e}") from None

    def call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return copy.deepcopy(self.namespace[fn](*copy.deepcopy(args), **copy.deepcopy(kwargs)))
        except Exception as e:
            raise StudentError(f"{type(e).__name__}: {e}") from None


class StandInSandbox:
    """The Sandbox interface, in process."""

    @contextmanager
    def session(self, source: str):
        yield StandInSession(source)

    def close(self) -> None:
        pass


def make_sandbox() -> Any:
    """The real sandbox when it is available, else the stand-in."""
    try:
        from backproplab.grade.sandbox import Sandbox
    except ImportError:
        return StandInSandbox()
    return Sandbox()


def variant(task: str, seed: int):
    """The coding variant of `task` for `seed`."""
    return make_variant(get(f"code_{task}"), seed)


def grade(task: str, source: str, seed: int = 7, sandbox: Any = None, credit: dict | None = None):
    """Grade `source` as the solution cell of `task` for the student with `seed`."""
    return grade_code("p1", task, seed, 10.0, source, sandbox or StandInSandbox(), credit)

"""What goes into a wheel, and what it depends on.

The instructor's build (the default, what `pip install .` and `pip install
backproplab` make) carries the built-in assignments, the reference solutions and
the hidden tests, and depends on everything: sympy, nbgrader, matplotlib, ...
The student build (`BACKPROPLAB_WHEEL=student pip wheel . --no-deps -w dist`) is
what a class's Jupyter environment needs to run the notebooks' public checks and
`backproplab check`: the assignments and the harness that describes public test
functions, but no reference solution and no hidden test, and it depends only on
numpy, click and the seccomp binding. The two dependency lists are
pyproject.toml's [tool.hatch.metadata.hooks.custom] `student` and `instructor`.
"""

from __future__ import annotations

import os

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

DATA = "backproplab/_data"
KINDS = ("instructor", "student")


def build_kind() -> str:
    """`instructor` (the default) or `student`, from BACKPROPLAB_WHEEL."""
    kind = os.environ.get("BACKPROPLAB_WHEEL", "instructor")
    if kind not in KINDS:
        raise ValueError(f"BACKPROPLAB_WHEEL must be 'instructor' or 'student', not {kind!r}")
    return kind


class CustomMetadataHook(MetadataHookInterface):
    def update(self, metadata: dict) -> None:
        deps = list(self.config.get("student", []))
        if build_kind() == "instructor":
            deps += self.config.get("instructor", [])
        metadata["dependencies"] = deps


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        include = build_data.setdefault("force_include", {})
        include["assignments"] = f"{DATA}/assignments"
        if build_kind() == "instructor":
            include["solutions"] = f"{DATA}/solutions"
            include["autograder"] = f"{DATA}/autograder"
        else:
            include["autograder/harness.py"] = f"{DATA}/autograder/harness.py"

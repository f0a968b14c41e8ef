"""Which course content goes into a wheel.

The instructor's build (the default, what `pip install .` makes) carries the
built-in assignments, the reference solutions and the hidden tests. The student
build (`BACKPROPLAB_WHEEL=student pip wheel . --no-deps -w dist`) is what a
class's Jupyter environment needs to run the notebooks' public checks and
`backproplab check`: the assignments and the harness that describes public test
functions, but no reference solution and no hidden test.
"""

from __future__ import annotations

import os

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

DATA = "backproplab/_data"


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        kind = os.environ.get("BACKPROPLAB_WHEEL", "instructor")
        if kind not in ("instructor", "student"):
            raise ValueError(f"BACKPROPLAB_WHEEL must be 'instructor' or 'student', not {kind!r}")
        include = build_data.setdefault("force_include", {})
        include["assignments"] = f"{DATA}/assignments"
        if kind == "instructor":
            include["solutions"] = f"{DATA}/solutions"
            include["autograder"] = f"{DATA}/autograder"
        else:
            include["autograder/harness.py"] = f"{DATA}/autograder/harness.py"

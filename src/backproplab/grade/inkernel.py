"""Hidden tests for stock, in-kernel `nbgrader autograde` (no backproplab plugin).

INSECURE by nature: the student's code and these checks share one Python process,
so a student can patch numpy, read this module or fake the result. It exists so
an unmodified nbgrader still grades our notebooks correctly for honest students;
courses should grade with `backproplab grade` or the plugin that `generate`
configures (docs/nbgrader.md).

nbgrader runs the kernel in autograded/<student>/<HW>/, which names the student
and the course, so each student is graded against their own key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .answers import _kernel_value
from .hand import grade_answer
from .result import ProblemResult


def _locate() -> tuple[Path, str, str]:
    here = Path(os.getcwd()).resolve()
    return here.parents[2], here.parent.name, here.name  # course, student, assignment


def grade_problem(key: str, namespace: dict[str, Any]) -> float:
    """Grade problem `key` from the kernel's variables; prints feedback, returns the score."""
    course, student, assignment = _locate()
    entry = next(p for p in json.loads((course / ".backproplab" / "keys" / assignment / f"{student}.json").read_text())["problems"]
                 if p["key"] == key)
    if entry.get("code"):
        from .code import grade_code
        from .inprocess import InProcessSandbox

        result = grade_code(key, entry["code"]["task"], int(entry["seed"], 16), float(entry["points"]), "",
                            InProcessSandbox(namespace), entry.get("credit") or {})
    else:
        result = ProblemResult(key, float(entry["points"]))
        for answer in entry["answers"]:
            value = namespace.get(answer["name"], Ellipsis)
            got = _kernel_value(value)
            if got is Ellipsis:
                from .result import CheckResult

                result.checks.append(CheckResult(answer["name"], 0.0, float(answer["points"]), f"`{answer['name']}`: not answered."))
                continue
            got = got if isinstance(got, (list, str)) else float(got)
            result.checks.append(grade_answer(answer, got, entry["misconceptions"], entry.get("credit", {})))
    for c in result.checks:
        print(c.message)
    return result.score

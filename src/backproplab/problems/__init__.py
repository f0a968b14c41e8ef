"""Problem types. Each module here (or in a subpackage such as network/) that
defines `PROBLEMS` (a list of `ProblemType`) is a topic of the course;
`registry()` finds them all, so adding a problem type is adding a module, with
nothing else to register.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .variant import ProblemType


@cache
def registry() -> dict[str, ProblemType]:
    """Every problem type by id, in chapter order."""
    found: dict[str, ProblemType] = {}
    for info in sorted(pkgutil.walk_packages(__path__, prefix=f"{__name__}."), key=lambda m: m.name):
        module = importlib.import_module(info.name)
        for p in getattr(module, "PROBLEMS", []):
            if p.id in found:
                raise RuntimeError(f"problem id {p.id!r} defined twice")
            found[p.id] = p
    return dict(sorted(found.items(), key=lambda kv: (kv[1].chapter, kv[0])))


def get(problem_id: str) -> ProblemType:
    """The problem type `problem_id`, or KeyError with the known ids."""
    reg = registry()
    if problem_id not in reg:
        raise KeyError(f"unknown problem type {problem_id!r} (known: {', '.join(reg)})")
    return reg[problem_id]

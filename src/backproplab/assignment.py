"""Assignment specs: `assignments/<name>/assignment.toml` lists the problems.

    title = "Homework 1: Loss and gradient descent"
    intro = "A paragraph shown at the top of the notebook."
    [[problem]]
    type = "mse_of_predictions"      # a problem type id (`backproplab list`)
    points = 4
    options = { }                    # keyword arguments for the generator (optional)
    credit = { "missing 1/N" = 0.5 } # partial credit per misconception name (optional);
                                     # "follow-through" (default 1) is the credit of an answer
                                     # that follows correctly from the student's earlier slip
    partial = "proportional"         # a list answer with some entries right: their share (default),
                                     # or "all" (all entries or nothing)

Problems get the keys p1, p2, ... in order; a key names the problem's cells
(grade_ids `pN` and `pN_test`) and seeds its variant.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .paths import data_dir

if TYPE_CHECKING:  # the problem types need sympy: `load` imports them, `spec_file` does not
    from .problems.variant import ProblemType

PARTIAL = ("proportional", "all")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AssignmentError(ConfigError):
    """The assignment is unknown or its spec is malformed."""


@dataclass
class ProblemSpec:
    key: str
    type: ProblemType
    points: float
    options: dict[str, Any] = field(default_factory=dict)
    credit: dict[str, float] = field(default_factory=dict)
    partial: str = "proportional"  # or "all"


@dataclass
class Assignment:
    name: str
    title: str
    intro: str
    problems: list[ProblemSpec]

    @property
    def points(self) -> float:
        return sum(p.points for p in self.problems)

    def problem(self, key: str) -> ProblemSpec:
        for p in self.problems:
            if p.key == key:
                return p
        raise KeyError(key)


def available() -> list[str]:
    """Names of the built-in assignments."""
    root = data_dir("assignments")
    return sorted(p.parent.name for p in root.glob("*/assignment.toml"))


def find_spec(name: str) -> Path:
    """The assignment.toml of the built-in assignment `name`, or of the folder at the path `name`;
    AssignmentError when there is none."""
    path = Path(name)
    if not (path / "assignment.toml").is_file():
        if not NAME.match(name):
            raise AssignmentError(f"unknown assignment {name!r} (known: {', '.join(available())})")
        path = data_dir("assignments") / name
    if not (path / "assignment.toml").is_file():
        raise AssignmentError(f"unknown assignment {name!r} (known: {', '.join(available())})")
    return path / "assignment.toml"


def load(name: str) -> Assignment:
    """The built-in assignment `name`, or one at a path to a folder holding assignment.toml."""
    from . import problems

    spec_file = find_spec(name)
    path = spec_file.parent
    try:
        spec = tomllib.loads(spec_file.read_text())
    except tomllib.TOMLDecodeError as e:
        raise AssignmentError(f"{spec_file.name} of {name!r} is not valid TOML: {e}") from None
    items = spec.get("problem", [])
    if not items:
        raise AssignmentError(f"assignment {name!r} has no [[problem]] entries")
    specs = []
    for i, item in enumerate(items, start=1):
        try:
            ptype = problems.get(str(item["type"]))
        except KeyError as e:
            raise AssignmentError(f"assignment {name!r}, problem {i}: {e.args[0]}") from None
        points = float(item.get("points", 1))
        if points <= 0:
            raise AssignmentError(f"assignment {name!r}, problem {i}: points must be positive")
        partial = str(item.get("partial", "proportional"))
        if partial not in PARTIAL:
            raise AssignmentError(f"assignment {name!r}, problem {i}: partial must be one of {', '.join(PARTIAL)}")
        credit = dict(item.get("credit", {}))
        if not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in credit.values()):
            raise AssignmentError(f"assignment {name!r}, problem {i}: every credit must be a number from 0 to 1")
        specs.append(ProblemSpec(f"p{i}", ptype, points, dict(item.get("options", {})), credit, partial))
    return Assignment(path.name, str(spec.get("title", path.name)), str(spec.get("intro", "")), specs)

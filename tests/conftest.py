"""Shared fixtures: a generated course on a small roster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BACKPROPLAB = [sys.executable, "-m", "backproplab.cli"]


def run_cli(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess."""
    proc = subprocess.run(BACKPROPLAB + [str(a) for a in args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"backproplab {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def write_roster(path: Path, students: list[str]) -> Path:
    path.write_text("student_id,name\n" + "".join(f"{s},Name {s}\n" for s in students))
    return path


def solved_course(root: Path, assignment: str, students: list[str], solved: list[str]):
    """Generate `assignment` for `students` in root/course through the CLI, and hand in the
    reference answers (`solve`) for the students in `solved`. Returns (course, layout)."""
    from backproplab.course.layout import Layout

    roster = write_roster(root / "roster.csv", students)
    course = root / "course"
    run_cli("generate", assignment, "--course", course, "--roster", roster, check=True)
    layout = Layout(course, assignment)
    for s in solved:
        run_cli("solve", assignment, "--course", course, "--student", s,
                "--out", layout.submission_dir(s) / layout.notebook_name, check=True)
    return course, layout


@pytest.fixture(scope="session")
def hw1_course(tmp_path_factory) -> Path:
    """hw1 generated for three students, each with a solved submission."""
    course = tmp_path_factory.mktemp("hw1course")
    roster = write_roster(course.parent / "hw1-roster.csv", ["alice", "bob", "carol"])
    run_cli("generate", "hw1-gradient-descent", "--course", course, "--roster", roster, check=True)
    return course


def read_key(layout, student: str) -> dict:
    """The student's answer key JSON, as `generate` wrote it."""
    import json

    return json.loads(layout.key_json(student).read_text())


def expected_score(key: dict, wrong: dict[tuple[str, str], str] | None = None) -> float:
    """The total a submission should earn, worked out from the student's key alone.

    `wrong` maps (problem key, answer name) to the misconception handed in there; every other
    answer is right. A problem's points are shared among its answers by their weights; a named
    misconception earns the share the assignment's credit (or the misconception's own) gives.
    """
    wrong = wrong or {}
    total = 0.0
    for p in key["problems"]:
        weights = {a["name"]: float(a["points"]) for a in p["answers"]}
        earned = 0.0
        for name, weight in weights.items():
            mistake = wrong.get((p["key"], name))
            if mistake is None:
                earned += weight
            else:
                m = next(m for m in p["misconceptions"] if m["answer"] == name and m["name"] == mistake)
                earned += weight * float(p.get("credit", {}).get(mistake, m.get("credit", 0.0)))
        total += float(p["points"]) * earned / sum(weights.values())
    return total


def key_params(variant):
    """`variant` with its params replaced by what its key stores (JSON strings, as a third party reads them).

    Key tests re-derive every answer from these alone: that is the key contract (docs/key-schema.md).
    """
    from backproplab.key import json_params

    variant.params = json.loads(json.dumps(json_params(variant.params)))
    return variant

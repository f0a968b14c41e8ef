"""End to end on a real course: `generate` the coding assignment, `solve` a
student's notebook, grade it (full marks), grade the untouched release (zero),
and show the released notebook holds no hidden test code, inputs or expected values."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from backproplab.assignment import load
from backproplab.cli import main as cli
from backproplab.course.layout import Layout
from backproplab.tasks.catalog import hidden_checks
from backproplab.grade.run import Grader
from backproplab.paths import data_dir

HW = "hw4-coding"


@pytest.mark.slow
def test_generate_solve_grade_and_nothing_hidden_released(tmp_path):
    course, roster = tmp_path / "course", tmp_path / "roster.csv"
    roster.write_text("student_id\nalice\nbob\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["generate", HW, "--course", str(course), "--roster", str(roster)]).exit_code == 0
    solved = tmp_path / "solved.ipynb"
    assert runner.invoke(cli, ["solve", HW, "--course", str(course), "--student", "alice", "--out", str(solved)]).exit_code == 0
    layout = Layout(course, HW)
    for student, notebook in (("alice", solved), ("bob", layout.released_notebook("bob"))):
        target = course / "submitted" / student / HW / layout.notebook_name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, target)
    grader = Grader(load(HW), layout)
    try:
        alice, bob = grader.grade("alice"), grader.grade("bob")
    finally:
        grader.close()
    assert alice.score == alice.max_score, [(p.key, c.message) for p in alice.problems for c in p.checks if c.score < 1]
    assert bob.score == 0

    released = layout.released_notebook("bob").read_text()
    assert "hidden case" not in released and "backproplab_harness" not in released and "Probe(" not in released
    key = json.loads(layout.key_json("bob").read_text())
    numbers = set(re.findall(r"-?\d+\.\d{6,}", released))
    for entry in key["problems"]:
        for check in hidden_checks(entry["code"]["task"], int(entry["seed"], 16)):
            for value in (check.call.args, check.expected):
                for x in np.ravel(np.concatenate([np.ravel(a) for a in _floats(value)] or [np.zeros(0)])):
                    assert repr(float(x)) not in numbers, check.name
    for name in ("harness.py", "losses.py", "network.py"):
        text = (data_dir("autograder") / name).read_text()
        assert not any(len(line.strip()) > 30 and line.strip() in released for line in text.splitlines()
                       if not line.strip().startswith(('"""', "#", "import", "from")))


def _floats(value) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value.astype(float)] if value.dtype.kind == "f" else []
    if isinstance(value, dict):
        return [a for v in value.values() for a in _floats(v)]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _floats(v)]
    return []

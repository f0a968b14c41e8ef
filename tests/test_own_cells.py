"""`nbgrader autograde` with the generated config is quiet for untouched notebooks, keeps each
student's own public tests, and still warns about (and restores) a locked cell that was changed.

Why stock nbgrader warns: its OverwriteCells compares each locked cell with the source notebook's
copy in the gradebook, whose checksum was taken before the hidden tests were cut out (nbgrader
issue #1961), and our coding problems' public tests are the student's own variant. The stock run
below shows one warning per test cell; RestoreOwnCells compares with the student's own release.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import solved_course

HW = "demo"
WARNING = re.compile(r"Attribute 'checksum' for cell (\w+) has changed!")


def autograde(course: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", HW, "--force", *args], cwd=course,
                          capture_output=True, text=True, env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def cells(path: Path, suffix: str = "_test") -> dict[str, str]:
    nb = json.loads(path.read_text())
    return {c["id"]: "".join(c["source"]) for c in nb["cells"] if c["id"].endswith(suffix)}


@pytest.mark.slow
def test_autograde_is_quiet_keeps_own_tests_and_warns_on_tampering(tmp_path):
    course, layout = solved_course(tmp_path, HW, ["alice", "bob"], solved=["alice", "bob"])
    own = {s: cells(layout.released_notebook(s)) for s in ("alice", "bob")}
    code_tests = [k for k in own["alice"] if own["alice"][k] != own["bob"][k]]
    assert code_tests, "the coding problems' public tests differ per student"

    # bob changes one locked test cell (a public test that always passes)
    tampered = code_tests[0]
    path = layout.submission_dir("bob") / layout.notebook_name
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["id"] == tampered:
            cell["source"] = "print('all tests passed')\n"
    path.write_text(json.dumps(nb))

    log = autograde(course)
    assert [(m.group(1)) for m in WARNING.finditer(log)] == [tampered]  # bob's one changed cell, nothing else
    for s in ("alice", "bob"):
        assert cells(layout.autograded_dir(s) / layout.notebook_name) == own[s], s  # own tests, tampering undone
    scores = {s: json.loads(layout.results_json(s).read_text())["score"] for s in ("alice", "bob")}
    assert scores["alice"] == scores["bob"] == json.loads(layout.key_json("alice").read_text())["points"]

    # Stock nbgrader (no plugin) warns for every test cell of every student, tampered or not.
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    stock = autograde(course, "--student", "alice")
    assert sorted(m.group(1) for m in WARNING.finditer(stock)) == sorted(own["alice"])


@pytest.mark.slow
def test_stock_in_kernel_grading_refuses_a_classmates_notebook(tmp_path):
    """Without the plugin (hidden tests in the kernel), a notebook released to another student
    scores 0 with the same clear reason, instead of being graded against the wrong key."""
    course, layout = solved_course(tmp_path, HW, ["alice", "bob"], solved=["alice"])
    layout.submission_dir("bob").mkdir(parents=True)
    (layout.submission_dir("bob") / layout.notebook_name).write_bytes(
        (layout.submission_dir("alice") / layout.notebook_name).read_bytes())
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    autograde(course)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        totals = {s: gb.find_submission(HW, s).score for s in ("alice", "bob")}
    assert totals == {"alice": json.loads(layout.key_json("alice").read_text())["points"], "bob": 0}
    graded = (layout.autograded_dir("bob") / layout.notebook_name).read_text()
    assert "Not graded: this is the notebook released to alice, not the one released to bob" in graded

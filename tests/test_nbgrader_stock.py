"""Stock `nbgrader autograde` (no backproplab plugin) on a coding assignment: the hidden test
cells grade in the kernel (grade.inkernel + grade.inprocess) and agree with `backproplab grade`,
problem by problem, for the reference solution and for a buggy submission."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from buggy.bugs import BUGS
from nbgrader.api import Gradebook

from backproplab.problems import coding

from conftest import run_cli, solved_course

HW = "hw4-coding"
# Bugs whose public tests still pass, so the test cell reaches the hidden tests (a failing public
# test is an error in the cell, which nbgrader scores 0 whatever the hidden tests say). Between
# them they cover partial credit, a forbidden import in the cell, warnings printed to stderr while
# grading (bce_naive overflows on large logits), and state kept across calls (network_accumulates).
BOB_BUGS = ("bce_naive", "uses_sympy", "network_accumulates", "minibatch_drop_last_ignored", "clip_always")


def _buggy_source(bug_id: str) -> tuple[str, str]:
    """(task, the reference cell of the task with the bug's edits applied)."""
    bug = next(b for b in BUGS if b.id == bug_id)
    source = coding.solution_code(bug.task)
    for old, new in bug.edits:
        assert source.count(old) == 1, (bug.id, old)
        source = source.replace(old, new)
    return bug.task, source


def _put_bugs(notebook: Path, key: dict) -> set[str]:
    """Replace the solution cells of `notebook` with the BOB_BUGS; the problem keys changed."""
    key_of_task = {p["code"]["task"]: p["key"] for p in key["problems"] if p.get("code")}
    cells = {}
    for bug_id in BOB_BUGS:
        task, source = _buggy_source(bug_id)
        cells[key_of_task[task]] = source
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in cells:
            cell.source = cells[gid]
    nbformat.write(nb, notebook)
    return set(cells)


@pytest.mark.slow
def test_stock_nbgrader_grades_coding_problems_like_backproplab(tmp_path):
    students = ["alice", "bob"]
    course, layout = solved_course(tmp_path, HW, students, solved=students)
    bob_key = json.loads(layout.key_json("bob").read_text())
    buggy = _put_bugs(layout.submission_dir("bob") / layout.notebook_name, bob_key)

    run_cli("grade", HW, "--course", course, check=True)
    ours = {s: {p["key"]: p["score"] for p in json.loads((layout.autograded_dir(s) / "results.json").read_text())["problems"]}
            for s in students}
    points = {p["key"]: float(p["points"]) for p in bob_key["problems"]}
    assert ours["alice"] == points  # the reference scores full marks
    assert all(ours["bob"][k] < points[k] for k in buggy)  # every bug costs points
    assert all(ours["bob"][k] == points[k] for k in points.keys() - buggy)

    # Stock nbgrader: a plain config, no plugin, so the hidden test cells run in the kernel.
    (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
    env_bin = str(Path(sys.executable).parent)
    for s in students:
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", HW, "--student", s, "--force"],
                              cwd=course, capture_output=True, text=True, env={"PATH": env_bin + ":/usr/bin:/bin"})
        assert proc.returncode == 0, proc.stderr[-2000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        stock = {s: {g.name.removesuffix("_test"): g.auto_score
                     for g in gb.find_submission_notebook(Path(layout.notebook_name).stem, HW, s).grades}
                 for s in students}
    for s in students:
        assert stock[s] == pytest.approx(ours[s]), s
    # The kernel printed the hidden tests' verdicts, and nothing reached stderr (which would score 0).
    nb = nbformat.read(layout.autograded_dir("bob") / layout.notebook_name, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert any("forbidden" in o.get("text", "") for o in outputs)

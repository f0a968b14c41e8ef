"""`grade` on hand problems: real gradebook, named mistakes, error rows, resume, copying flags,
and stock `nbgrader autograde` agreeing with it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from backproplab.course.layout import Layout

from conftest import run_cli, solved_course

HW = "hw1-gradient-descent"


def _set_answer(nb_path: Path, key: str, name: str, value) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == key:
            cell.source = "\n".join(f"{name} = {json.dumps(value)}" if ln.split("=")[0].strip() == name else ln
                                    for ln in cell.source.splitlines())
    nbformat.write(nb, nb_path)


@pytest.fixture
def course(tmp_path) -> Path:
    students = ["alice", "bob", "carol", "dave", "erin"]
    course, layout = solved_course(tmp_path, HW, students, solved=students)
    bob_key = json.loads(layout.key_json("bob").read_text())
    mis = next(m for m in bob_key["problems"][0]["misconceptions"] if m["name"] == "missing 1/N")
    _set_answer(layout.submission_dir("bob") / layout.notebook_name, "p1", mis["answer"], mis["float"])
    (layout.submission_dir("carol") / layout.notebook_name).write_bytes(b"\x00\x01 not a notebook")
    alice_key = json.loads(layout.key_json("alice").read_text())
    _set_answer(layout.submission_dir("dave") / layout.notebook_name, "p1", "loss",
                alice_key["problems"][0]["answers"][0]["float"])
    (course / "submitted" / "..evil").mkdir()
    return course


def _results(course: Path, s: str) -> dict:
    return json.loads((Layout(course, HW).autograded_dir(s) / "results.json").read_text())


def test_grade_scores_names_mistakes_and_records_in_gradebook(course):
    proc = run_cli("grade", HW, "--course", course, "--workers", "2")
    assert proc.returncode == 1, proc.stderr  # some submissions failed
    assert "carol" in proc.stdout and "not valid JSON" in proc.stdout
    assert "..evil" in proc.stdout
    alice, bob, carol = (_results(course, s) for s in ("alice", "bob", "carol"))
    assert alice["score"] == alice["max_score"] == 5
    assert bob["score"] == 3  # p1 (2 points) wrong, p2 right
    check = bob["problems"][0]["checks"][0]
    assert check["misconception"] == "missing 1/N" and "divide by the number of points" in check["message"]
    assert carol["status"] == "error"
    dave = _results(course, "dave")
    if dave["problems"][0]["score"] == 0:  # alice's loss may coincide with dave's own by chance
        assert any("alice" in f for f in dave["problems"][0]["flags"])
    db = sqlite3.connect(course / "gradebook.db")
    rows = db.execute(
        "select s.student_id, sum(g.auto_score) from grade g join submitted_notebook n on g.notebook_id = n.id "
        "join submitted_assignment s on n.assignment_id = s.id group by s.student_id").fetchall()
    scores = dict(rows)
    assert scores["alice"] == 5 and scores["bob"] == 3 and scores["carol"] == 0
    feedback = (Layout(course, HW).feedback_dir("bob") / "feedback.html").read_text()
    assert "divide by the number of points" in feedback
    key = json.loads(Layout(course, HW).key_json("bob").read_text())
    assert key["problems"][0]["answers"][0]["exact"] not in feedback  # never the right value


def test_rerun_resumes_without_duplicates(course):
    run_cli("grade", HW, "--course", course)
    first = _results(course, "alice")
    proc = run_cli("grade", HW, "--course", course)
    assert "graded 0 submission" in proc.stdout and "already graded" in proc.stdout
    (Layout(course, HW).autograded_dir("bob") / "results.json").unlink()
    proc = run_cli("grade", HW, "--course", course)
    assert "graded 1 submission" in proc.stdout
    assert _results(course, "alice") == first
    db = sqlite3.connect(course / "gradebook.db")
    assert db.execute("select count(*) from submitted_assignment").fetchone()[0] == 5


def test_killed_run_loses_and_duplicates_nothing(course):
    proc = subprocess.Popen([sys.executable, "-m", "backproplab.cli", "grade", HW, "--course", str(course), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import time

    time.sleep(2.5)
    proc.kill()
    proc.wait()
    run_cli("grade", HW, "--course", course)
    assert _results(course, "alice")["score"] == 5 and _results(course, "bob")["score"] == 3
    db = sqlite3.connect(course / "gradebook.db")
    assert db.execute("select count(*) from submitted_assignment").fetchone()[0] == 5


@pytest.mark.slow
def test_stock_nbgrader_autograde_agrees(course):
    """Real nbgrader, real kernel: through our plugin (the generated nbgrader_config.py), and
    without it (in-kernel hidden tests), honest submissions score as `backproplab grade` does."""
    run_cli("grade", HW, "--course", course)
    ours = {s: _results(course, s)["score"] for s in ("alice", "bob", "erin")}
    env_bin = str(Path(sys.executable).parent)
    for plugin in (True, False):
        if not plugin:
            (course / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n")
        for s in ours:
            proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", HW, "--student", s, "--force"],
                                  cwd=course, capture_output=True, text=True, env={"PATH": env_bin + ":/usr/bin:/bin"})
            assert proc.returncode == 0, proc.stderr[-2000:]
        db = sqlite3.connect(course / "gradebook.db")
        for s, score in ours.items():
            got = db.execute(
                "select sum(g.auto_score) from grade g join submitted_notebook n on g.notebook_id = n.id "
                "join submitted_assignment a on n.assignment_id = a.id where a.student_id = ?", (s,)).fetchone()[0]
            assert got == pytest.approx(score), (plugin, s)

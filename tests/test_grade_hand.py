"""`grade` on hand problems: real gradebook, named mistakes, error rows, resume, copying flags,
and stock `nbgrader autograde` agreeing with it."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from backproplab.assignment import load
from backproplab.course.layout import Layout

from conftest import expected_score, read_key, run_cli, solved_course

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
    for a in alice_key["problems"][1]["answers"]:  # dave hands in alice's whole answer to p2
        _set_answer(layout.submission_dir("dave") / layout.notebook_name, "p2", a["name"], a["float"])
    (course / "submitted" / "..evil").mkdir()
    return course


def _results(course: Path, s: str) -> dict:
    return json.loads((Layout(course, HW).autograded_dir(s) / "results.json").read_text())


def _expected(course: Path) -> tuple[float, float]:
    """alice's total (every answer right) and bob's (p1's loss is the "missing 1/N" mistake), from their keys."""
    layout = Layout(course, HW)
    return (expected_score(read_key(layout, "alice")),
            expected_score(read_key(layout, "bob"), {("p1", "loss"): "missing 1/N"}))


def test_grade_scores_names_mistakes_and_records_in_gradebook(course):
    proc = run_cli("grade", HW, "--course", course, "--workers", "2")
    assert proc.returncode == 1, proc.stderr  # some submissions failed
    assert "carol" in proc.stdout and "not valid JSON" in proc.stdout
    assert "..evil" in proc.stdout
    alice, bob, carol = (_results(course, s) for s in ("alice", "bob", "carol"))
    full, bobs = _expected(course)
    assert alice["score"] == pytest.approx(full) and alice["max_score"] == pytest.approx(full)
    assert full == pytest.approx(load(HW).points)
    assert bob["score"] == pytest.approx(bobs) and bobs < full  # p1's loss is a named mistake, the rest right
    check = bob["problems"][0]["checks"][0]
    assert check["misconception"] == "missing 1/N" and "divide by the number of points" in check["message"]
    assert carol["status"] == "error"
    dave = _results(course, "dave")
    if dave["problems"][1]["score"] == 0:  # alice's answers may coincide with dave's own by chance
        assert any("right for the variant of alice" in f for f in dave["problems"][1]["flags"])
    assert all(p["flags"] == [] for s in ("alice", "bob", "erin") for p in _results(course, s)["problems"])
    db = sqlite3.connect(course / "gradebook.db")
    rows = db.execute(
        "select s.student_id, sum(g.auto_score) from grade g join submitted_notebook n on g.notebook_id = n.id "
        "join submitted_assignment s on n.assignment_id = s.id group by s.student_id").fetchall()
    scores = dict(rows)
    assert scores["alice"] == pytest.approx(full) and scores["bob"] == pytest.approx(bobs) and scores["carol"] == 0
    feedback = (Layout(course, HW).feedback_dir("bob") / "feedback.html").read_text()
    assert "divide by the number of points" in feedback
    key = json.loads(Layout(course, HW).key_json("bob").read_text())
    right = key["problems"][0]["answers"][0]["exact"]
    said = " ".join(re.findall(r"<li[^>]*>(.*?)</li>", feedback))  # the messages, not titles or scores
    assert said and not re.search(rf"(?<![\w./]){re.escape(right)}(?![\w./])", said)  # never the right value


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
    full, bobs = _expected(course)
    assert _results(course, "alice")["score"] == pytest.approx(full)
    assert _results(course, "bob")["score"] == pytest.approx(bobs)
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


# ------------------------------------------------------------------ copying flags on a class

COUNTING = """title = "Counting updates, and a linear model"
[[problem]]
type = "updates_per_epoch"
points = 2
[[problem]]
type = "loss_of_linear_model"
points = 3
"""
SMALL = ("per_epoch", "last_batch", "full_batch_total")  # small integers, shared by many variants


@pytest.fixture(scope="module")
def copying_class(tmp_path_factory):
    """30 students hand in their right answers, except: ten each give one wrong small-integer count
    that is a classmate's right count (a slip that lands on a common number), and `copier` hands in
    `neighbour`'s whole answer to p2 (predictions and loss)."""
    from backproplab.course.solve import solve

    from conftest import write_roster

    root = tmp_path_factory.mktemp("copying")
    spec = root / "counting"
    spec.mkdir()
    (spec / "assignment.toml").write_text(COUNTING)
    students = [f"s{i:02d}" for i in range(28)] + ["copier", "neighbour"]
    course = root / "course"
    run_cli("generate", spec, "--course", course, "--roster", write_roster(root / "roster.csv", students), check=True)
    layout = Layout(course, "counting")
    keys = {s: json.loads(layout.key_json(s).read_text()) for s in students}
    for s in students:
        solve(str(spec), course, s, layout.submission_dir(s) / layout.notebook_name)

    def answer(s: str, problem: int, name: str) -> dict:
        return next(a for a in keys[s]["problems"][problem]["answers"] if a["name"] == name)

    slips = {}
    for i, s in enumerate(students[:10]):
        name = SMALL[i % len(SMALL)]
        own = answer(s, 0, name)
        mistakes = {m["float"] for m in keys[s]["problems"][0]["misconceptions"] if m["answer"] == name}
        # a classmate whose right count is small (the course secret, so the numbers, differ per run)
        other = next(o for o in students if o != s and answer(o, 0, name)["float"] != own["float"]
                     and answer(o, 0, name)["float"] not in mistakes and abs(answer(o, 0, name)["float"]) < 100)
        value = answer(other, 0, name)["float"]
        assert value == int(value) and abs(value) < 100  # really a small count
        _set_answer(layout.submission_dir(s) / layout.notebook_name, "p1", name, int(value))
        slips[s] = (name, other)
    for a in keys["neighbour"]["problems"][1]["answers"]:
        _set_answer(layout.submission_dir("copier") / layout.notebook_name, "p2", a["name"], a["float"])
    proc = run_cli("grade", spec, "--course", course, "--workers", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {s: json.loads((layout.autograded_dir(s) / "results.json").read_text()) for s in students}
    return keys, slips, results


def test_copied_full_answer_is_flagged_naming_the_classmate(copying_class):
    keys, _, results = copying_class
    p2 = results["copier"]["problems"][1]
    own = {a["name"]: a["float"] for a in keys["copier"]["problems"][1]["answers"]}
    theirs = {a["name"]: a["float"] for a in keys["neighbour"]["problems"][1]["answers"]}
    assert own != theirs
    assert p2["score"] < p2["points"]  # the copied answers are wrong for the copier
    assert len(p2["flags"]) == 1 and "right for the variant of neighbour" in p2["flags"][0], p2["flags"]


def test_small_integer_coincidences_are_not_flagged(copying_class):
    """The slips are wrong (they cost points) and each equals a classmate's right answer, which is
    what a naive flag looks for; but a count like 16 says nothing about whose work it is."""
    _, slips, results = copying_class
    for s, (name, other) in slips.items():
        check = next(c for c in results[s]["problems"][0]["checks"] if c["name"] == name)
        assert check["score"] < 1, (s, check)
    flagged = {s: p["flags"] for s, r in results.items() for p in r["problems"] if p["flags"]}
    assert set(flagged) == {"copier"}, flagged

"""Malformed submissions, all at once in one real course, through the real `backproplab grade`:
each gives exactly one clear error row, nothing is read through a link, the honest students
are graded in full, and a re-run reports the same without duplicating anything."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from backproplab.course.solve import solve
from backproplab.grade.submission import MAX_BYTES

from conftest import BACKPROPLAB, solved_course
from graded_course import set_answer

HW = "hw1-gradient-descent"
HONEST = ["honest1", "honest2"]
# Hands in its notebook and a scratch copy next to it: graded (as nbgrader does), with a note.
EXTRA = "twonb"
# Hands in a one-line answer that passes every exponent and magnitude limit but whose exact
# value grows without bound (hours of arithmetic): graded, that answer a one-line error.
BOMB = "parserbomb"
BOMB_ANSWER = "((((1 + 1/10**50)**64)**64)**64)**64"

# Roster students whose submission is broken -> what their one error row must say.
BROKEN = {
    "notjson": "not valid JSON",
    "jsonnotnb": "not a notebook",
    "jsonlist": "not a notebook",
    "nbv3": "nbformat 3",
    "nocells": "no cells",
    "binary": "binary file",
    "latin1": "not UTF-8",
    "hugeint": "not valid JSON",
    "deepjson": "not valid JSON",
    "huge": "too large",
    "empty": "empty file",
    "dirnb": "a folder, not a notebook file",
    "symkey": "symbolic link",
    "symsolved": "symbolic link",
    "symfolder": "symbolic link",
    "symhw": "symbolic link",
    "fifo": "not a regular file",
    "misnamed": f"no notebook {HW}.ipynb",
    "hwfile": "is a file, not a folder",
}
# These reach the workers (the file system looks fine); the rest are caught before.
READ_BY_WORKER = {"notjson", "jsonnotnb", "jsonlist", "nbv3", "nocells", "binary", "latin1", "hugeint", "deepjson"}
# Entries of submitted/ that are not roster students -> (label in the error row, what it must say).
ODD_NAMES = {
    "with space": "not a valid student id",
    "ünïcödé": "not a valid student id",
    "-rf": "not a valid student id",
    "..evil": "not a valid student id",
    "...": "not a valid student id",
    ".hidden": "not a valid student id",
    "new\nline": "not a valid student id",
    "honest1\n": "not a valid student id",
    "stranger": "not on the roster",
}


def _grade(course: Path) -> subprocess.CompletedProcess:
    # A timeout, so that a grader that blocks on the planted named pipe fails instead of hanging.
    return subprocess.run(BACKPROPLAB + ["grade", HW, "--course", str(course), "--workers", "2"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)


def _error_rows(stdout: str) -> list[tuple[str, str]]:
    rows = []
    for line in stdout.splitlines():
        m = re.match(r"^  error  (.*?): (.*)$", line)
        if m:
            rows.append((m.group(1), m.group(2)))
    return rows


def _label(name: str) -> str:
    """How the error row names an entry: plain for a valid id, escaped (repr) otherwise."""
    return name if name in BROKEN or name == "stranger" else repr(name)[:60]


def _key_points(layout, student: str) -> float:
    return sum(float(p["points"]) for p in json.loads(layout.key_json(student).read_text())["problems"])


def _plant(root: Path, course: Path, layout) -> None:
    nbname = layout.notebook_name

    def sub(student: str) -> Path:
        d = layout.submission_dir(student)
        d.mkdir(parents=True, exist_ok=True)
        return d / nbname

    def solved(student: str, out: Path) -> Path:
        return solve(HW, course, student, out)

    sub("notjson").write_text('{"cells": [ this is not json')
    sub("jsonnotnb").write_text(json.dumps({"name": "my homework", "answers": [1, 2]}))
    sub("jsonlist").write_text(json.dumps([1, 2, 3]))
    sub("nbv3").write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                        "worksheets": [{"cells": [{"cell_type": "code", "input": "loss = 1"}]}]}))
    sub("nocells").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    sub("binary").write_bytes(bytes(range(256)) * 64)
    sub("latin1").write_bytes('{"cells": "réponse"}'.encode("latin-1"))
    sub("hugeint").write_text('{"nbformat": ' + "9" * 5000 + "}")
    sub("deepjson").write_text("[" * 100_000 + "]" * 100_000)
    # A real, gradable notebook padded past the cap: refused for its size, not for its content.
    nb = json.loads(solved("huge", sub("huge")).read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "x" * (MAX_BYTES + 1000)})
    sub("huge").write_text(json.dumps(nb))
    sub("empty").write_bytes(b"")
    sub("dirnb").mkdir()
    (sub("dirnb") / "inside.txt").write_text("a folder named like the notebook")
    # Links: to the student's own answer key, to a full-marks notebook outside submitted/,
    # a whole folder that is another student's, an assignment folder that is another student's.
    sub("symkey").symlink_to(layout.key_json("symkey"))
    stash = solved("symsolved", root / "elsewhere" / nbname)
    sub("symsolved").symlink_to(stash)
    (course / "submitted" / "symfolder").symlink_to(course / "submitted" / "honest1", target_is_directory=True)
    (course / "submitted" / "symhw").mkdir()
    (course / "submitted" / "symhw" / HW).symlink_to(layout.submission_dir("honest2"), target_is_directory=True)
    os.mkfifo(sub("fifo"))  # a grader that opens it for reading without O_NONBLOCK blocks forever
    solved(EXTRA, sub(EXTRA))
    first = json.loads(layout.key_json(BOMB).read_text())["problems"][0]
    set_answer(solved(BOMB, sub(BOMB)), first["key"], first["answers"][0]["name"], BOMB_ANSWER)
    (sub(EXTRA).parent / f"{HW} (1).ipynb").write_text((layout.released_notebook(EXTRA)).read_text())
    solved("misnamed", layout.submission_dir("misnamed") / "HW1.ipynb")
    (course / "submitted" / "hwfile").mkdir()
    (course / "submitted" / "hwfile" / HW).write_text("a file where the assignment folder should be")
    for name in ODD_NAMES:
        d = course / "submitted" / name / HW
        d.mkdir(parents=True)
        (d / nbname).write_text((layout.submission_dir("honest1") / nbname).read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("malformed")
    students = HONEST + [EXTRA, BOMB] + sorted(BROKEN)
    course, layout = solved_course(root, HW, students, solved=HONEST)
    _plant(root, course, layout)
    first = _grade(course)
    first_log = json.loads(layout.run_log.read_text())
    second = _grade(course)
    return course, layout, first, first_log, second


def _gradebook_submissions(course: Path) -> dict[str, float]:
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute(
            "select sa.student_id, count(distinct sa.id), coalesce(sum(g.auto_score), 0) from submitted_assignment sa "
            "join assignment a on sa.assignment_id = a.id left join submitted_notebook n on n.assignment_id = sa.id "
            "left join grade g on g.notebook_id = n.id where a.name = ? group by sa.student_id", (HW,)).fetchall()
    assert all(count == 1 for _, count, _ in rows), rows  # never two submissions of one student
    return {student: score for student, _, score in rows}


def test_each_bad_submission_is_one_clear_error_row(runs):
    course, layout, first, log, _ = runs
    assert first.returncode == 1, first.stdout + first.stderr  # some failed, but the run finished
    assert "Traceback" not in first.stderr, first.stderr
    rows = _error_rows(first.stdout)
    expected = {**{n: why for n, why in BROKEN.items()}, **ODD_NAMES}
    for name, why in expected.items():
        mine = [r for r in rows if r[0] == _label(name)]
        assert len(mine) == 1, (name, mine, first.stdout)
        assert why in mine[0][1], (name, mine[0][1])
    assert len(rows) == len(expected), rows  # no other rows (the honest students have none)
    # The run log holds the same rows, one per bad entry; error rows are one line each.
    assert sorted(map(tuple, log["errors"])) == sorted(rows)
    assert all("\n" not in s and "\n" not in why for s, why in log["errors"])
    assert f"graded {len(HONEST) + 2} submission(s)" in first.stdout


def test_honest_students_get_full_scores_and_bad_ones_no_grades(runs):
    course, layout, first, _, _ = runs
    scores = _gradebook_submissions(course)
    for s in HONEST:
        full = _key_points(layout, s)
        result = json.loads((layout.autograded_dir(s) / "results.json").read_text())
        assert result["status"] == "graded" and result["score"] == result["max_score"] == full
        assert scores[s] == pytest.approx(full)
    extra = json.loads((layout.autograded_dir(EXTRA) / "results.json").read_text())
    assert extra["status"] == "graded" and extra["score"] == _key_points(layout, EXTRA)  # the named one
    assert any("not graded" in n and f"{HW} (1).ipynb" in n for n in extra["notes"]), extra["notes"]
    bomb = json.loads((layout.autograded_dir(BOMB) / "results.json").read_text())
    first = json.loads(layout.key_json(BOMB).read_text())["problems"][0]
    name = first["answers"][0]["name"]
    check = next(c for c in bomb["problems"][0]["checks"] if name in c["name"] or name in c["message"])
    assert bomb["status"] == "graded" and check["score"] == 0 and "too long" in check["message"], check
    assert bomb["score"] < _key_points(layout, BOMB)
    for s in BROKEN:
        results = layout.autograded_dir(s) / "results.json"
        if s in READ_BY_WORKER:
            # Read and refused by a worker: an error result (so a re-run resumes it), scoring nothing.
            data = json.loads(results.read_text())
            assert data["status"] == "error" and data["score"] == 0 and data["problems"] == [], data
            assert BROKEN[s] in data["error"]
            assert scores[s] == 0
        else:
            # Refused from the file system alone: never read, never graded, nothing recorded.
            assert not results.exists(), s
            assert s not in scores, s
    for name in ODD_NAMES:
        assert name not in scores and not (course / "autograded" / name).exists()
    # The linked full-marks notebook and the linked answer key were not graded as anyone's work.
    assert not (layout.autograded_dir("symsolved") / "results.json").exists()
    assert not (layout.feedback_dir("symkey")).exists()


def test_rerun_reports_the_same_without_duplicates(runs):
    course, layout, first, _, second = runs
    assert second.returncode == 1, second.stdout + second.stderr
    assert "Traceback" not in second.stderr
    assert sorted(_error_rows(second.stdout)) == sorted(_error_rows(first.stdout))
    assert "graded 0 submission(s)" in second.stdout
    assert f"{len(HONEST) + 2 + len(READ_BY_WORKER)} already graded" in second.stdout
    scores = _gradebook_submissions(course)  # asserts one submission per student
    assert set(scores) == set(HONEST) | {EXTRA, BOMB} | READ_BY_WORKER
    for s in HONEST:
        assert scores[s] == pytest.approx(_key_points(layout, s))

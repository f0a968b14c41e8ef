"""Every released notebook carries the fingerprint of its variant; a submission that is another
student's notebook, the generic one, or nobody's is one clear error row, and the report lists it."""

from __future__ import annotations

import json
import shutil

import pytest

from backproplab.assignment import load
from backproplab.course.layout import SOURCE_STUDENT, Layout, course_secret
from backproplab.course.fingerprint import fingerprint, notebook_owners
from backproplab.grade.run import grade_assignment
from backproplab.grade.submission import wrong_notebook
from backproplab.cell_meta import notebook_fingerprint
from backproplab.report.data import load_class

HW = "hw1-gradient-descent"
STUDENTS = ["alice", "bob", "carol"]


def _nb(path) -> dict:
    return json.loads(path.read_text())


def test_each_notebook_carries_its_own_fingerprint(hw1_course):
    layout = Layout(hw1_course, HW)
    secret, assignment = course_secret(hw1_course, create=False), load(HW)
    marks = {s: notebook_fingerprint(_nb(layout.released_notebook(s))) for s in STUDENTS}
    assert marks == {s: fingerprint(secret, assignment, s) for s in STUDENTS}
    assert len(set(marks.values())) == len(STUDENTS)
    generic = notebook_fingerprint(_nb(layout.generic_notebook))
    assert generic == notebook_fingerprint(_nb(layout.source_notebook)) == fingerprint(secret, assignment, SOURCE_STUDENT)
    assert generic not in marks.values()
    # keyed by the secret: another course's secret gives other fingerprints for the same students
    assert fingerprint(b"another course" * 2, assignment, "alice") != marks["alice"]


def test_the_generic_notebook_is_not_in_release(hw1_course):
    release = hw1_course / "release" / HW
    assert sorted(p.name for p in release.iterdir()) == STUDENTS  # only the students' own folders
    assert all(p.is_dir() for p in release.iterdir())


def test_wrong_notebook_says_whose_it_is(hw1_course):
    layout = Layout(hw1_course, HW)
    owners = notebook_owners(course_secret(hw1_course, create=False), load(HW), STUDENTS)
    alice, bob = _nb(layout.released_notebook("alice")), _nb(layout.released_notebook("bob"))
    assert wrong_notebook(alice, "alice", owners) is None
    other = wrong_notebook(bob, "alice", owners)
    assert (other.kind, other.released_to) == ("other", "bob")
    assert other.message.startswith("this is the notebook released to bob, not the one released to alice")
    generic = wrong_notebook(_nb(layout.generic_notebook), "alice", owners)
    assert (generic.kind, generic.released_to) == ("generic", SOURCE_STUDENT)
    assert generic.message.startswith("this is the unpersonalised notebook")
    forged = dict(alice, metadata={**alice["metadata"], "backproplab": {"fingerprint": "0" * 32}})
    assert wrong_notebook(forged, "alice", owners).kind == "unknown"
    stripped = dict(alice, metadata={k: v for k, v in alice["metadata"].items() if k != "backproplab"})
    assert wrong_notebook(stripped, "alice", owners).kind == "missing"
    assert wrong_notebook(dict(alice, metadata=["not", "a", "dict"]), "alice", owners).kind == "missing"


def test_a_swapped_or_generic_notebook_is_one_error_row_in_grade_and_report(hw1_course, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(hw1_course, course)
    layout = Layout(course, HW)
    from backproplab.course.solve import solve

    solve(HW, course, "alice", layout.submission_dir("alice") / layout.notebook_name)
    solve(HW, course, "alice", layout.submission_dir("bob") / layout.notebook_name)  # bob hands in alice's
    layout.submission_dir("carol").mkdir(parents=True)
    shutil.copy(layout.generic_notebook, layout.submission_dir("carol") / layout.notebook_name)
    summary = grade_assignment(HW, course, workers=1)
    errors = dict(summary.errors)
    assert set(errors) == {"bob", "carol"} and summary.graded == 1
    assert errors["bob"].startswith("this is the notebook released to alice, not the one released to bob")
    assert errors["carol"].startswith("this is the unpersonalised notebook")
    bob = json.loads(layout.results_json("bob").read_text())
    assert bob["status"] == "error" and bob["score"] == 0 and bob["problems"] == []
    assert bob["wrong_notebook"] == {"kind": "other", "released_to": "alice", "message": errors["bob"]}
    grades = load_class(HW, course)
    assert [s.student for s in grades.wrong_notebooks] == ["bob", "carol"]
    assert "this is the notebook released to alice" in layout.feedback_html("bob").read_text()
    from backproplab.report.build import render

    page = render(grades)
    assert "<td>bob</td><td>the notebook released to alice</td>" in page
    assert "<td>carol</td><td>the unpersonalised notebook</td>" in page


def test_solve_writes_the_students_fingerprint(hw1_course, tmp_path):
    from backproplab.course.solve import solve

    out = solve(HW, hw1_course, "carol", tmp_path / "solved.ipynb")
    assert notebook_fingerprint(_nb(out)) == notebook_fingerprint(_nb(Layout(hw1_course, HW).released_notebook("carol")))


@pytest.mark.parametrize("meta", [None, {}, {"backproplab": "x"}, {"backproplab": {"fingerprint": 7}}])
def test_a_malformed_fingerprint_reads_as_none(meta):
    assert notebook_fingerprint({"metadata": meta} if meta is not None else {}) is None


def test_own_cells_come_from_the_release_or_the_secret(hw1_course, tmp_path):
    """RestoreOwnCells' reference: the student's released cells, rendered again from the course
    secret when release/HW/<student>/ is gone, checksummed as nbgrader checksums."""
    import nbformat
    from nbgrader.utils import compute_checksum

    from backproplab.nbgrader_bridge.own_cells import own_cells

    course = tmp_path / "course"
    shutil.copytree(hw1_course, course)
    layout, assignment = Layout(course, HW), load(HW)
    released = own_cells(layout, assignment, "bob")
    nb = nbformat.read(layout.released_notebook("bob"), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid:
            assert released[gid].checksum == compute_checksum(cell) and released[gid].source == cell.source
    shutil.rmtree(layout.release_dir("bob"))
    assert own_cells(layout, assignment, "bob") == released
    assert own_cells(layout, assignment, "stranger") == {}

"""Grade exports: every number recomputed from results.json and from gradebook.db (plain SQL)."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from backproplab.cli import main
from backproplab.export.formats import ExportError, export
from graded_course import (COPIER, ERRORED, HW, MISSING_STUDENT, gradebook_scores, graded_course, results_json,
                           ungraded_copy)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(tmp_path_factory)


def _roster(course) -> list[str]:
    return course.layout.roster.read_text().split()


def _read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_per_question_csv(course):
    path = export(HW, course.root, "csv")
    assert path == course.root / "exports" / f"{HW}.csv"
    header, *rows = _read_csv(path)
    book = gradebook_scores(course.root)
    key = course.key("s01")
    keys = [p["key"] for p in key["problems"]]
    assert header == ["student_id", *keys, "total", "max", "status"]
    assert [r[0] for r in rows] == _roster(course)
    for row in rows:
        student, scores, (total, most, status) = row[0], row[1:-3], row[-3:]
        assert float(most) == sum(p["points"] for p in key["problems"])
        if student == MISSING_STUDENT:
            assert status == "missing" and scores == [""] * len(keys) and total == ""
            continue
        results = results_json(course.root, student)
        assert status == results["status"]
        assert [float(x) for x in scores] == pytest.approx([book[student][k] for k in keys], abs=1e-4)
        assert float(total) == pytest.approx(sum(book[student].values()), abs=1e-4)
        assert float(total) == pytest.approx(results["score"], abs=1e-4)
        assert float(total) == pytest.approx(sum(p["score"] for p in results["problems"]), abs=1e-4)
    assert dict((r[0], r[-1]) for r in rows)[ERRORED] == "error"


def test_canvas_csv(course, tmp_path):
    path = export(HW, course.root, "canvas", tmp_path / "canvas.csv")
    header, points, *rows = _read_csv(path)
    column = f"{course.key('s01')['title']} ({HW})"
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]
    assert points[0].strip() == "Points Possible" and points[1:5] == ["", "", "", ""]
    assert float(points[5]) == course.key("s01")["points"]
    book = gradebook_scores(course.root)
    by_id = {r[2]: r for r in rows}
    assert list(by_id) == _roster(course)
    for student, row in by_id.items():
        if student in (ERRORED, MISSING_STUDENT):
            assert row[5] == ""  # left for the instructor, never a silent zero
        else:
            assert float(row[5]) == pytest.approx(sum(book[student].values()), abs=1e-4)


def test_gradescope_results(course, tmp_path):
    out = export(HW, course.root, "gradescope", tmp_path / "gs")
    folders = sorted(p.name for p in out.iterdir())
    assert folders == sorted(s for s in _roster(course) if s != MISSING_STUDENT)
    book = gradebook_scores(course.root)
    for student in folders:
        data = json.loads((out / student / "results.json").read_text())
        results = results_json(course.root, student)
        assert data["score"] == pytest.approx(sum(book[student].values()), abs=1e-6)
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]), abs=1e-6)
        assert sum(t["max_score"] for t in data["tests"]) == results["max_score"]
        for t in data["tests"]:
            assert set(t) >= {"name", "score", "max_score", "output"} and 0 <= t["score"] <= t["max_score"]
        if student == ERRORED:
            assert data["score"] == 0 and "could not be graded" in data["output"]
            continue
        messages = [c["message"] for p in results["problems"] for c in p["checks"]]
        assert [line for t in data["tests"] for line in t["output"].splitlines()] == messages


def _secrets(key: dict) -> set[str]:
    """Text that must never reach a student: expected values and named wrong values, as
    exact strings and as floats, and the hidden parameters (longer than one digit)."""
    out: set[str] = set()

    def add(v):
        if isinstance(v, list):
            for x in v:
                add(x)
        elif isinstance(v, float):
            out.update({repr(v), f"{v:.4g}"})
        elif v is not None:
            out.add(str(v))

    for p in key["problems"]:
        for a in p["answers"] + p["misconceptions"]:
            add(a.get("exact"))
            add(a.get("float"))
    return {s for s in out if len(s.lstrip("-")) > 1 and s not in ("10", "-1")}


def test_gradescope_feedback_hides_values_and_copying_flags(course, tmp_path):
    out = export(HW, course.root, "gradescope", tmp_path / "gs")
    for folder in out.iterdir():
        text = " ".join(t["output"] for t in json.loads((folder / "results.json").read_text())["tests"])
        assert "copying" not in text
        leaked = [s for s in _secrets(course.key(folder.name)) if s in text]
        assert not leaked, (folder.name, leaked)
    assert "copying" in json.dumps(results_json(course.root, COPIER))  # the flag exists; it just stays out


def test_a_manual_score_in_the_gradebook_wins(course, tmp_path):
    """A TA's manual grade in formgrader is what gets exported (gradebook.db is the store)."""
    root = tmp_path / "course"
    shutil.copytree(course.root, root)
    with sqlite3.connect(root / "gradebook.db") as db:
        (grade_id,) = db.execute("""
            SELECT g.id FROM grade g JOIN base_cell bc ON g.cell_id = bc.id
            JOIN submitted_notebook sn ON g.notebook_id = sn.id
            JOIN submitted_assignment sa ON sn.assignment_id = sa.id
            JOIN student st ON sa.student_id = st.id
            WHERE st.id = 's04' AND bc.name = 'p2_test'""").fetchone()
        db.execute("UPDATE grade SET manual_score = 0.25, extra_credit = 0.5 WHERE id = ?", (grade_id,))
    header, *body = _read_csv(export(HW, root, "csv"))
    rows = {r[0]: r for r in body}
    p2, total = header.index("p2"), header.index("total")
    book = gradebook_scores(root)
    assert book["s04"]["p2"] == 0.75
    assert float(rows["s04"][p2]) == 0.75
    assert float(rows["s04"][total]) == pytest.approx(sum(book["s04"].values()))
    assert float(rows["s04"][total]) != pytest.approx(results_json(root, "s04")["score"])


def test_bad_input_is_one_line(course, tmp_path):
    with pytest.raises(ExportError, match="unknown assignment"):
        export("no-such-hw", course.root, "csv")
    with pytest.raises(ExportError, match="unknown export format"):
        export(HW, course.root, "xlsx")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="has not been generated"):
        export(HW, tmp_path / "empty", "canvas")
    ungraded = ungraded_copy(course.root, tmp_path / "ungraded")
    with pytest.raises(ExportError, match="nothing .* graded"):
        export(HW, ungraded, "gradescope")
    result = CliRunner().invoke(main, ["export", "no-such-hw", "--course", str(course.root)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output


def test_cli_export_default_paths(course):
    for fmt, name in [("csv", f"{HW}.csv"), ("canvas", f"{HW}-canvas.csv"), ("gradescope", f"{HW}-gradescope")]:
        result = CliRunner().invoke(main, ["export", HW, "--course", str(course.root), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert (course.root / "exports" / name).exists()

"""`generate` for a class: valid nbgrader notebooks, per-student numbers, reproducible bytes, clear errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

from backproplab.course.layout import Layout
from backproplab.cell_meta import checksum

from conftest import run_cli, write_roster

HW = "hw1-gradient-descent"


def _digest_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "gradebook" not in p.name and p.suffix != ".db"}


def test_generate_200_students_valid_distinct_and_reproducible(tmp_path):
    students = [f"s{i:03d}" for i in range(200)]
    roster = write_roster(tmp_path / "roster.csv", students)
    course = tmp_path / "course"
    run_cli("generate", HW, "--course", course, "--roster", roster, check=True)
    layout = Layout(course, HW)
    statements = set()
    shape = None
    for s in students:
        nb = nbformat.read(layout.released_notebook(s), as_version=4)
        # Every notebook has one layout: validating one against the schema (slow) and checking the
        # others have exactly its cells and metadata keys stands for validating each.
        layout_of = [(c.cell_type, c.id, sorted(c.metadata), sorted(c.metadata.get("nbgrader", {}))) for c in nb.cells]
        if shape is None:
            nbformat.validate(nb)
            shape = layout_of
        assert layout_of == shape
        ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
        assert len(ids) == len(set(ids)) and "p1" in ids and "p1_test" in ids
        for c in nb.cells:
            if c.metadata.get("nbgrader", {}).get("grade"):
                assert c.metadata.nbgrader["points"] > 0 and c.metadata.nbgrader["locked"]
        text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "BEGIN SOLUTION" not in text and "grade_problem" not in "".join(c.source for c in nb.cells)
        statements.add(text)
    assert len(statements) == 200  # every student has numbers of their own
    before = _digest_tree(course / "release") | _digest_tree(course / ".backproplab")
    run_cli("generate", HW, "--course", course, "--roster", roster, check=True)
    assert _digest_tree(course / "release") | _digest_tree(course / ".backproplab") == before


def test_checksum_matches_nbgrader(tmp_path, hw1_course):
    from nbgrader.utils import compute_checksum

    nb = nbformat.read(Layout(hw1_course, HW).released_notebook("alice"), as_version=4)
    for cell in nb.cells:
        if "nbgrader" in cell.metadata and "checksum" in cell.metadata.nbgrader:
            assert cell.metadata.nbgrader.checksum == compute_checksum(cell) == checksum(cell.source, cell.cell_type, cell.metadata.nbgrader)


def test_key_json_has_exact_and_float_answers(hw1_course):
    key = json.loads(Layout(hw1_course, HW).key_json("bob").read_text())
    assert key["schema"] == "backproplab-key/2" and key["student"] == "bob"
    for p in key["problems"]:
        for a in p["answers"]:
            assert a["exact"] is not None and a["float"] is not None


def test_keys_and_secret_are_outside_release(hw1_course):
    released = [p for p in (hw1_course / "release").rglob("*") if p.is_file()]
    assert released and not any("key" in p.name or "secret" in p.name for p in released)
    assert oct((hw1_course / ".backproplab" / "secret").stat().st_mode & 0o777) == "0o600"


def _one_line_error(proc) -> str:
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_bad_input_gives_one_line_errors(tmp_path):
    good = write_roster(tmp_path / "r.csv", ["a1"])
    assert "unknown assignment" in _one_line_error(run_cli("generate", "nope", "--course", tmp_path / "c", "--roster", good))
    (tmp_path / "nocol.csv").write_text("id,name\nx,y\n")
    assert "student_id" in _one_line_error(run_cli("generate", HW, "--course", tmp_path / "c", "--roster", tmp_path / "nocol.csv"))
    assert "duplicate" in _one_line_error(run_cli("generate", HW, "--course", tmp_path / "c",
                                                  "--roster", write_roster(tmp_path / "d.csv", ["a", "a"])))
    assert "invalid student id" in _one_line_error(run_cli("generate", HW, "--course", tmp_path / "c",
                                                           "--roster", write_roster(tmp_path / "p.csv", ["../x"])))


def test_course_dir_that_is_a_file_is_refused(tmp_path):
    good = write_roster(tmp_path / "r.csv", ["a1"])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "not writable" in _one_line_error(run_cli("generate", HW, "--course", blocker / "course", "--roster", good))


def test_list_json_describes_every_problem_type():
    proc = run_cli("list", "--json", check=True)
    items = json.loads(proc.stdout)
    assert items and all({"id", "chapter", "kind", "title"} <= set(i) for i in items)
    assert all(1 <= i["chapter"] <= 6 and i["kind"] in ("hand", "code") for i in items)

"""Grade exports: every number recomputed from results.json and from gradebook.db (plain SQL)."""

from __future__ import annotations

import csv
import html
import http.server
import io
import json
import re
import threading
import zipfile
import urllib.parse
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from backproplab.cli import main
from backproplab.errors import BackproplabError
from backproplab.export.formats import CanvasColumns, ExportError, export
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


CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def canvas_import(text: str, assignments: dict[str, str], users: list[dict]) -> tuple[dict, list[str], list[str]]:
    """What Canvas's gradebook importer does with `text` (its documented rules, applied here):
    the identity columns by header name; an assignment column fills the existing assignment
    whose numeric id is the header's last "(digits)", anything else becomes a NEW assignment;
    the row whose first cell is "Points Possible" is not a student; each other row is matched
    to a Canvas user by ID, then SIS User ID, then SIS Login ID, then name (sortable
    "Last, First"); an empty cell changes nothing.
    Returns ({assignment id: {canvas user id: score}}, new assignment columns, unmatched rows)."""
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:5] == CANVAS_IDENTITY
    filled: dict[str, dict[str, str]] = {}
    new, unmatched = [], []
    columns = {}
    for i, name in enumerate(header[5:], start=5):
        m = re.search(r"\((\d+)\)\s*$", name)
        if m and m.group(1) in assignments:
            columns[i] = m.group(1)
        else:
            new.append(name)
    for row in rows:
        if row[0].strip() == "Points Possible":
            continue
        name, canvas_id, sis_user, sis_login = row[:4]
        user = (next((u for u in users if canvas_id and u["id"] == canvas_id), None)
                or next((u for u in users if sis_user and u["sis_user_id"] == sis_user), None)
                or next((u for u in users if sis_login and u["login_id"] == sis_login), None)
                or next((u for u in users if name and u["sortable_name"] == name), None))
        if user is None:
            unmatched.append(row[0])
            continue
        for i, aid in columns.items():
            if row[i] != "":
                filled.setdefault(aid, {})[user["id"]] = row[i]
    return filled, new, unmatched


def canvas_roster(course, tmp_path, with_ids: bool = True):
    """A roster with Canvas identifiers for the course's students, and Canvas's users for them."""
    path = tmp_path / "canvas-roster.csv"
    users, lines = [], ["student_id,first_name,last_name,canvas_id,sis_id,login"]
    for n, s in enumerate(_roster(course)):
        user = {"id": str(9000 + n), "sis_user_id": f"SIS-{s}", "login_id": f"{s}@school.edu",
                "sortable_name": f"Lovelace{n}, Ada"}
        users.append(user)
        lines.append(f"{s},Ada,Lovelace{n},{user['id'] if with_ids else ''},{user['sis_user_id']},{user['login_id']}")
    path.write_text("\n".join(lines) + "\n")
    return path, users


def test_canvas_csv_imports_into_the_instructors_column(course, tmp_path):
    roster, users = canvas_roster(course, tmp_path)
    path = export(HW, course.root, "canvas", tmp_path / "canvas.csv", canvas_assignment_id="4321", roster=roster,
                  columns=CanvasColumns("canvas_id", "sis_id", "login", frozenset({"canvas_id", "sis_id", "login"})))
    text = path.read_text()
    header, points, *rows = _read_csv(path)
    assert header[5] == f"{course.key('s01')['title']} (4321)"
    assert points[0].strip() == "Points Possible" and float(points[5]) == course.key("s01")["points"]
    filled, new, unmatched = canvas_import(text, {"4321": "Homework 1", "77": "Quiz"}, users)
    assert new == [] and unmatched == [] and list(filled) == ["4321"]
    book = gradebook_scores(course.root)
    by_user = {u["id"]: s for u, s in zip(users, _roster(course))}
    scores = {by_user[uid]: float(v) for uid, v in filled["4321"].items()}
    assert MISSING_STUDENT not in scores  # no submission: the cell is empty, Canvas keeps what it has
    assert scores[ERRORED] == 0  # as in the gradebook, the csv and the Gradescope export
    for student, score in scores.items():
        assert score == pytest.approx(sum(book[student].values()), abs=1e-4)
    names = {r[2]: r[0] for r in rows}
    assert names["SIS-s01"] == "Lovelace0, Ada"  # the name, never the student id


def test_canvas_rows_match_by_sis_id_or_login_without_canvas_ids(course, tmp_path):
    roster, users = canvas_roster(course, tmp_path, with_ids=False)
    text = export(HW, course.root, "canvas", tmp_path / "c.csv", canvas_assignment_id="4321", roster=roster,
                  columns=CanvasColumns("canvas_id", "sis_id", "login", frozenset({"sis_id", "login"}))).read_text()
    filled, new, unmatched = canvas_import(text, {"4321": "HW"}, users)
    assert not new and not unmatched and len(filled["4321"]) == len(_roster(course)) - 1
    # Only the login: still the right users.
    text = export(HW, course.root, "canvas", tmp_path / "d.csv", canvas_assignment_id="4321", roster=roster,
                  columns=CanvasColumns("", "", "login", frozenset({"login"}))).read_text()
    again, _, unmatched = canvas_import(text, {"4321": "HW"}, users)
    assert again == filled and not unmatched


def test_canvas_without_an_assignment_id_or_with_a_bad_column_is_one_line(course, tmp_path):
    with pytest.raises(ExportError, match="--canvas-assignment-id"):
        export(HW, course.root, "canvas", tmp_path / "c.csv")
    with pytest.raises(ExportError, match="must be a number"):
        export(HW, course.root, "canvas", tmp_path / "c.csv", canvas_assignment_id="hw1")
    roster, _ = canvas_roster(course, tmp_path)
    with pytest.raises(BackproplabError, match="no column 'canvasid'.*columns: student_id"):
        export(HW, course.root, "canvas", tmp_path / "c.csv", canvas_assignment_id="1", roster=roster,
               columns=CanvasColumns(canvas_id="canvasid", explicit=frozenset({"canvasid"})))
    result = CliRunner().invoke(main, ["export", HW, "--course", str(course.root), "--format", "canvas",
                                       "--canvas-assignment-id", "12", "--roster", str(roster),
                                       "--canvas-id-column", "nope"])
    assert result.exit_code != 0 and "no column 'nope'" in result.output


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
        lines = [html.escape(c["line"], quote=False) for p in results["problems"] for c in p["checks"]]
        assert [t["output"] for t in data["tests"] if t["max_score"] > 0] == lines
        assert all(t["visibility"] == "after_due_date" for t in data["tests"] if t["max_score"] > 0)
        assert data["output_format"] == "md" and data["execution_time"] >= 0


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
    data = json.loads((export(HW, root, "gradescope") / "s04" / "results.json").read_text())
    assert data["score"] == pytest.approx(sum(book["s04"].values()))
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    (adjusted,) = [t for t in data["tests"] if "adjusted by the instructor" in t["name"]]
    assert adjusted["name"].startswith("Problem 2:") and adjusted["max_score"] == 0


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
        extra = ["--canvas-assignment-id", "12"] if fmt == "canvas" else []
        result = CliRunner().invoke(main, ["export", HW, "--course", str(course.root), "--format", fmt, *extra])
        assert result.exit_code == 0, result.output
        assert (course.root / "exports" / name).exists()


class CanvasStandIn(http.server.BaseHTTPRequestHandler):
    """A local stand-in for the three Canvas API endpoints `--upload` calls (no real Canvas is
    reachable from the tests): the course, the assignment, the bulk grade update and its progress."""

    token = "secret-token"
    posted: list[dict[str, list[str]]] = []

    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self._reply(401, {"errors": [{"message": "Invalid access token."}]})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path.startswith("/api/v1/courses/56/assignments/4321"):
            self._reply(200, {"id": 4321, "course_id": 56, "name": "Homework 1"})
        elif self.path.startswith("/api/v1/courses/56"):
            self._reply(200, {"id": 56, "name": "Intro ML"})
        elif self.path.startswith("/api/v1/progress/1"):
            self._reply(200, {"id": 1, "workflow_state": "completed"})
        else:
            self._reply(404, {"errors": [{"message": "The specified resource does not exist."}]})

    def do_POST(self) -> None:
        if not self._authorised():
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.path == "/api/v1/courses/56/assignments/4321/submissions/update_grades":
            type(self).posted.append(urllib.parse.parse_qs(body))
            self._reply(200, {"id": 1, "workflow_state": "queued", "url": "/api/v1/progress/1"})
        else:
            self._reply(404, {"errors": [{"message": "The specified resource does not exist."}]})


@pytest.fixture()
def canvas_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CanvasStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    CanvasStandIn.posted = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly")  # the stand-in is plain HTTP
def test_canvas_upload_posts_the_csv_scores(course, tmp_path, canvas_server, monkeypatch):
    pytest.importorskip("canvasapi")
    roster, users = canvas_roster(course, tmp_path)
    monkeypatch.setenv("CANVAS_API_TOKEN", CanvasStandIn.token)
    result = CliRunner().invoke(main, ["export", HW, "--course", str(course.root), "--format", "canvas",
                                       "--out", str(tmp_path / "c.csv"), "--canvas-assignment-id", "4321",
                                       "--roster", str(roster), "--canvas-id-column", "canvas_id", "--upload",
                                       "--canvas-url", canvas_server, "--canvas-course-id", "56"])
    assert result.exit_code == 0, result.output
    assert "posted 7 grade(s) to Canvas assignment 4321 (completed)" in result.output
    (form,) = CanvasStandIn.posted
    posted = {k[len("grade_data["):].split("]")[0]: v[0] for k, v in form.items() if k.endswith("[posted_grade]")}
    filled, _, _ = canvas_import((tmp_path / "c.csv").read_text(), {"4321": "HW"}, users)
    assert posted == filled["4321"]  # the API gets exactly what the CSV import would fill


@pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly")  # the stand-in is plain HTTP
def test_canvas_upload_failures_are_one_line(course, tmp_path, canvas_server, monkeypatch):
    pytest.importorskip("canvasapi")
    roster, _ = canvas_roster(course, tmp_path)
    args = ["export", HW, "--course", str(course.root), "--format", "canvas", "--out", str(tmp_path / "c.csv"),
            "--canvas-assignment-id", "4321", "--roster", str(roster), "--canvas-id-column", "canvas_id",
            "--upload", "--canvas-url", canvas_server, "--canvas-course-id", "56"]
    monkeypatch.delenv("CANVAS_API_TOKEN", raising=False)
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and "CANVAS_API_TOKEN" in result.output
    monkeypatch.setenv("CANVAS_API_TOKEN", "wrong")
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and "Canvas refused the upload" in result.output
    assert len(result.output.strip().splitlines()) == 2  # "wrote ..." and the one error line
    monkeypatch.setenv("CANVAS_API_TOKEN", CanvasStandIn.token)
    result = CliRunner().invoke(main, args[:-2] + ["--canvas-course-id", "57"])
    assert result.exit_code != 0 and "Canvas refused the upload" in result.output
    assert CanvasStandIn.posted == []


def test_gradescope_bundle_of_a_hand_assignment_scores_as_grade(course, tmp_path):
    """The bundle's runner on a hand-only assignment (no sandbox needed): the submitter is found by
    email, graded against their own key, and scores what `backproplab grade` gave."""
    from backproplab.export.gradescope_bundle import PRIVATE, build_bundle, unpack
    from backproplab.export.gradescope_run import run

    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,email\n" + "".join(f"{s},{s}@School.edu\n" for s in _roster(course)))
    summary = build_bundle(HW, course.root, tmp_path / "autograder.zip", roster)
    assert summary.students == len(_roster(course)) and not summary.unmatched
    for student in ("s01", "s04", COPIER, ERRORED):
        root = tmp_path / student
        unpack(summary.path, root / "source")
        (root / "submission").mkdir()
        for f in course.layout.submission_dir(student).iterdir():
            shutil.copy(f, root / "submission" / f.name)
        (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": f"{student}@school.EDU"}]}))
        data = run(root)
        assert json.loads((root / "results" / "results.json").read_text()) == data
        assert not (root / "source" / PRIVATE).exists()
        stored = results_json(course.root, student)
        if student == ERRORED:  # not a notebook: grade's error row is an error here too
            assert data["score"] == 0 and "could not be graded" in data["output"]
            continue
        assert data["score"] == pytest.approx(stored["score"], abs=1e-6)
        assert data["extra_data"]["isolation"].startswith("none needed")
        assert "copying" not in json.dumps(data["tests"])


def test_gradescope_bundle_bad_input_is_one_line(course, tmp_path):
    from backproplab.export.gradescope_bundle import build_bundle

    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,email\n" + "".join(f"{s},same@school.edu\n" for s in _roster(course)))
    with pytest.raises(BackproplabError, match="have the same email"):
        build_bundle(HW, course.root, tmp_path / "a.zip", roster)
    with pytest.raises(BackproplabError, match="no column 'sid'"):
        build_bundle(HW, course.root, tmp_path / "a.zip", roster, match="sid", roster_column="sid")
    fake = tmp_path / "backproplab-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("backproplab/_data/autograder/harness.py", "")
    roster.write_text("student_id,email\n" + "".join(f"{s},{s}@school.edu\n" for s in _roster(course)))
    with pytest.raises(BackproplabError, match="student build"):
        build_bundle(HW, course.root, tmp_path / "a.zip", roster, wheel=fake)
    assert not (tmp_path / "a.zip").exists()


def test_upload_options_are_checked_before_anything_is_written(course, tmp_path):
    base = ["export", HW, "--course", str(course.root), "--out", str(tmp_path / "x.csv"), "--upload"]
    result = CliRunner().invoke(main, [*base, "--format", "csv"])
    assert result.exit_code != 0 and "--upload is for --format canvas" in result.output
    result = CliRunner().invoke(main, [*base, "--format", "canvas", "--canvas-assignment-id", "4"])
    assert result.exit_code != 0 and "--canvas-course-id" in result.output
    assert not (tmp_path / "x.csv").exists()

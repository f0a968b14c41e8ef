"""Notebook-level attacks on a real generated course (the demo assignment: four hand problems
and two numpy tasks), through the real `backproplab grade` and, for representative ones, stock
`nbgrader autograde` with our plugin.

Each attacking student hands in their own solved notebook (or their released one), tampered
with. The expected score of every problem is derived from the student's key: the points of a
problem whose honest content is right, 0 for the problem the attack is about. No attack may
score more, any attack that leaves a trace is reported in the notes, and the honest students'
grades do not move.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from backproplab.course.layout import Layout
from backproplab.course.solve import solve

from conftest import run_cli, solved_course

HW = "demo"
HONEST = ["honest1", "honest2", "honest3"]
WRONG = 12345.678  # a value no key or misconception of the demo uses


# ---------------------------------------------------------------- notebook editing


def _nb(path: Path) -> dict:
    return json.loads(path.read_text())


def _gid(cell: dict) -> str | None:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg.get("grade_id") if isinstance(nbg, dict) else None


def _cell(nb: dict, gid: str) -> dict:
    return next(c for c in nb["cells"] if _gid(c) == gid)


def _wrong(key: dict, problem: str) -> str:
    """Answer-cell source giving every answer of a hand problem a wrong value."""
    entry = next(p for p in key["problems"] if p["key"] == problem)
    return "".join(f"{a['name']} = {WRONG}\n" for a in entry["answers"])


def _hook(marker: Path, what: str, code: str, answers: str) -> str:
    """A hand answer cell that, if it were ever run, would leave `marker` and install `code`."""
    return (f"import pathlib\npathlib.Path({str(marker)!r}).write_text({what!r})\n"
            f"{code}\n{answers}")


HOOKS = {
    "p1": ("input transformer", "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"),
    "p2": ("AST transformer",
           "import ast\n"
           "class Neuter(ast.NodeTransformer):\n"
           "    def visit_Module(self, node):\n"
           "        return ast.Module(body=[ast.Pass()], type_ignores=[])\n"
           "get_ipython().ast_transformers.append(Neuter())"),
    "p3": ("showtraceback", "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                            "ip._showtraceback = lambda *a, **k: None"),
    "p4": ("numpy", "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
                    "np.testing.assert_allclose = lambda *a, **k: None"),
}


def attack_points(nb, key, released, marks):
    """Points raised in every test cell's metadata (checksum left alone); p2 answered wrong."""
    for c in nb["cells"]:
        if (_gid(c) or "").endswith("_test"):
            c["metadata"]["nbgrader"]["points"] = 1000.0
    _cell(nb, "p2")["source"] = _wrong(key, "p2")
    return {"p2"}, ["locked cell 'p1_test' was changed"]


def attack_answer_meta(nb, key, released, marks):
    """An answer cell dressed up as a graded, locked cell worth 1000 points; its answers wrong."""
    cell = _cell(nb, "p1")
    cell["metadata"]["nbgrader"].update(grade=True, locked=True, points=1000.0)
    cell["source"] = _wrong(key, "p1")
    return {"p1"}, []


def attack_swap(nb, key, released, marks):
    """grade_id swapped between the answer cells p1 and p2, and between the test cells p3_test and p4_test."""
    a, b = _cell(nb, "p1"), _cell(nb, "p2")
    a["metadata"]["nbgrader"]["grade_id"], b["metadata"]["nbgrader"]["grade_id"] = "p2", "p1"
    a, b = _cell(nb, "p3_test"), _cell(nb, "p4_test")
    a["metadata"]["nbgrader"]["grade_id"], b["metadata"]["nbgrader"]["grade_id"] = "p4_test", "p3_test"
    return {"p1", "p2"}, ["out of order", "locked cell 'p3_test' was changed"]


def attack_cell_type(nb, key, released, marks):
    """Answer cells turned into markdown (p1) and raw (p3, and the code task p5): their text is still
    what is graded, as nbgrader does after restoring the type, so the honest content scores in full."""
    for gid, kind in (("p1", "markdown"), ("p3", "raw"), ("p5", "raw")):
        c = _cell(nb, gid)
        c["cell_type"] = kind
        c.pop("outputs", None)
        c.pop("execution_count", None)
    return set(), ["cell p1 was changed to 'markdown'", "cell p5 was changed to 'raw'"]


def attack_deleted(nb, key, released, marks):
    """The answer cells of a hand problem (p1) and a code task (p5) deleted."""
    nb["cells"] = [c for c in nb["cells"] if _gid(c) not in ("p1", "p5")]
    return {"p1", "p5"}, ["cell p1 is missing", "cell p5 is missing"]


def attack_duplicate(nb, key, released, marks):
    """Answer cells duplicated with a different answer: the right answer first and a wrong one
    after it (p1, and the code task p6 with its unanswered template), and the other way round
    (p2). Only the last copy counts, as in nbgrader: hedging earns nothing."""
    out = []
    for c in nb["cells"]:
        out.append(c)
        if _gid(c) == "p1":
            out.append({**copy.deepcopy(c), "source": _wrong(key, "p1")})
        if _gid(c) == "p6":
            out.append({**copy.deepcopy(c), "source": _cell(released, "p6")["source"]})
        if _gid(c) == "p2":
            out.insert(len(out) - 1, {**copy.deepcopy(c), "source": _wrong(key, "p2")})
    nb["cells"] = out
    return {"p1", "p6"}, ["cell p1 appears 2 times", "cell p2 appears 2 times", "cell p6 appears 2 times"]


def attack_checksum(nb, key, released, marks):
    """Every checksum edited (one removed), p2 answered wrong."""
    for c in nb["cells"]:
        if _gid(c):
            c["metadata"]["nbgrader"]["checksum"] = "0" * 32
    del _cell(nb, "p3_test")["metadata"]["nbgrader"]["checksum"]
    _cell(nb, "p2")["source"] = _wrong(key, "p2")
    return {"p2"}, ["locked cell 'p1_test' was changed", "locked cell 'p3_test' was changed"]


def attack_outputs(nb, key, released, marks):
    """The unanswered released notebook with fake outputs of full marks planted in every cell."""
    nb.clear()
    nb.update(copy.deepcopy(released))
    for c in nb["cells"]:
        gid = _gid(c) or ""
        if c["cell_type"] == "code":
            points = next((p["points"] for p in key["problems"] if gid == f"{p['key']}_test"), 1.0)
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "All tests passed.\n"},
                            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                             "data": {"text/plain": repr(float(points))}}]
            c["execution_count"] = 1
    return {p["key"] for p in key["problems"]}, []


def attack_no_metadata(nb, key, released, marks):
    """nbgrader metadata removed from the answer cell p1 and from every test cell."""
    for c in nb["cells"]:
        gid = _gid(c) or ""
        if gid == "p1" or gid.endswith("_test"):
            del c["metadata"]["nbgrader"]
    return {"p1"}, ["cell p1 is missing"]


def attack_garbage_metadata(nb, key, released, marks):
    """Metadata of the wrong types (null, a list, a number as grade id) and a cell that is a string."""
    _cell(nb, "p1")["metadata"] = None
    _cell(nb, "p2")["metadata"]["nbgrader"] = ["p2"]
    _cell(nb, "p3")["metadata"]["nbgrader"]["grade_id"] = 3
    nb["cells"].insert(3, "p4")
    return {"p1", "p2", "p3"}, ["cell p1 is missing", "cell p3 is missing"]


def attack_surrogate(nb, key, released, marks):
    """Student strings that no file can hold as they are: a code cell whose error message is a
    lone surrogate with terminal escapes (p6), a hand answer that is one (p1). The run must still
    write this student's results.json and feedback page, and every other student's."""
    _cell(nb, "p6")["source"] = ("def clip_by_global_norm(grads, max_norm):\n"
                                 "    raise ValueError('\\ud800\\x1b[2J graded 100/100 \\udfff')\n")
    entry = next(p for p in key["problems"] if p["key"] == "p1")
    _cell(nb, "p1")["source"] = "".join(f"{a['name']} = '\\ud800\\x1b[31m'\n" for a in entry["answers"])
    return {"p1", "p6"}, []


def attack_hooks(nb, key, released, marks):
    """Hand answer cells that install an IPython input transformer (p1), an AST transformer (p2),
    replace showtraceback (p3) and monkeypatch numpy (p4), with no or wrong answers. In-kernel
    grading would run them; ours reads them with ast and never runs them."""
    for gid, (what, code) in HOOKS.items():
        answers = "loss = ...\n" if gid == "p1" else _wrong(key, gid)
        _cell(nb, gid)["source"] = _hook(marks / what.replace(" ", "_"), what, code, answers)
    return set(HOOKS), ["cell p1 touches the notebook's machinery", "cell p4 touches the notebook's machinery"]


ATTACKS = {f.__name__.removeprefix("attack_"): f for f in (
    attack_points, attack_answer_meta, attack_swap, attack_cell_type, attack_deleted, attack_duplicate,
    attack_checksum, attack_outputs, attack_no_metadata, attack_garbage_metadata, attack_surrogate, attack_hooks)}
# Representative attacks also run through stock `nbgrader autograde` with our plugin.
STOCK = ["points", "swap", "cell_type", "deleted", "duplicate", "outputs", "hooks"]


# ---------------------------------------------------------------- the course


def _expected(layout: Layout, student: str, zero: set[str]) -> dict[str, float]:
    key = json.loads(layout.key_json(student).read_text())
    return {p["key"]: 0.0 if p["key"] in zero else float(p["points"]) for p in key["problems"]}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """The course with every attack handed in, a pristine copy (for nbgrader), and the expected scores."""
    root = tmp_path_factory.mktemp("attacks")
    students = HONEST + [f"x_{name}" for name in ATTACKS]
    course, layout = solved_course(root, HW, students, solved=HONEST)
    for s in students[len(HONEST):]:  # in-process: the CLI's start-up, paid once per student, adds up
        solve(HW, course, s, layout.submission_dir(s) / layout.notebook_name)
    marks = root / "ran"
    marks.mkdir()
    expected, notes = {}, {}
    for s in HONEST:
        expected[s], notes[s] = _expected(layout, s, set()), []
    for name, attack in ATTACKS.items():
        s = f"x_{name}"
        path = layout.submission_dir(s) / layout.notebook_name
        nb = _nb(path)
        key = json.loads(layout.key_json(s).read_text())
        zero, notes[s] = attack(nb, key, _nb(layout.released_notebook(s)), marks)
        path.write_text(json.dumps(nb))
        expected[s] = _expected(layout, s, zero)
    pristine = root / "pristine"
    shutil.copytree(course, pristine, symlinks=True)
    proc = run_cli("grade", HW, "--course", course, "--workers", "2")
    return course, layout, pristine, expected, notes, marks, proc


def _results(layout: Layout, student: str) -> dict:
    return json.loads((layout.autograded_dir(student) / "results.json").read_text())


def test_grade_runs_every_attack_without_errors(attacked):
    course, layout, _, expected, _, _, proc = attacked
    assert proc.returncode == 0, proc.stdout + proc.stderr  # tampering is graded, not an error row
    assert f"graded {len(expected)} submission(s)" in proc.stdout


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_scores_no_more_than_its_honest_content(attacked, name):
    course, layout, _, expected, notes, marks, _ = attacked
    s = f"x_{name}"
    result = _results(layout, s)
    assert result["status"] == "graded", result
    got = {p["key"]: p["score"] for p in result["problems"]}
    assert got == pytest.approx(expected[s]), (name, got, expected[s])
    key = json.loads(layout.key_json(s).read_text())
    assert result["max_score"] == pytest.approx(sum(p["points"] for p in key["problems"]))  # not 1000s
    for note in notes[s]:
        assert any(note in n for n in result["notes"]), (name, note, result["notes"])
    assert not any(marks.iterdir()), list(marks.iterdir())  # no answer cell was ever run


def test_student_strings_reach_every_file_safely(attacked):
    """The surrogate attack's results.json, feedback page and gradebook comments are written,
    readable as UTF-8, and hold no control character from the student."""
    course, layout, _, _, _, _, _ = attacked
    s = "x_surrogate"
    text = layout.results_json(s).read_text(encoding="utf-8")
    page = layout.feedback_html(s).read_text(encoding="utf-8")
    assert "\\ud800" not in text and "\x1b" not in page and "\ufffd" in page
    problems = {p["key"]: p for p in json.loads(text)["problems"]}
    assert any("ValueError" in c["message"] for c in problems["p6"]["checks"])
    with sqlite3.connect(course / "gradebook.db") as db:
        comments = [c for (c,) in db.execute("select auto_comment from comment where auto_comment is not null")]
    assert comments and all(c.encode("utf-8") and "\x1b" not in c for c in comments)


def test_honest_students_are_untouched_and_get_no_notes(attacked):
    course, layout, _, expected, _, _, _ = attacked
    for s in HONEST:
        result = _results(layout, s)
        assert {p["key"]: p["score"] for p in result["problems"]} == pytest.approx(expected[s])
        assert result["notes"] == [] and all(p["flags"] == [] for p in result["problems"])


def _autograde(course: Path, student: str) -> subprocess.CompletedProcess:
    env_bin = str(Path(sys.executable).parent)
    return subprocess.run([sys.executable, "-m", "nbgrader", "autograde", HW, "--student", student, "--force"],
                          cwd=course, capture_output=True, text=True, env={"PATH": env_bin + ":/usr/bin:/bin"},
                          timeout=600)


def _gradebook(course: Path, student: str) -> dict[str, float | None]:
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute(
            "select bc.name, g.auto_score from grade g join base_cell bc on g.cell_id = bc.id "
            "join submitted_notebook n on g.notebook_id = n.id join submitted_assignment a on n.assignment_id = a.id "
            "where a.student_id = ?", (student,)).fetchall()
    return {name.removesuffix("_test"): score for name, score in rows}


@pytest.mark.slow
def test_stock_nbgrader_with_plugin_agrees(attacked):
    """Stock `nbgrader autograde` (the course's generated nbgrader_config.py, so our plugin) on
    the untouched copy: each representative attack scores what `backproplab grade` gave it, and
    nothing in an answer cell ran. Then, as a control, stock in-kernel grading without the
    plugin does run the hooks (the attack is real) and is fooled by them."""
    _, layout, pristine, expected, _, marks, _ = attacked
    for s in [HONEST[0]] + [f"x_{name}" for name in STOCK]:
        proc = _autograde(pristine, s)
        assert proc.returncode == 0, (s, proc.stderr[-3000:])
        got = _gradebook(pristine, s)
        assert got == pytest.approx(expected[s]), (s, got, expected[s])
    assert not any(marks.iterdir()), list(marks.iterdir())
    # Control: without the plugin nbgrader runs the answer cells in the kernel with the hidden tests.
    (pristine / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(pristine)!r}\n")
    proc = _autograde(pristine, "x_hooks")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (marks / "input_transformer").exists()
    fooled = _gradebook(pristine, "x_hooks")
    assert sum(v or 0 for v in fooled.values()) > sum(expected["x_hooks"].values())


SCRIPT = "<script>window.backproplab_pwned = 1</script>"
ONERROR = '<img src="x" onerror="window.backproplab_pwned = 2">'


@pytest.mark.slow
def test_nbgrader_route_refuses_links_and_sanitises_html(attacked, tmp_path):
    """Stock `nbgrader autograde` + `generate_feedback` with our plugin: a submitted notebook that
    is a link to a classmate's scores 0, files linked to the course secret and to an answer key
    are not copied into autograded/ or feedback/, and a student's <script> and onerror HTML in a
    markdown cell do not survive into the feedback page."""
    from backproplab.course.generate import NBGRADER_CONFIG

    _, layout, pristine, _, _, _, _ = attacked
    course = tmp_path / "course"
    shutil.copytree(pristine, course, symlinks=True)
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG)  # the plugin, as generate writes it
    here = Layout(course, HW)
    linker, writer = "x_no_metadata", "x_checksum"
    notebook = here.submission_dir(linker) / here.notebook_name
    notebook.unlink()
    notebook.symlink_to(here.submission_dir(HONEST[1]) / here.notebook_name)
    secret = (course / ".backproplab" / "secret").read_text().strip()
    (here.submission_dir(linker) / "notes.txt").symlink_to(course / ".backproplab" / "secret")
    (here.submission_dir(linker) / "key.json").symlink_to(here.key_json(HONEST[1]))
    nb = _nb(here.submission_dir(writer) / here.notebook_name)
    nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": f"My notes {SCRIPT} {ONERROR}"})
    (here.submission_dir(writer) / here.notebook_name).write_text(json.dumps(nb))
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    for s in (linker, writer):
        for step in ("autograde", "generate_feedback"):
            proc = subprocess.run([sys.executable, "-m", "nbgrader", step, HW, "--student", s, "--force"],
                                  cwd=course, capture_output=True, text=True, env=env, timeout=600)
            assert proc.returncode == 0, (s, step, proc.stderr[-3000:])
    assert sum(v or 0 for v in _gradebook(course, linker).values()) == 0  # not the classmate's 100%
    for top in ("autograded", "feedback"):
        for path in (course / top / linker).rglob("*"):
            if path.is_file():
                assert secret not in path.read_text(errors="replace"), path
                assert path.name not in ("notes.txt", "key.json"), path
    page = next((course / "feedback" / writer / HW).glob("*.html")).read_text()
    assert "My notes" in page
    # escaped into text at most: no script element of the student's, no tag with an onerror handler
    assert not re.search(r"<script[^>]*>\s*window\.backproplab_pwned", page)
    assert not re.search(r"<[a-zA-Z][^<>]*\sonerror\s*=", page)

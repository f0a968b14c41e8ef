"""A small graded course for the report and export tests (shared, built once per session).

hw1 (hand problems only, so no sandbox): students s01–s03 hand in the reference
answers, s04 and s05 hand in named misconceptions taken from their own key (s04's
w_new of the gradient step then follows correctly from its wrong dw), s06
copies a classmate's right loss for p2, s07 hands in a file that is not a notebook, s08
hands in nothing, and a folder `stranger` (not on the roster) is skipped.
`planted` records what each wrong submission should be recognised as.
"""

from __future__ import annotations

import json
import re
import shutil
from fractions import Fraction
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from backproplab.course.generate import generate
from backproplab.course.layout import Layout
from backproplab.course.solve import solve
from backproplab.grade.copying import information
from backproplab.grade.run import grade_assignment

HW = "hw1-gradient-descent"
STUDENTS = [f"s0{i}" for i in range(1, 9)]
RIGHT = ["s01", "s02", "s03"]
ERRORED, MISSING_STUDENT, COPIER = "s07", "s08", "s06"


@dataclass
class Course:
    root: Path
    layout: Layout
    planted: Counter = field(default_factory=Counter)  # (problem key, answer, misconception) -> submissions
    carried: Counter = field(default_factory=Counter)  # (problem key, answer) -> submissions following a slip
    copied: dict[str, str] = field(default_factory=dict)  # copier -> problem key

    def key(self, student: str) -> dict:
        return json.loads(self.layout.key_json(student).read_text())


def set_answer(notebook: Path, key: str, name: str, literal: str) -> None:
    """Replace `name = ...` in the answer cell `key` of `notebook` by `name = literal`."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == key:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            new, n = re.subn(rf"^{name} = .*$", f"{name} = {literal}", src, flags=re.M)
            assert n == 1, (key, name, src)
            cell["source"] = new
    notebook.write_text(json.dumps(nb))


def literal(exact, choice: bool = False) -> str:
    """Python source for an exact key value ("3/4", or a list of them); a choice answer's
    strings are quoted."""
    if isinstance(exact, list):
        return "[" + ", ".join(literal(e, choice) for e in exact) + "]"
    return json.dumps(exact) if choice else str(exact)


def _misconception(entry: dict, index: int) -> dict:
    return entry["misconceptions"][index % len(entry["misconceptions"])]


def _build(root: Path) -> Course:
    generate(HW, root, STUDENTS, jobs=1)
    course = Course(root, Layout(root, HW))
    for s in STUDENTS[:-1]:
        solve(HW, root, s, course.layout.submission_dir(s) / course.layout.notebook_name)
    # Wrong answers that are named misconceptions of the student's own variant.
    for i, s in enumerate(["s04", "s05"]):
        for entry in course.key(s)["problems"]:
            m = _misconception(entry, i)
            if s == "s04" and entry["type"] == "mse_gradient_step":
                # a slip in dw, and the step taken correctly with it: w_new follows through
                m = next(m for m in entry["misconceptions"] if m["answer"] == "dw")
                params = entry["params"]
                w_new = Fraction(params["w"]) - Fraction(params["eta"]) * Fraction(m["exact"])
                set_answer(course.layout.submission_dir(s) / course.layout.notebook_name, entry["key"], "w_new",
                           str(w_new))
                course.carried[entry["key"], "w_new"] += 1
            kind = next(a["kind"] for a in entry["answers"] if a["name"] == m["answer"])
            set_answer(course.layout.submission_dir(s) / course.layout.notebook_name, entry["key"], m["answer"],
                       literal(m["exact"], choice=kind == "choice"))
            course.planted[entry["key"], m["answer"], m["name"]] += 1
    # A wrong answer that is right for a classmate: a copying flag, no misconception. The copied value
    # must say whose it is (grade.copying): p2's loss (a fraction like 2749/600), the most telling one.
    def loss(s: str) -> dict:
        return next(a for a in course.key(s)["problems"][1]["answers"] if a["name"] == "loss")

    p2 = course.key(COPIER)["problems"][1]
    taken = [loss(COPIER)["float"]] + [m["float"] for m in p2["misconceptions"] if m["answer"] == "loss"]
    source = next(s for s in sorted(RIGHT, key=lambda s: -information(loss(s)["float"]))
                  if all(abs(loss(s)["float"] - t) > 1e-6 for t in taken))
    set_answer(course.layout.submission_dir(COPIER) / course.layout.notebook_name, "p2", "loss",
               literal(loss(source)["exact"]))
    course.copied[COPIER] = "p2"
    (course.layout.submission_dir(ERRORED) / course.layout.notebook_name).write_text("this is not a notebook {")
    stranger = root / "submitted" / "stranger" / HW
    stranger.mkdir(parents=True)
    shutil.copy(course.layout.submission_dir("s01") / course.layout.notebook_name, stranger)
    grade_assignment(HW, root, workers=1)
    return course


_BUILT: dict[str, Course] = {}


def graded_course(tmp_path_factory) -> Course:
    """The graded course, built on first use and shared by every test of the session."""
    if "course" not in _BUILT:
        _BUILT["course"] = _build(tmp_path_factory.mktemp("graded") / "course")
    return _BUILT["course"]


def gradebook_scores(root: Path, assignment: str = HW) -> dict[str, dict[str, float]]:
    """student -> problem key -> score, read from gradebook.db with plain SQL (nbgrader's rule:
    the manual score when there is one, else the auto score, plus extra credit)."""
    sql = """
        SELECT st.id, bc.name,
               COALESCE(g.manual_score, g.auto_score) + COALESCE(g.extra_credit, 0.0)
        FROM grade g
        JOIN base_cell bc ON g.cell_id = bc.id
        JOIN submitted_notebook sn ON g.notebook_id = sn.id
        JOIN submitted_assignment sa ON sn.assignment_id = sa.id
        JOIN assignment a ON sa.assignment_id = a.id
        JOIN student st ON sa.student_id = st.id
        WHERE a.name = ?"""
    out: dict[str, dict[str, float]] = {}
    with sqlite3.connect(root / "gradebook.db") as db:
        for student, cell, score in db.execute(sql, (assignment,)):
            out.setdefault(student, {})[cell.removesuffix("_test")] = score
    return out


def results_json(root: Path, student: str) -> dict:
    return json.loads((root / "autograded" / student / HW / "results.json").read_text())


def ungraded_copy(root: Path, dest: Path) -> Path:
    """A copy of the course with nothing graded: no autograded/ and no submission in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("autograded"))
    with Gradebook(f"sqlite:///{dest / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            try:
                gb.remove_submission(HW, student)
            except MissingEntry:
                pass
    return dest

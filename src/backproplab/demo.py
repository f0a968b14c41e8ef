"""`backproplab demo`: the whole loop on a temporary course.

Generate for a class, hand in submissions made from the reference answers with
realistic mistakes (each student's own named misconceptions from their key) and a
few hostile ones, grade, report, export, and print where everything is.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path
from typing import Callable

import nbformat

from .course.layout import Layout
from .key import read_key

DEMO_ASSIGNMENT = "demo"

# What a student writes for a code answer that never finishes, or that attacks the grader.
HOSTILE_CODE = {
    "infinite loop": "def {fn}(*args, **kwargs):\n    while True:\n        pass\n",
    "reads the answer key": (
        "import glob\n"
        "def {fn}(*args, **kwargs):\n"
        "    return [open(p).read() for p in glob.glob('/**/keys/**/*.json', recursive=True)]\n"
    ),
}


DEMO_CANVAS_ID = "1234"  # an example Canvas assignment id (the number in the assignment's address)


def _answer_line(name: str, value) -> str:
    return f"{name} = {json.dumps(value)}"


def _replace_answer(source: str, name: str, value) -> str:
    lines = [(_answer_line(name, value) if ln.split("=")[0].strip() == name else ln) for ln in source.splitlines()]
    return "\n".join(lines)


def make_submissions(layout: Layout, students: list[str], solve: Callable[[str, Path], None], seed: int = 0) -> dict[str, str]:
    """Write one submission per student; returns what kind each one is."""
    rng = random.Random(seed)
    kinds = {}
    for i, student in enumerate(students):
        path = layout.submission_dir(student) / layout.notebook_name
        path.parent.mkdir(parents=True, exist_ok=True)
        solve(student, path)
        if i == 0:
            kinds[student] = "reference answers"
            continue
        if i == 1:
            path.write_text("this is not a notebook")
            kinds[student] = "hostile: not a notebook"
            continue
        nb = nbformat.read(path, as_version=4)
        key = read_key(layout.key_json(student))
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
        if i == 2:
            for p in key.problems:
                if p.code is None:
                    cells[p.key].source += "\n" + _answer_line(p.answers[0].name, 0) + "  # __import__('os').system('id')"
                    cells[p.key].metadata["nbgrader"]["points"] = 1000  # tampered metadata is ignored
            kinds[student] = "hostile: tampered metadata"
        elif i == 3 and any(p.code for p in key.problems):
            p = next(p for p in key.problems if p.code)
            cells[p.key].source = HOSTILE_CODE["infinite loop"].format(fn=p.code.functions[0])
            kinds[student] = "hostile: infinite loop"
        elif i == 4 and any(p.code for p in key.problems):
            p = next(p for p in key.problems if p.code)
            cells[p.key].source = HOSTILE_CODE["reads the answer key"].format(fn=p.code.functions[0])
            kinds[student] = "hostile: reads the answer key"
        else:
            # A realistic student: right on most problems, one or two named mistakes.
            made = []
            hand = [p for p in key.problems if p.misconceptions]
            for p in rng.sample(hand, k=min(len(hand), rng.choice([0, 1, 1, 2]))):
                m = rng.choice(p.misconceptions)
                cell = cells[p.key]
                cell.source = _replace_answer(cell.source, m.answer, m.value)
                made.append(m.name)
            kinds[student] = "mistakes: " + ", ".join(made) if made else "reference answers"
        nbformat.write(nb, path)
    return kinds


def run_demo(course: Path | None, n_students: int, echo: Callable[[str], None] = print,
             assignment: str = DEMO_ASSIGNMENT) -> Path:
    """Run generate → submissions → grade → report → export; returns the course directory."""
    from .course.generate import generate
    from .course.solve import solve
    from .export.formats import export
    from .grade.run import grade_assignment
    from .report.build import write_report

    start = time.perf_counter()
    course = Path(course) if course else Path(tempfile.mkdtemp(prefix="backproplab-demo-"))
    students = [f"student{i:03d}" for i in range(1, n_students + 1)]
    roster = course / "roster.csv"
    course.mkdir(parents=True, exist_ok=True)
    roster.write_text("student_id,name\n" + "".join(f"{s},Student {s[-3:]}\n" for s in students))
    echo(f"1. generate {assignment} for {n_students} students in {course}")
    generate(assignment, course, students)
    layout = Layout(course.resolve(), assignment)
    echo("2. hand in submissions: reference answers, named mistakes, hostile ones")
    kinds = make_submissions(layout, students, lambda s, p: solve(assignment, course, s, p))
    echo("3. grade (sandboxed, parallel)")
    summary = grade_assignment(assignment, course)
    echo("4. report and exports")
    report = write_report(assignment, course, None)
    # The Canvas import needs the id of the Canvas assignment to fill; the demo course has none, so an example.
    exports = [export(assignment, course, fmt, None, canvas_assignment_id=DEMO_CANVAS_ID)
               for fmt in ("csv", "canvas", "gradescope")]

    echo("")
    echo(f"{'student':12} {'score':>9}  submission")
    for s in students[: min(12, n_students)]:
        done = layout.results_json(s)
        data = json.loads(done.read_text()) if done.exists() else {"score": 0, "max_score": 0, "status": "?"}
        shown = f"{data['score']:g}/{data['max_score']:g}" if data["status"] == "graded" else "error"
        echo(f"{s:12} {shown:>9}  {kinds.get(s, '')}")
    if n_students > 12:
        echo(f"... and {n_students - 12} more")
    echo("")
    echo(summary.describe())
    echo(f"report:    {report}")
    for path in exports:
        echo(f"export:    {path}" + (f" (for the Canvas assignment {DEMO_CANVAS_ID}: pass your own "
                                     "--canvas-assignment-id)" if path.name.endswith("-canvas.csv") else ""))
    echo(f"feedback:  {layout.feedback_html('<student>')}")
    echo(f"keys:      {layout.key_dir}")
    echo(f"demo finished in {time.perf_counter() - start:.1f} s")
    return course

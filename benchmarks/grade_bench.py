"""Time `backproplab grade` against stock `nbgrader autograde` on the same submissions.

    python benchmarks/grade_bench.py [--students 200] [--assignment hw2-backprop hw4-coding]
                                     [--class-size 1000] [--skip-nbgrader]

For each assignment: generate a course, hand in one submission per student made
from the reference answers, with named mistakes injected into about half of them
(the demo's realistic students, without its hostile ones), then copy the course
and grade one copy with `backproplab grade` and the other with stock
`nbgrader autograde` (nbgrader's own in-kernel hidden tests, no backproplab
plugin). Both are run as the command-line tools an instructor runs, so both pay
their start-up. Prints both wall times, the ratio, and checks that every honest
submission (reference answers) gets the same score from both.

`--class-size` then times `backproplab grade` alone on a class of that size
(target: 1,000 submissions in under 30 s on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backproplab.course.generate import generate
from backproplab.course.layout import Layout
from backproplab.course.solve import solve
from backproplab.demo import make_submissions

TARGET_CLASS_S = 30.0
TARGET_RATIO = 30.0
STOCK_CONFIG = "c = get_config()\nc.CourseDirectory.root = {root!r}\n"


def make_course(root: Path, assignment: str, n: int) -> tuple[Path, dict[str, str]]:
    """A generated course with one submission per student; returns it and what each submission is."""
    course = root / assignment
    students = [f"s{i:04d}" for i in range(n)]
    course.mkdir(parents=True)
    (course / "roster.csv").write_text("student_id\n" + "".join(s + "\n" for s in students))
    generate(assignment, course, students)
    layout = Layout(course.resolve(), assignment)
    # make_submissions makes students 1-4 hostile; keep the honest and the realistic ones only.
    kinds = make_submissions(layout, students, lambda s, p: solve(assignment, course, s, p), seed=1)
    for s, kind in kinds.items():
        if kind.startswith("hostile"):
            solve(assignment, course, s, layout.submission_dir(s) / layout.notebook_name)
            kinds[s] = "reference answers"
    return course, kinds


def run(cmd: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: some submissions had errors, which is a result, not a failure
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def gradebook_scores(course: Path) -> dict[str, float]:
    db = sqlite3.connect(course / "gradebook.db")
    rows = db.execute(
        "select a.student_id, sum(g.auto_score) from grade g join submitted_notebook n on g.notebook_id = n.id "
        "join submitted_assignment a on n.assignment_id = a.id group by a.student_id").fetchall()
    return {s: (score or 0.0) for s, score in rows}


def ours(course: Path, assignment: str) -> float:
    return run([sys.executable, "-m", "backproplab.cli", "grade", assignment, "--course", str(course)], course)


def compare(root: Path, assignment: str, n: int, skip_nbgrader: bool) -> None:
    course, kinds = make_course(root, assignment, n)
    honest = [s for s, k in kinds.items() if k == "reference answers"]
    stock = root / f"{assignment}-stock"
    shutil.copytree(course, stock, symlinks=True)
    (stock / "nbgrader_config.py").write_text(STOCK_CONFIG.format(root=str(stock)))

    fresh = root / f"{assignment}-again"
    shutil.copytree(course, fresh, symlinks=True)
    t_ours = ours(course, assignment)
    ours_scores = gradebook_scores(course)
    print(f"{assignment}: {n} submissions ({len(honest)} honest, {n - len(honest)} with named mistakes)")
    print(f"  backproplab grade     {t_ours:8.2f} s  {1000 * t_ours / n:7.1f} ms/submission")
    if skip_nbgrader:
        return
    t_stock = run([sys.executable, "-m", "nbgrader", "autograde", assignment], stock)
    stock_scores = gradebook_scores(stock)
    print(f"  nbgrader autograde    {t_stock:8.2f} s  {1000 * t_stock / n:7.1f} ms/submission (stock, in-kernel)")
    # Ours again after nbgrader, on an ungraded copy: the machine's load drifts over minutes.
    t_again = ours(fresh, assignment)
    print(f"  backproplab grade     {t_again:8.2f} s  {1000 * t_again / n:7.1f} ms/submission (again, after nbgrader)")
    t_ours = (t_ours + t_again) / 2
    print(f"  ratio                 {t_stock / t_ours:8.1f}x  (nbgrader / mean of ours; target >= {TARGET_RATIO:.0f}x)")
    differ = [s for s in honest if abs(ours_scores.get(s, -1) - stock_scores.get(s, -2)) > 1e-6]
    print(f"  honest submissions scored the same by both: {len(honest) - len(differ)}/{len(honest)}")
    for s in differ[:5]:
        print(f"    {s}: backproplab {ours_scores.get(s)}, nbgrader {stock_scores.get(s)}")
    if differ:
        sys.exit("honest submissions scored differently")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--assignment", nargs="+", default=["hw2-backprop", "hw4-coding"])
    ap.add_argument("--class-size", type=int, default=1000, help="then time backproplab grade alone on this many (0: skip)")
    ap.add_argument("--skip-nbgrader", action="store_true", help="time backproplab grade only")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        for assignment in args.assignment:
            compare(Path(tmp), assignment, args.students, args.skip_nbgrader)
        for assignment in args.assignment if args.class_size else []:
            course, _ = make_course(Path(tmp) / "class", assignment, args.class_size)
            seconds = ours(course, assignment)
            results = list(course.glob(f"autograded/*/{assignment}/results.json"))
            errors = sum(json.loads(p.read_text())["status"] != "graded" for p in results)
            print(f"{assignment}: backproplab grade of {args.class_size} submissions: {seconds:.1f} s "
                  f"({seconds / TARGET_CLASS_S:.2f} of the {TARGET_CLASS_S:.0f} s target), "
                  f"{len(results)} results, {errors} errors")


if __name__ == "__main__":
    main()

"""What fair grading is worth to a student who slips once: points against another version's grader.

    python benchmarks/fairness_bench.py [--students 200] [--baseline /path/to/old/src]
                                        [--assignment hw1-gradient-descent hw2-backprop hw3-optimizers]

For each assignment: generate a course, and hand in for every student the reference
answers with ONE slip: in a randomly chosen multi-step problem, the sign of the
first entry of the first answer that others follow from is flipped, and every
answer computed from it is recomputed from the student's slipped value (with the
key's own derivations), as a careful student would carry the slip through.
Both graders then grade the same submissions: this version (`backproplab grade`)
and, with --baseline, the version whose package is in that folder (run through
PYTHONPATH on a copy of the course). Prints the mean score of both, the mean
gain, and the share of students who gain.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from backproplab.course.generate import generate
from backproplab.course.layout import Layout
from backproplab.course.solve import solve
from backproplab.derivation import dependency_order, evaluate, references
from backproplab.grade.hand import at, entries
from backproplab.key import read_key


def set_entry(value, index, new):
    if not index:
        return new
    value = list(value)
    value[index[0]] = set_entry(value[index[0]], index[1:], new)
    return value


def one_slip(problem) -> dict | None:
    """The problem's answers with one slip carried through (None if nothing follows from anything)."""
    values = {a.name: a.value for a in problem.answers if a.kind != "choice"}
    trees = {}
    for a in problem.answers:
        if a.follows is None:
            continue
        for idx, _ in entries(a.value):
            t = at(a.follows, idx)
            if t is not None:
                trees[a.name, idx] = t
    upstream = {r for t in trees.values() for r in references(t)}
    if not upstream:
        return None
    order = [(a.name, idx) for a in problem.answers for idx, _ in entries(a.value)]
    slipped = next(e for e in order if e in upstream)
    old = at(values[slipped[0]], slipped[1])
    values[slipped[0]] = set_entry(values[slipped[0]], slipped[1], -old if old else 1.0)

    def lookup(name, index):
        try:
            return float(at(values[name], index))
        except (KeyError, IndexError, TypeError):
            return None

    for e in dependency_order(order, trees):
        if e in trees and e != slipped:
            new = evaluate(trees[e], lookup)
            if new is not None:
                values[e[0]] = set_entry(values[e[0]], e[1], new)
    return values


def hand_in(layout: Layout, student: str, assignment: str, course: Path, rng: random.Random) -> None:
    path = layout.submission_dir(student) / layout.notebook_name
    solve(assignment, course, student, path)
    key = read_key(layout.key_json(student))
    candidates = [p for p in key.problems if p.code is None and one_slip(p) is not None]
    p = rng.choice(candidates)
    values = one_slip(p)
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == p.key:
            lines = []
            for line in "".join(cell["source"]).splitlines():
                name = line.split("=")[0].strip()
                lines.append(f"{name} = {json.dumps(values[name])}" if name in values else line)
            cell["source"] = "\n".join(lines)
    path.write_text(json.dumps(nb))


def scores(course: Path, assignment: str, students: list[str]) -> dict[str, float]:
    layout = Layout(course, assignment)
    return {s: json.loads(layout.results_json(s).read_text())["score"] for s in students}


def run(assignment: str, n: int, baseline: Path | None, root: Path) -> None:
    course = root / assignment
    students = [f"s{i:04d}" for i in range(n)]
    generate(assignment, course, students)
    layout = Layout(course, assignment)
    rng = random.Random(7)
    for s in students:
        hand_in(layout, s, assignment, course, rng)
    other = root / f"{assignment}-baseline"
    shutil.copytree(course, other)
    cli = [sys.executable, "-m", "backproplab.cli", "grade", assignment, "--course"]
    subprocess.run(cli + [str(course)], check=False, capture_output=True)
    ours = scores(course, assignment, students)
    total = read_key(layout.key_json(students[0])).points
    print(f"{assignment}: {n} students, one slip each, {total:g} points")
    print(f"  this version: mean {statistics.mean(ours.values()):.2f}")
    if baseline is None:
        return
    env = dict(os.environ, PYTHONPATH=str(baseline))
    subprocess.run(cli + [str(other)], check=False, capture_output=True, env=env)
    theirs = scores(other, assignment, students)
    gains = [ours[s] - theirs[s] for s in students]
    print(f"  baseline:     mean {statistics.mean(theirs.values()):.2f}")
    print(f"  gain per student: mean {statistics.mean(gains):+.2f} points "
          f"({100 * statistics.mean(gains) / total:+.1f}% of the assignment), "
          f"{sum(g > 1e-9 for g in gains)}/{n} gain, {sum(g < -1e-9 for g in gains)}/{n} lose")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--baseline", type=Path, help="the folder holding another version's backproplab package")
    ap.add_argument("--assignment", nargs="+", default=["hw1-gradient-descent", "hw2-backprop", "hw3-optimizers"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for a in args.assignment:
            run(a, args.students, args.baseline, Path(tmp))


if __name__ == "__main__":
    main()

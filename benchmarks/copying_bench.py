"""Time the copying index (grade.copying) for a large class.

    python benchmarks/copying_bench.py [--students 1000] [--assignment hw3-optimizers]

Writes real answer keys for the class (no notebooks), builds the index once as a
grade run does, then asks for the flags of every hand problem of every student
three ways: the right answers, one wrong small count, and a classmate's whole
answer. Prints the build time, the time per flag look-up, how many problems each
way flags, and the look-up cost as a share of the build.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from backproplab.assignment import load
from backproplab.course.layout import Layout
from backproplab.course.variants import student_items
from backproplab.answers import parse_answers
from backproplab.grade.copying import CopyIndex
from backproplab.key import dumps_key, make_key


def source(answers: list[tuple[str, str, object]]) -> str:
    """An answer cell giving these (name, kind, value)s."""
    return "".join(f"{name} = {json.dumps(value)}\n" for name, kind, value in answers if kind != "choice")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=1000)
    ap.add_argument("--assignment", default="hw3-optimizers")
    args = ap.parse_args()
    assignment = load(args.assignment)
    students = [f"s{i:04d}" for i in range(args.students)]
    secret = os.urandom(32)
    with tempfile.TemporaryDirectory() as tmp:
        layout = Layout(Path(tmp), assignment.name)
        layout.key_dir.mkdir(parents=True)
        start = time.perf_counter()
        keys = {}
        for s in students:
            items = student_items(assignment, secret, s, plots=False)
            keys[s] = make_key(assignment, s, ((it.spec, it.seed, it.variant) for it in items))
            layout.key_json(s).write_text(dumps_key(keys[s]))
        print(f"students: {args.students}, assignment: {assignment.name}, keys written in "
              f"{time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        index = CopyIndex.build(layout, students, assignment)
        build = time.perf_counter() - start
        assert index is not None
        print(f"index build            {build:8.3f} s   {1e6 * build / len(students):8.1f} us/student")

        for way in ("right answers", "one wrong small count", "a classmate's answer"):
            flagged = calls = 0
            start = time.perf_counter()
            for i, s in enumerate(students):
                neighbour = keys[students[(i + 1) % len(students)]]
                for entry, theirs in zip(keys[s].problems, neighbour.problems):
                    if entry.code is not None:
                        continue
                    answers = [(a.name, a.kind, a.value) for a in entry.answers]
                    if way == "one wrong small count":
                        # The first numeric answer becomes a small integer off its right value.
                        for k, (name, kind, value) in enumerate(answers):
                            if kind == "number":
                                answers[k] = (name, kind, round(value) + 1)
                                break
                    elif way == "a classmate's answer":
                        answers = [(a.name, a.kind, a.value) for a in theirs.answers]
                    calls += 1
                    flagged += bool(index.flags(s, entry, parse_answers(source(answers))))
            seconds = time.perf_counter() - start
            print(f"flags: {way:22} {seconds:8.3f} s   {1e6 * seconds / calls:8.1f} us/problem   "
                  f"{flagged}/{calls} problems flagged   look-ups / build: {seconds / build:.2f}")


if __name__ == "__main__":
    main()

"""Time `backproplab generate` for a large class.

    python benchmarks/generate_bench.py [--students 1000] [--assignment hw1-gradient-descent ...]

Prints the wall time per assignment (nbgrader's own generate_assignment
included), the per-student cost, and the ratio to the 20 s target.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from backproplab.course.generate import generate

TARGET_S = 20.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=1000)
    ap.add_argument("--assignment", nargs="+", default=["hw1-gradient-descent"])
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    students = [f"s{i:04d}" for i in range(args.students)]
    print(f"cores: {os.cpu_count()}, students: {args.students}")
    for name in args.assignment:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = generate(name, Path(tmp) / "course", students, jobs=args.jobs)
            seconds = time.perf_counter() - start
        print(f"{name:24} {seconds:7.1f} s  {1000 * seconds / args.students:6.1f} ms/student  "
              f"{summary.files} files  target {TARGET_S:.0f} s: ratio {seconds / TARGET_S:.2f}")


if __name__ == "__main__":
    main()

"""Time `backproplab generate` for a large class.

    python benchmarks/generate_bench.py [--students 1000] [--assignment hw1-gradient-descent ...] [--jobs N]

For each assignment, generates a fresh course for N students (nbgrader's own
generate_assignment included, as the command line runs it) and prints the wall
time, the wall time per student, the CPU time per student (this process and its
workers: comparable between a loaded and an idle machine, unlike wall time), and
the ratio of the wall time to the target of 20 s for 1,000 students (scaled to N
students when N is not 1,000). The machine's load average is printed with each
line: other work on the machine slows generate down.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from backproplab.course.generate import generate

TARGET_S = 20.0  # for 1,000 students on a 2-core machine
TARGET_STUDENTS = 1000
DEFAULT = ["hw1-gradient-descent", "hw2-backprop", "hw3-optimizers", "hw4-coding"]


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the generate workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=TARGET_STUDENTS)
    ap.add_argument("--assignment", nargs="+", default=DEFAULT)
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    args = ap.parse_args()
    students = [f"s{i:04d}" for i in range(args.students)]
    target = TARGET_S * args.students / TARGET_STUDENTS
    print(f"cores: {os.cpu_count()}, students: {args.students}, target: {target:.1f} s "
          f"({TARGET_S:.0f} s per {TARGET_STUDENTS})")
    print(f"{'assignment':22} {'wall':>8} {'per student':>12} {'CPU/student':>12} {'ratio':>6}  load (1 min)")
    for name in args.assignment:
        with tempfile.TemporaryDirectory() as tmp:
            cpu0, start = cpu_seconds(), time.perf_counter()
            summary = generate(name, Path(tmp) / "course", students, jobs=args.jobs)
            seconds = time.perf_counter() - start
            cpu = cpu_seconds() - cpu0
        print(f"{name:22} {seconds:7.1f}s {1000 * seconds / args.students:9.1f} ms {1000 * cpu / args.students:9.1f} ms "
              f"{seconds / target:6.2f}  {os.getloadavg()[0]:.1f}   ({summary.files} files)", flush=True)


if __name__ == "__main__":
    main()

"""Time `backproplab generate` for a large class, against a baseline commit in the same run.

    python benchmarks/generate_bench.py [--students 1000] [--assignment hw1-gradient-descent ...] [--jobs N]
                                        [--baseline CHECKOUT]

For each assignment, generates a fresh course for N students (nbgrader's own
generate_assignment included, as the command line runs it) in a child process and
prints the wall time, the wall time per student, the CPU time per student (the child
and its workers: comparable between a loaded and an idle machine, unlike wall time),
and the ratio of the wall time to the target of 15 s for 1,000 students (scaled to N
students when N is not 1,000). With `--baseline CHECKOUT` (a git checkout of an older
commit) the same generation runs with that checkout's package right after, and the
ratio of the two is printed: the machine's load drifts, side-by-side ratios do not.
The machine's load average is printed with each line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 15.0  # for 1,000 students on a 2-core machine
TARGET_STUDENTS = 1000
DEFAULT = ["hw1-gradient-descent", "hw2-backprop", "hw3-optimizers", "hw4-coding"]


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the generate workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def child(name: str, n: int, jobs: int | None) -> None:
    """Generate in this process (with whichever backproplab is importable); print the figures as JSON."""
    cpu0, start = cpu_seconds(), time.perf_counter()
    from backproplab.course.generate import generate  # the import is part of what a user waits for

    with tempfile.TemporaryDirectory() as tmp:
        summary = generate(name, Path(tmp) / "course", [f"s{i:04d}" for i in range(n)], jobs=jobs)
        seconds = time.perf_counter() - start
        cpu = cpu_seconds() - cpu0
    print(json.dumps({"seconds": seconds, "cpu": cpu, "files": summary.files}))


def timed(name: str, n: int, jobs: int | None, checkout: Path | None) -> dict:
    cmd = [sys.executable, __file__, "--child", "--assignment", name, "--students", str(n)]
    cmd += ["--jobs", str(jobs)] if jobs else []
    env = dict(os.environ)
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f"generate {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=TARGET_STUDENTS)
    ap.add_argument("--assignment", nargs="+", default=DEFAULT)
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    ap.add_argument("--baseline", type=Path, help="a checkout of the baseline commit, timed on the same students")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.assignment[0], args.students, args.jobs)
        return
    target = TARGET_S * args.students / TARGET_STUDENTS
    print(f"cores: {os.cpu_count()}, students: {args.students}, target: {target:.1f} s "
          f"({TARGET_S:.0f} s per {TARGET_STUDENTS})")
    print(f"{'assignment':22} {'wall':>8} {'per student':>12} {'CPU/student':>12} {'/target':>8}  load (1 min)")
    for name in args.assignment:
        rows = [("", None)] + ([(" baseline", args.baseline)] if args.baseline else [])
        walls = []
        for label, checkout in rows:
            r = timed(name, args.students, args.jobs, checkout)
            walls.append(r["seconds"])
            verdict = "met" if r["seconds"] <= target else "NOT met"
            print(f"{name + label:22} {r['seconds']:7.1f}s {1000 * r['seconds'] / args.students:9.1f} ms "
                  f"{1000 * r['cpu'] / args.students:9.1f} ms {r['seconds'] / target:8.2f}  {os.getloadavg()[0]:.1f}"
                  f"   ({r['files']} files; target {verdict})", flush=True)
        if len(walls) == 2:
            print(f"{'':22} ours / baseline: {walls[0] / walls[1]:.2f} ({walls[1] / walls[0]:.2f}x as fast)", flush=True)


if __name__ == "__main__":
    main()

"""Grade one class on 1, 2 and 4 Dask workers against the local process pool of as many workers.

    python benchmarks/scale_bench.py [--students 2000] [--assignment hw4-coding] [--workers 1 2 4]

Generates a course with one submission per student (the demo's mix: reference answers,
named mistakes, a few hostile files), then for each N grades a fresh copy of it twice:
with the local pool (`grade --workers N`) and on a running `distributed.LocalCluster` of N
worker processes with one thread each (`grade --scheduler tcp://…`; the cluster is started
before the clock, as a university cluster's workers are already running). Prints wall time,
throughput per worker and the Dask run's overhead against the local pool (a ratio: the
machine may be shared, so absolute figures say little), and checks that every run gives
every submission the same score as the first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from backproplab.course.generate import generate
from backproplab.course.layout import Layout
from backproplab.course.solve import solve
from backproplab.demo import make_submissions
from backproplab.grade.run import grade_assignment


def make_course(root: Path, assignment: str, n: int) -> Path:
    """A generated course with one submission per student (the demo's mix of students)."""
    course = root / "course"
    students = [f"s{i:04d}" for i in range(n)]
    generate(assignment, course, students)
    make_submissions(Layout(course.resolve(), assignment), students,
                     lambda s, p: solve(assignment, course, s, p), seed=1)
    return course


def scores(course: Path, assignment: str) -> dict[str, tuple[str, float]]:
    """student -> (status, score) from every results.json."""
    out = {}
    for path in course.glob(f"autograded/*/{assignment}/results.json"):
        data = json.loads(path.read_text())
        out[data["student"]] = (data["status"], data["score"])
    return out


def timed(course: Path, assignment: str, **kw) -> float:
    start = time.perf_counter()
    grade_assignment(assignment, course, **kw)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=2000)
    ap.add_argument("--assignment", default="hw4-coding")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        course = make_course(root, args.assignment, args.students)
        print(f"{args.assignment}: {args.students} submissions made in {time.perf_counter() - start:.1f} s")
        reference: dict | None = None
        rows = []
        print(f"{'workers':>7} {'local pool s':>12} {'dask s':>8} {'dask subs/s/worker':>18} "
              f"{'local subs/s/worker':>19} {'dask/local':>10}", flush=True)
        for n in args.workers:
            local = shutil.copytree(course, root / f"local-{n}", symlinks=True)
            local_s = timed(local, args.assignment, workers=n)
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                              host="127.0.0.1") as cluster, Client(cluster) as client:
                client.wait_for_workers(n)
                dask = shutil.copytree(course, root / f"dask-{n}", symlinks=True)
                dask_s = timed(dask, args.assignment, scheduler=cluster.scheduler_address)
            for run in (local, dask):
                got = scores(run, args.assignment)
                reference = reference or got
                if got != reference or len(got) != args.students:
                    sys.exit(f"scores differ in {run.name}: {len(got)} results, "
                             f"{sum(got.get(s) != v for s, v in reference.items())} different")
            rows.append((n, local_s, dask_s))
            print(f"{n:>7} {local_s:>12.1f} {dask_s:>8.1f} {args.students / dask_s / n:>18.1f} "
                  f"{args.students / local_s / n:>19.1f} {dask_s / local_s:>10.2f}", flush=True)
            shutil.rmtree(local)
            shutil.rmtree(dask)

    one = rows[0][2]
    for n, _, dask_s in rows[1:]:
        print(f"dask speed-up {rows[0][0]} -> {n} workers: {one / dask_s:.2f}x")
    print("every run gave every submission the same status and score")


if __name__ == "__main__":
    main()

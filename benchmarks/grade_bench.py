"""Time `backproplab grade` against stock `nbgrader autograde` and against a baseline commit.

    python benchmarks/grade_bench.py [--students 100] [--assignment hw2-backprop hw4-coding ...]
                                     [--class-size 1000] [--baseline CHECKOUT] [--skip-nbgrader]

For each assignment: generate a course, hand in one submission per student made
from the reference answers, with named mistakes injected into about half of them
(the demo's realistic students, without its hostile ones), then copy the course
and grade one copy with `backproplab grade` and the other with stock
`nbgrader autograde` (nbgrader's own in-kernel hidden tests, no backproplab
plugin). Both are run as the command-line tools an instructor runs, so both pay
their start-up. Prints both wall times, the ratio (target >= 60x), and checks that
every honest submission (reference answers) gets the same score from both.

`--class-size` then times `backproplab grade` alone on a class of that size, per
assignment (target: 1,000 submissions in <= 15 s on a 2-core machine), and prints the
grader's peak memory: the sum of the resident sizes of the grader process and all its
descendants (workers, bubblewrap sandboxes), sampled with psutil every 20 ms (target
<= 500 MB). With `--baseline CHECKOUT` (a git checkout of an older commit), the same
class is generated and graded with that checkout's package as well, in the same run,
and the ratio of the two wall times is printed: the machine's load drifts, ratios
measured side by side do not.
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
import threading
import time
from pathlib import Path

import psutil

TARGET_CLASS_S = 15.0  # for 1,000 submissions on a 2-core machine
TARGET_STUDENTS = 1000
TARGET_RATIO = 60.0  # stock nbgrader autograde / backproplab grade
TARGET_MB = 500.0
DEFAULT = ["hw1-gradient-descent", "hw2-backprop", "hw3-optimizers", "hw4-coding"]
STOCK_CONFIG = "c = get_config()\nc.CourseDirectory.root = {root!r}\n"
SAMPLE_S = 0.02


def make_course(root: Path, assignment: str, n: int) -> tuple[Path, dict[str, str]]:
    """A generated course with one submission per student; returns it and what each submission is.

    Runs with whichever backproplab is importable (this checkout's, or a baseline's in a child)."""
    from backproplab.course.generate import generate
    from backproplab.course.layout import Layout
    from backproplab.course.solve import solve
    from backproplab.demo import make_submissions

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


def environment(checkout: Path | None) -> dict[str, str]:
    """This interpreter's environment, with `checkout`'s src/ first on the path when given."""
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def make_course_with(checkout: Path | None, root: Path, assignment: str, n: int) -> Path:
    """make_course in a child process that imports `checkout`'s package (this one's when None)."""
    cmd = [sys.executable, __file__, "--make-course", str(root), "--assignment", assignment, "--students", str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environment(checkout))
    if proc.returncode:
        sys.exit(f"making the {assignment} course failed:\n{proc.stderr[-3000:]}")
    return root / assignment


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of `proc` and all its descendants (processes that end meanwhile count 0)."""
    total = 0
    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in family:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command-line tool; returns its wall time (s) and the peak summed RSS of its process tree (MB)."""
    peak = 0
    start = time.perf_counter()
    proc = psutil.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or environment(None))
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc))
            done.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode not in (0, 1):  # 1: some submissions had errors, which is a result, not a failure
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return seconds, peak / 1e6


def gradebook_scores(course: Path) -> dict[str, float]:
    db = sqlite3.connect(course / "gradebook.db")
    rows = db.execute(
        "select a.student_id, sum(g.auto_score) from grade g join submitted_notebook n on g.notebook_id = n.id "
        "join submitted_assignment a on n.assignment_id = a.id group by a.student_id").fetchall()
    return {s: (score or 0.0) for s, score in rows}


def grade(course: Path, assignment: str, checkout: Path | None = None) -> tuple[float, float]:
    """`backproplab grade` of the course, as an instructor runs it; (seconds, peak MB)."""
    cmd = [sys.executable, "-m", "backproplab.cli", "grade", assignment, "--course", str(course)]
    return run(cmd, course, environment(checkout))


def compare(root: Path, assignment: str, n: int) -> None:
    """Ours against stock nbgrader autograde on the same n submissions."""
    course, kinds = make_course(root, assignment, n)
    honest = [s for s, k in kinds.items() if k == "reference answers"]
    stock = root / f"{assignment}-stock"
    shutil.copytree(course, stock, symlinks=True)
    (stock / "nbgrader_config.py").write_text(STOCK_CONFIG.format(root=str(stock)))
    fresh = root / f"{assignment}-again"
    shutil.copytree(course, fresh, symlinks=True)
    t_ours, _ = grade(course, assignment)
    ours_scores = gradebook_scores(course)
    print(f"{assignment}: {n} submissions ({len(honest)} honest, {n - len(honest)} with named mistakes)")
    print(f"  backproplab grade     {t_ours:8.2f} s  {1000 * t_ours / n:7.1f} ms/submission")
    t_stock, _ = run([sys.executable, "-m", "nbgrader", "autograde", assignment], stock)
    stock_scores = gradebook_scores(stock)
    print(f"  nbgrader autograde    {t_stock:8.2f} s  {1000 * t_stock / n:7.1f} ms/submission (stock, in-kernel)")
    # Ours again after nbgrader, on an ungraded copy: the machine's load drifts over minutes.
    t_again, _ = grade(fresh, assignment)
    print(f"  backproplab grade     {t_again:8.2f} s  {1000 * t_again / n:7.1f} ms/submission (again, after nbgrader)")
    t_ours = (t_ours + t_again) / 2
    verdict = "met" if t_stock / t_ours >= TARGET_RATIO else "NOT met"
    print(f"  ratio                 {t_stock / t_ours:8.1f}x  (nbgrader / mean of ours; target >= {TARGET_RATIO:.0f}x: "
          f"{verdict}), load {os.getloadavg()[0]:.1f}")
    differ = [s for s in honest if abs(ours_scores.get(s, -1) - stock_scores.get(s, -2)) > 1e-6]
    print(f"  honest submissions scored the same by both: {len(honest) - len(differ)}/{len(honest)}")
    for s in differ[:5]:
        print(f"    {s}: backproplab {ours_scores.get(s)}, nbgrader {stock_scores.get(s)}")
    if differ:
        sys.exit("honest submissions scored differently")


def errors(course: Path, assignment: str) -> tuple[int, int]:
    results = list(course.glob(f"autograded/*/{assignment}/results.json"))
    return len(results), sum(json.loads(p.read_text())["status"] != "graded" for p in results)


def class_run(root: Path, assignment: str, n: int, baseline: Path | None) -> None:
    """Ours alone on a class of n (time, peak memory), and the baseline's on its own course of n."""
    target = TARGET_CLASS_S * n / TARGET_STUDENTS
    course = make_course_with(None, root / "ours", assignment, n)
    seconds, mb = grade(course, assignment)
    count, bad = errors(course, assignment)
    print(f"{assignment}: backproplab grade of {n} submissions: {seconds:.1f} s ({seconds / target:.2f} of the "
          f"{target:.1f} s target: {'met' if seconds <= target else 'NOT met'}), peak memory {mb:.0f} MB "
          f"({'met' if mb <= TARGET_MB else 'NOT met'}: <= {TARGET_MB:.0f} MB), {count} results, {bad} errors, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    if baseline is None:
        return
    base_course = make_course_with(baseline, root / "baseline", assignment, n)
    base_s, base_mb = grade(base_course, assignment, baseline)
    print(f"  baseline {baseline.name}: {base_s:.1f} s, peak memory {base_mb:.0f} MB; "
          f"ours / baseline: {seconds / base_s:.2f} ({base_s / seconds:.2f}x as fast), load {os.getloadavg()[0]:.1f}",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=100, help="submissions for the comparison with nbgrader")
    ap.add_argument("--assignment", nargs="+", default=DEFAULT)
    ap.add_argument("--class-size", type=int, default=TARGET_STUDENTS,
                    help="then time backproplab grade alone on this many (0: skip)")
    ap.add_argument("--baseline", type=Path, help="a checkout of the baseline commit, graded on the same class size")
    ap.add_argument("--skip-nbgrader", action="store_true", help="no comparison with stock nbgrader autograde")
    ap.add_argument("--make-course", type=Path, help=argparse.SUPPRESS)  # the child of make_course_with
    args = ap.parse_args()
    if args.make_course:
        make_course(args.make_course, args.assignment[0], args.students)
        return
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        for assignment in [] if args.skip_nbgrader else args.assignment:
            compare(Path(tmp) / "stock", assignment, args.students)
        for assignment in args.assignment if args.class_size else []:
            class_run(Path(tmp) / "class" / assignment, assignment, args.class_size, args.baseline)


if __name__ == "__main__":
    main()

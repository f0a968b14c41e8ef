"""Grading and generating on dask.distributed (`--scheduler`), against the single-machine run.

Real Dask: a LocalCluster of 2 worker processes, and a real `dask scheduler` with 2 `dask
worker` processes on 127.0.0.1 (free ports, shut down cleanly, no process left behind).
Results are compared with the same course graded by the local process pool: every
results.json (but its timing) and every gradebook score, and every generated file byte for
byte. A worker is killed mid-run (each submission still graded exactly once), and so is the
client (the re-run grades only what was not committed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backproplab.cluster import ClusterError, check_scheduler
from backproplab.course.generate import generate
from backproplab.course.layout import Layout
from backproplab.course.solve import solve
from backproplab.demo import make_submissions
from backproplab.grade.run import GradeError, grade_assignment
from graded_course import HW as HW1, gradebook_scores, graded_course, ungraded_copy

HW4 = "hw4-coding"
DASK = [sys.executable, "-m", "distributed.cli"]


# ------------------------------------------------------------------ fast: our own logic


@pytest.mark.parametrize("spec", ["tcp://127.0.0.1:8786", "tls://sched.example.edu:8786", "local:2", "local:16"])
def test_scheduler_addresses_accepted(spec):
    assert check_scheduler(spec) == spec


@pytest.mark.parametrize("spec", ["", "127.0.0.1:8786", "local:", "local:0", "local:-1", "http://x:1", "local:2 x"])
def test_bad_scheduler_is_one_line(spec):
    with pytest.raises(ClusterError) as e:
        check_scheduler(spec)
    assert "\n" not in str(e.value) and "tcp://" in str(e.value)


def test_missing_dask_says_how_to_install(monkeypatch, tmp_path):
    """Without dask.distributed, --scheduler fails with one line naming the extra to install."""
    from backproplab import cluster

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ModuleNotFoundError
    with pytest.raises(ClusterError, match=r"backproplab\[cluster\]"):
        with cluster.connect("local:1"):
            pass


def test_cli_rejects_a_bad_scheduler(tmp_path):
    from conftest import run_cli

    proc = run_cli("grade", "hw1-gradient-descent", "--course", tmp_path, "--scheduler", "localhost")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("backproplab: error: --scheduler 'localhost'")


# ------------------------------------------------------------------ helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaskProcesses:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, as an instructor starts them.

    Each worker runs in a mount namespace where `hidden` (the folder that holds every course of
    the test) is an empty tmpfs: a worker that opened a course file would fail, so results
    identical to the single-machine run prove the workers never read the course directory.
    """

    def __init__(self, root: Path, hidden: Path, workers: int = 2, env: dict | None = None):
        self.root, self.hidden, self.port = root, hidden, free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        self.scheduler = self._start("scheduler", ["dask_scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                                   "--dashboard-address", f"127.0.0.1:{free_port()}"])
        self.workers = [self.add_worker(env) for _ in range(workers)]

    def _start(self, name: str, args: list[str], env: dict | None = None, hide: bool = False) -> subprocess.Popen:
        cmd = [sys.executable, "-m", f"distributed.cli.{args[0]}", *args[1:]]
        if hide:  # --die-with-parent: killing the bwrap process kills the worker inside it
            cmd = [shutil.which("bwrap"), "--dev-bind", "/", "/", "--tmpfs", str(self.hidden), "--die-with-parent",
                   "--", *cmd]
        log = open(self.root / f"{name}-{time.monotonic_ns()}.log", "w")
        # The workers run in a folder of their own: they are never told where the course is.
        return subprocess.Popen(cmd, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env or dict(os.environ))

    def add_worker(self, env: dict | None = None) -> subprocess.Popen:
        # --no-nanny: a killed worker stays dead (a nanny would restart it); one thread each.
        return self._start("worker", ["dask_worker", self.address, "--nthreads", "1", "--no-nanny",
                                      "--dashboard-address", f"127.0.0.1:{free_port()}"], env, hide=True)

    def wait_for(self, n: int, timeout: float = 90.0) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(n, timeout=timeout)

    def descendants(self) -> list:
        import psutil

        out = []
        for proc in [self.scheduler, *self.workers]:
            try:
                out += [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        return out

    def close(self) -> None:
        """SIGTERM every process, as an instructor's Ctrl-C would; all of them, and all they
        started (sandboxes), must be gone within a few seconds."""
        import psutil

        everything = self.descendants()
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:  # the worker inside bwrap (which forwards no signal), then bwrap
                for child in psutil.Process(proc.pid).children():
                    child.send_signal(signal.SIGTERM)
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(f"{proc.args[2]} did not exit on SIGTERM")
        gone, alive = psutil.wait_procs(everything, timeout=10)
        assert not alive, f"left behind: {[p.cmdline()[:3] for p in alive if p.is_running()]}"


def sees_nothing_of(client, folder: Path) -> bool:
    """True if no worker of `client` can see anything in `folder`."""
    return not any(client.run(lambda: os.listdir(folder)).values())


@pytest.fixture
def dask_processes(tmp_path, tmp_path_factory):
    procs = DaskProcesses(tmp_path_factory.mktemp("dask"), hidden=tmp_path)
    try:
        procs.wait_for(2)
        yield procs
    finally:
        procs.close()


def hw4_course(root: Path, n: int) -> Path:
    """hw4 (coding and hand problems) for `n` students with the demo's submissions: reference
    answers, named mistakes, and hostile ones (not a notebook, tampered metadata, an infinite
    loop, code that reads the answer key)."""
    course = root / "course"
    students = [f"s{i:03d}" for i in range(n)]
    generate(HW4, course, students, jobs=1)
    layout = Layout(course.resolve(), HW4)
    make_submissions(layout, students, lambda s, p: solve(HW4, course, s, p), seed=3)
    return course


def copy_course(course: Path, dest: Path) -> Path:
    shutil.copytree(course, dest, symlinks=True)
    return dest


def results(course: Path, assignment: str) -> dict[str, dict]:
    """student -> results.json without its timing (the one field that differs between runs)."""
    out = {}
    for path in sorted(course.glob(f"autograded/*/{assignment}/results.json")):
        data = json.loads(path.read_text())
        data.pop("seconds")
        out[data["student"]] = data
    return out


def submission_rows(course: Path, assignment: str) -> list[str]:
    """The student of every submission row of `assignment` in gradebook.db (plain SQL)."""
    with sqlite3.connect(course / "gradebook.db") as db:
        return [s for (s,) in db.execute(
            "SELECT sa.student_id FROM submitted_assignment sa JOIN assignment a ON sa.assignment_id = a.id "
            "WHERE a.name = ?", (assignment,))]


def assert_same_grading(ours: Path, reference: Path, assignment: str) -> None:
    mine, theirs = results(ours, assignment), results(reference, assignment)
    assert mine.keys() == theirs.keys() and mine
    for student in theirs:
        assert mine[student] == theirs[student], student
    assert gradebook_scores(ours, assignment) == gradebook_scores(reference, assignment)
    rows = submission_rows(ours, assignment)
    assert sorted(rows) == sorted(set(rows)) == sorted(theirs)  # exactly one row per graded submission
    for student in theirs:
        a = ours / "feedback" / student / assignment / "feedback.html"
        b = reference / "feedback" / student / assignment / "feedback.html"
        assert a.read_bytes() == b.read_bytes(), student


def generated_files(course: Path, assignment: str) -> dict[str, bytes]:
    """Every file generate wrote, but the gradebook (SQLite pages differ run to run)."""
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(course.rglob("*"))
            if p.is_file() and p.name != "gradebook.db"}


# ------------------------------------------------------------------ LocalCluster


@pytest.mark.slow
def test_hand_grading_on_a_local_cluster_is_the_single_machine_grading(tmp_path_factory, tmp_path):
    """hw1 (hand answers, a copier, a planted slip, a broken file, a stranger's folder) graded on a
    LocalCluster of 2 worker processes: the same results.json, copying flags included (they are
    computed at the client over the whole class), gradebook and feedback as the local pool's."""
    course = graded_course(tmp_path_factory)
    again = ungraded_copy(course.root, tmp_path / "again")
    summary = grade_assignment(HW1, again, scheduler="local:2")
    assert summary.graded + len([e for e in summary.errors if e[0] != "stranger"]) == len(results(course.root, HW1))
    assert_same_grading(again, course.root, HW1)
    copier = results(again, HW1)["s06"]
    assert any("possible copying" in f for p in copier["problems"] for f in p["flags"])


@pytest.mark.slow
def test_code_grading_on_a_local_cluster_is_the_single_machine_grading(tmp_path):
    """hw4 with the demo's honest, mistaken and hostile submissions: each Dask worker grades in
    its own bubblewrap sandbox, with the same scores and messages as the local pool."""
    course = hw4_course(tmp_path, 10)
    dask = copy_course(course, tmp_path / "dask")
    grade_assignment(HW4, course, workers=2)
    summary = grade_assignment(HW4, dask, scheduler="local:2")
    assert summary.isolation == "bubblewrap + seccomp"
    assert_same_grading(dask, course, HW4)
    assert {r["isolation"] for r in results(dask, HW4).values() if r["status"] == "graded"} == {"bubblewrap + seccomp"}
    again = grade_assignment(HW4, dask, scheduler="local:2")  # nothing new: resumes everything
    assert again.graded == 0 and again.resumed == 10


@pytest.mark.slow
def test_generate_on_a_local_cluster_writes_the_same_bytes(tmp_path):
    """hw3 (plots, sympy keys) for 6 students: every file the same as the single-machine run."""
    students = [f"s{i}" for i in range(6)]
    generate("hw3-optimizers", tmp_path / "one", students, jobs=1)
    secret = tmp_path / "dask" / ".backproplab"
    secret.mkdir(parents=True)
    shutil.copy(tmp_path / "one" / ".backproplab" / "secret", secret / "secret")
    generate("hw3-optimizers", tmp_path / "dask", students, scheduler="local:2")
    one, dask = generated_files(tmp_path / "one", "hw3"), generated_files(tmp_path / "dask", "hw3")
    assert one.keys() == dask.keys() and len(one) >= 4 * len(students)
    assert [k for k in one if one[k] != dask[k]] == []


# ------------------------------------------------------------------ dask scheduler + dask worker processes


@pytest.mark.slow
def test_grading_and_generating_on_dask_worker_processes(tmp_path, dask_processes):
    """A real `dask scheduler` and two `dask worker` processes: grading and generating give the
    single-machine results and bytes; the workers are never told where the course is."""
    from conftest import run_cli, write_roster

    students = [f"s{i}" for i in range(5)]
    generate(HW4, tmp_path / "one", students, jobs=1)
    (tmp_path / "two" / ".backproplab").mkdir(parents=True)
    shutil.copy(tmp_path / "one" / ".backproplab" / "secret", tmp_path / "two" / ".backproplab" / "secret")
    roster = write_roster(tmp_path / "roster.csv", students)
    run_cli("generate", HW4, "--course", tmp_path / "two", "--roster", roster, "--scheduler",
            dask_processes.address, check=True)
    one, two = generated_files(tmp_path / "one", HW4), generated_files(tmp_path / "two", HW4)
    assert one.keys() == two.keys() and [k for k in one if one[k] != two[k]] == []

    course = hw4_course(tmp_path / "graded", 8)
    dask = copy_course(course, tmp_path / "on-dask")
    grade_assignment(HW4, course, workers=2)
    proc = run_cli("grade", HW4, "--course", dask, "--scheduler", dask_processes.address)
    assert proc.returncode == 1, proc.stderr  # the hostile "not a notebook" is an error row
    assert "graded 7 submission(s)" in proc.stdout and "bubblewrap + seccomp" in proc.stdout
    assert_same_grading(dask, course, HW4)
    from distributed import Client

    with Client(dask_processes.address) as client:  # the courses are there, but not for the workers
        assert (dask / "gradebook.db").exists() and sees_nothing_of(client, tmp_path)


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path, dask_processes):
    """SIGKILL one of the two workers while it grades: its tasks are retried on the other, the
    run completes, and every submission is graded exactly once (one gradebook row, one
    results.json, the single-machine scores). The killed worker's sandboxes die with it."""
    import psutil

    n = 24
    course = hw4_course(tmp_path, n)
    dask = copy_course(course, tmp_path / "on-dask")
    grade_assignment(HW4, course, workers=2)
    victim = dask_processes.workers[0]
    sandboxes: list = []
    seen = []

    def progress(total: int) -> None:
        seen.append(total)
        if len(seen) == 3:  # both workers have tasks in flight now
            sandboxes.extend(psutil.Process(victim.pid).children(recursive=True))
            assert sandboxes, "the worker's warm sandbox should be running"
            victim.kill()
            victim.wait()

    summary = grade_assignment(HW4, dask, scheduler=dask_processes.address, progress=progress)
    assert victim.returncode == -signal.SIGKILL
    assert len(seen) == n and summary.graded + len(summary.errors) == n
    assert_same_grading(dask, course, HW4)
    gone, alive = psutil.wait_procs(sandboxes, timeout=10)
    assert not alive, "a killed worker's sandbox outlived it"


@pytest.mark.slow
def test_a_killed_client_rerun_grades_only_what_was_not_committed(tmp_path, dask_processes):
    """SIGKILL `backproplab grade --scheduler …` once some submissions are committed: the re-run
    grades the others only, and the course ends as if graded once."""
    from conftest import BACKPROPLAB

    n = 40
    course = hw4_course(tmp_path, n)
    dask = copy_course(course, tmp_path / "on-dask")
    grade_assignment(HW4, course, workers=2)
    client = subprocess.Popen(BACKPROPLAB + ["grade", HW4, "--course", str(dask), "--scheduler",
                                            dask_processes.address], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not list(dask.glob(f"autograded/*/{HW4}/results.json")) and time.monotonic() < deadline:
        assert client.poll() is None, "the client finished before it could be killed"
        time.sleep(0.05)
    client.kill()
    client.wait()
    done = results(dask, HW4)
    assert 0 < len(done) < n
    summary = grade_assignment(HW4, dask, scheduler=dask_processes.address)
    assert summary.resumed == len(done)
    new_errors = len(summary.errors) - sum(r["status"] == "error" for r in done.values())  # old ones are reported again
    assert summary.graded + new_errors == n - len(done)
    assert_same_grading(dask, course, HW4)


@pytest.mark.slow
def test_a_worker_that_cannot_isolate_refuses_work(tmp_path, tmp_path_factory):
    """A worker without bubblewrap (not on its PATH): the run stops with one line before grading
    anything, and that worker leaves the cluster; with weak isolation chosen it grades, and every
    results.json says the code ran in the weak fallback."""
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))  # no /usr/bin: no bwrap
    procs = DaskProcesses(tmp_path_factory.mktemp("dask"), hidden=tmp_path, workers=1, env=env)
    try:
        procs.wait_for(1)
        course = hw4_course(tmp_path, 4)
        with pytest.raises(GradeError) as e:
            grade_assignment(HW4, course, scheduler=procs.address)
        assert "\n" not in str(e.value)
        assert "cannot isolate student code" in str(e.value) and "bwrap" in str(e.value)
        assert "--allow-weak-isolation" in str(e.value)
        assert not list(course.glob("autograded/*/*/results.json"))
        procs.workers[0].wait(timeout=30)  # it refused work by leaving the cluster
        procs.workers = [procs.add_worker(env)]
        procs.wait_for(1)
        summary = grade_assignment(HW4, course, scheduler=procs.address, weak_ok=True)
        assert summary.graded == 3  # one of the demo's submissions is not a notebook
        assert summary.isolation.startswith("weak (fallback")
        graded = [r for r in results(course, HW4).values() if r["status"] == "graded"]
        assert graded and all(r["isolation"].startswith("weak (fallback") for r in graded)
    finally:
        procs.close()

"""Grading on dask.distributed workers (`backproplab grade HW --scheduler …`).

The client (grade.run.grade_assignment) reads each submission's notebook bytes and the
student's key (run.read_data) and ships them as data; a worker grades them in one of its
own warm sandboxes and sends back the result and the hand answers it read. Workers need
the package and bubblewrap, not the course directory. Only the client writes: the
gradebook in batches, then results.json, copying flags over the whole class, feedback.

`GradingPlugin` is a distributed.WorkerPlugin registered for the run: its setup() starts
one sandbox per worker thread (on the worker's own event-loop thread, so the sandboxes'
--die-with-parent ties them to the worker process and nothing outlives it) and checks
that it isolates: a worker where bubblewrap cannot start refuses work (unless weak
isolation was chosen), by leaving the cluster, and a run whose workers refuse at its
start stops with one line. teardown() closes the sandboxes, when the run unregisters
the plugin or the worker closes.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from typing import Any, Iterable, Iterator

from ..assignment import Assignment
from ..cluster import map_unordered
from ..course.fingerprint import course_notebook_owners
from ..course.layout import Layout
from .copying import CopyIndex
from .run import GradeError, Grader, SubmissionData, read_data
from .sandbox import SandboxError

PLUGIN = "backproplab-grading"
logger = logging.getLogger("backproplab.grade")

try:  # the base class when dask.distributed is installed (it is, wherever a plugin is registered)
    from distributed import WorkerPlugin
except ModuleNotFoundError:  # pragma: no cover - the cluster extra is not installed
    WorkerPlugin = object


class IsolationRefused(GradeError):
    """A worker cannot confine student code and weak isolation was not chosen (one line)."""


class GradingPlugin(WorkerPlugin):
    """The sandboxes and the class data of one grading run, on each worker."""

    name = PLUGIN

    def __init__(self, assignment: Assignment, owners: dict[str, str], weak_ok: bool) -> None:
        self.assignment, self.owners, self.weak_ok = assignment, owners, weak_ok
        self.graders: queue.SimpleQueue | None = None
        self.refusal: str | None = None
        self.isolation = ""

    def setup(self, worker: Any) -> None:
        self.graders = queue.SimpleQueue()
        started = []
        needs_code = any(p.type.kind == "code" for p in self.assignment.problems)
        try:
            for _ in range(max(1, worker.state.nthreads)):
                grader = Grader(self.assignment, owners=self.owners, weak_ok=self.weak_ok)
                started.append(grader)
                if needs_code:
                    self.isolation = grader.sandbox().isolation  # started now, on the worker's own thread
        except SandboxError as e:
            for grader in started:
                grader.close()
            self.refusal = f"Dask worker {worker.address} cannot isolate student code: {e}"
            logger.error("%s; this worker leaves the cluster", self.refusal)
            # Refuse work: leave the cluster (its nanny too, so it is not restarted) after
            # answering the registration, which reports the refusal to a client that is waiting.
            asyncio.get_running_loop().call_later(
                0.5, lambda: asyncio.ensure_future(worker.close(nanny=True, reason="cannot isolate student code")))
            raise IsolationRefused(self.refusal) from None
        for grader in started:
            self.graders.put(grader)

    def teardown(self, worker: Any) -> None:
        while self.graders is not None and not self.graders.empty():
            self.graders.get_nowait().close()


def grade_task(data: SubmissionData) -> tuple[dict, dict]:
    """On a worker: grade one submission with one of the worker's sandboxes; (results.json
    record, parsed hand answers by problem key)."""
    from distributed import get_worker

    plugin = get_worker().plugins.get(PLUGIN)
    if plugin is None or plugin.graders is None:
        raise IsolationRefused(f"Dask worker {get_worker().address} has no grading sandbox for this run")
    if plugin.refusal is not None:
        raise IsolationRefused(plugin.refusal)
    grader = plugin.graders.get()
    try:
        graded = grader.grade_data(data)
    finally:
        plugin.graders.put(grader)
    return graded.result.to_json(), graded.answers


def grade_on_cluster(client: Any, assignment: Assignment, layout: Layout, students: Iterable[str],
                     copies: CopyIndex | None, weak_ok: bool) -> Iterator[dict]:
    """The results.json record of each of `students`, graded on the client's workers, copying
    flags added here, in the order they complete. IsolationRefused when a worker cannot isolate."""
    try:
        client.register_plugin(GradingPlugin(assignment, course_notebook_owners(layout, assignment), weak_ok),
                               name=PLUGIN)
    except IsolationRefused as e:
        client.unregister_worker_plugin(PLUGIN)
        raise IsolationRefused(str(e)) from None
    here = Grader(assignment, layout)  # error rows only: never starts a sandbox
    keys: dict[str, Any] = {}  # the keys of what is in flight, for the copying flags

    def items() -> Iterator[tuple[str, SubmissionData]]:
        for student in students:
            data = read_data(layout, student)
            keys[student] = data.key
            yield student, data

    try:
        for student, outcome, error in map_unordered(client, grade_task, items()):
            key = keys.pop(student, None)
            if isinstance(error, IsolationRefused):
                raise IsolationRefused(str(error)) from None
            if error is not None:  # e.g. the submission's task killed every worker it ran on
                yield here.refuse(student, f"grading failed on the Dask workers: {type(error).__name__}: {error}"[:300],
                                  digest=read_data(layout, student).digest).to_json()
                continue
            record, answers = outcome
            if copies is not None and key is not None and answers:
                flags = copies.submission_flags(student, key, answers)
                for problem in record["problems"]:
                    problem["flags"] += flags.get(problem["key"], [])
            yield record
    finally:
        client.unregister_worker_plugin(PLUGIN)  # the workers close their sandboxes

"""`backproplab grade`: every submission of an assignment, in parallel, resumable.

Worker processes each grade one submission at a time against that student's own
key (the student is identified by the submitted/<student_id>/ path only) and run
student code in their own warm sandbox. The parent is the only writer: it records
scores in nbgrader's gradebook and then marks the submission done with an atomic
autograded/<student>/<HW>/results.json. A re-run grades only what has no
results.json matching the submitted file, so a run killed at any point loses
nothing and duplicates nothing. At the end, every graded student's feedback is
written from the gradebook (grade/feedback.py), so it shows manual grades too.

A run that would execute student code first checks that bubblewrap can confine
it; if not, it stops with one line saying why, unless weak isolation was allowed
(`weak_ok`, the command line's --allow-weak-isolation). Every results.json says
how its submission's code was confined. Everything a student controls is made
safe to write (wire.clean) before it reaches results.json, the gradebook or the
feedback page.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..answers import parse_answers
from ..assignment import Assignment
from ..course.layout import Layout, generated, secure_private
from ..course.roster import STUDENT_ID
from ..course.fingerprint import course_notebook_owners
from ..errors import BackproplabError, ConfigError
from ..files import digest, write_json_atomic
from ..key import KeyProblem, UnreadableKey, read_key
from .copying import CopyIndex
from .feedback import write_class_feedback
from .hand import grade_hand
from .result import CheckResult, ProblemResult
from .sandbox.inside.wire import clean
from .submission import NotebookError, WrongNotebook, folder_problem, parse_notebook, read_submission, wrong_notebook

NO_CODE = "none needed: no student code was run (hand answers are parsed, never executed)"

class GradeError(BackproplabError):
    """The run cannot start (one line)."""


@dataclass
class SubmissionResult:
    student: str
    status: str  # "graded" | "error"
    score: float
    max_score: float
    problems: list[ProblemResult] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    digest: str = ""  # sha256 of the submitted notebook this result belongs to
    seconds: float = 0.0
    isolation: str = NO_CODE  # how this submission's code was confined
    wrong_notebook: WrongNotebook | None = None  # not the notebook released to the student (an error row)

    def to_json(self) -> dict[str, Any]:
        """The results.json record, every string in it safe to write (see `safe`)."""
        return safe({
            "student": self.student, "status": self.status, "score": self.score, "max_score": self.max_score,
            "error": self.error, "notes": self.notes, "digest": self.digest, "seconds": round(self.seconds, 4),
            "isolation": self.isolation,
            "wrong_notebook": self.wrong_notebook.to_json() if self.wrong_notebook else None,
            "problems": [p.to_json() for p in self.problems],
        })


def safe(data: Any) -> Any:
    """`data` with every string cleaned (lone surrogates, control characters): it is
    student-controlled in places (error messages, notes) and must never abort a write."""
    if isinstance(data, str):
        return clean(data)
    if isinstance(data, dict):
        return {safe(k): safe(v) for k, v in data.items()}
    if isinstance(data, list):
        return [safe(v) for v in data]
    return data


@dataclass
class GradeSummary:
    assignment: str
    graded: int = 0
    resumed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = ""
    max_score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # every graded submission asked for, resumed too

    def to_json(self) -> dict[str, Any]:
        """`backproplab grade --json`: the run's counts, error rows and the scores."""
        return {"assignment": self.assignment, "graded": self.graded, "resumed": self.resumed,
                "errors": [{"student": s, "error": why} for s, why in self.errors], "missing": self.missing,
                "seconds": round(self.seconds, 3), "isolation": self.isolation, "max_score": self.max_score,
                "scores": dict(sorted(self.scores.items()))}

    def describe(self) -> str:
        lines = [f"graded {self.graded} submission(s) of {self.assignment} in {self.seconds:.1f} s"
                 + (f", {self.resumed} already graded" if self.resumed else "")
                 + (f", {len(self.missing)} not submitted" if self.missing else "")]
        if self.isolation:
            lines.append(f"student code isolation: {self.isolation}")
        for student, why in self.errors:
            lines.append(f"  error  {student}: {why}")
        return "\n".join(lines)


# ------------------------------------------------------------------ one submission


@dataclass
class Grader:
    """What a worker needs to grade any submission of one assignment."""

    assignment: Assignment
    layout: Layout
    copies: CopyIndex | None = None
    owners: dict[str, str] | None = None  # fingerprint -> whose notebook (course.variants.notebook_owners)
    weak_ok: bool = False  # grade with the weaker fallback where bubblewrap cannot start
    _sandbox: Any = None

    def notebook_owners(self) -> dict[str, str]:
        """Whose notebook each fingerprint of the assignment is: the roster's and the source's."""
        if self.owners is None:
            self.owners = course_notebook_owners(self.layout, self.assignment)
        return self.owners

    def sandbox(self):
        if self._sandbox is None:
            from .sandbox import Sandbox

            self._sandbox = Sandbox(weak_ok=self.weak_ok)
        return self._sandbox

    def task_runner(self):
        """Runs a submission's coding tasks; its session starts only when a task needs it."""
        from .code import TaskRunner

        return TaskRunner(_Lazy(self.sandbox))

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None

    def grade(self, student: str, notebook: Path | dict | None = None) -> SubmissionResult:
        """Grade `student`'s submission (their key, their cells); never raises for bad input.

        `notebook` is the submitted file (default: submitted/<student>/<HW>/<HW>.ipynb)
        or an already-loaded notebook dict (nbgrader's autograde hands us one).
        """
        start = time.perf_counter()
        if not isinstance(notebook, dict):
            notebook = notebook or self.layout.submission_dir(student) / self.layout.notebook_name
        result = SubmissionResult(student, "graded", 0.0, self.assignment.points,
                                  digest="" if isinstance(notebook, dict) else digest(notebook))
        try:
            key = read_key(self.layout.key_json(student))
        except UnreadableKey:
            return self._error(result, f"no answer key for {student}: was the assignment generated for them?", start)
        wanted = {p.key for p in key.problems}
        try:
            sub = parse_notebook(notebook, wanted) if isinstance(notebook, dict) else read_submission(notebook, wanted)
        except NotebookError as e:
            return self._error(result, str(e), start)
        result.notes = sub.notes
        result.wrong_notebook = wrong_notebook(sub.raw, student, self.notebook_owners())
        if result.wrong_notebook is not None:  # graded as the student's own variant only when it is theirs
            return self._error(result, result.wrong_notebook.message, start)
        with self.task_runner() as runner:  # one sandbox session for all of this submission's code
            for entry in key.problems:
                source = sub.cells.get(entry.key)
                try:
                    pr = self._grade_problem(student, entry, source, runner)
                except Exception as e:  # a grader bug must cost one problem, not the run
                    pr = ProblemResult(entry.key, entry.points,
                                       error=f"internal grading error: {type(e).__name__}: {e}")
                result.problems.append(pr)
        result.score = round(sum(p.score for p in result.problems), 6)
        result.isolation = self._sandbox.isolation if self._sandbox is not None else NO_CODE
        result.seconds = time.perf_counter() - start
        return result

    def _grade_problem(self, student: str, entry: KeyProblem, source: str | None, runner: Any) -> ProblemResult:
        if entry.code is not None:
            if source is None:
                return ProblemResult(entry.key, entry.points, error="answer cell missing from the notebook",
                                     checks=[CheckResult("code", 0.0, 1.0, "No code cell to grade.")])
            from .code import grade_code

            return grade_code(entry.key, entry.code.task, entry.seed_int, entry.points, source, runner, entry.credit)
        parsed = parse_answers(source) if source is not None else None  # once, for the grade and the copying flags
        pr = grade_hand(entry, parsed)
        if self.copies is not None and parsed is not None:
            pr.flags += self.copies.flags(student, entry, parsed)
        return pr

    def refuse(self, student: str, why: str) -> SubmissionResult:
        """An error result for a submission that is not read at all (a link, say), with the reason."""
        return self._error(SubmissionResult(student, "graded", 0.0, self.assignment.points), why, time.perf_counter())

    def _error(self, result: SubmissionResult, why: str, start: float) -> SubmissionResult:
        result.status, result.error, result.score = "error", why, 0.0
        result.seconds = time.perf_counter() - start
        return result


@dataclass
class _Lazy:
    """A sandbox started on first use (hand-only assignments never start one)."""

    start: Callable[[], Any]

    def session(self, source: str) -> Any:
        return self.start().session(source)


# ------------------------------------------------------------------ the run

_GRADER: Grader | None = None


def _init_worker(grader: Grader) -> None:
    global _GRADER
    _GRADER = grader


def _grade_one(student: str) -> dict:
    assert _GRADER is not None
    return _GRADER.grade(student).to_json()


def check_isolation(assignment: Assignment, weak_ok: bool) -> str:
    """How student code will be confined in this run (NO_CODE for hand-only assignments).

    Starts a sandbox once, so that a machine where bubblewrap cannot start stops
    the run with one line saying why (GradeError) before any submission is
    touched, unless `weak_ok`.
    """
    if not any(p.type.kind == "code" for p in assignment.problems):
        return NO_CODE
    from .sandbox import Sandbox, SandboxError

    try:
        with Sandbox(weak_ok=weak_ok) as box:
            return box.isolation
    except SandboxError as e:
        raise GradeError(str(e)) from None


def find_submissions(layout: Layout, roster: list[str]) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """(students with a submission, error rows for odd entries, roster students without one).

    Every entry of submitted/ that is not a gradable submission of a roster student
    gives one error row (a path-like or unprintable name is shown escaped); only the
    file system is looked at here (links, file types, sizes, notebook names), the
    notebooks themselves are read by the workers.
    """
    found, errors = [], []
    root = layout.submitted_dir
    try:
        entries = sorted(os.listdir(root)) if root.is_dir() else []
    except OSError as e:
        return [], [("submitted/", f"cannot list the submissions: {e.strerror or e}")], list(roster)
    on_roster = set(roster)
    errored: set[str] = set()
    for name in entries:
        path = root / name
        if not STUDENT_ID.fullmatch(name) or ".." in name:  # fullmatch: "$" alone lets a trailing newline in
            errors.append((repr(name)[:60], "submission folder name is not a valid student id; skipped"))
        elif name not in on_roster:
            if path.is_symlink() or not path.is_dir():
                errors.append((name, "not on the roster of this assignment, and not a plain folder; skipped"))
            elif os.path.lexists(path / layout.assignment):
                errors.append((name, "not on the roster of this assignment; skipped"))
        else:
            why = folder_problem(path, layout.assignment)
            if why is None:
                found.append(name)
            elif why:
                errors.append((name, why))
                errored.add(name)
    taken = set(found) | errored
    missing = [s for s in roster if s not in taken]
    return found, errors, missing


def grade_assignment(name: str, course: Path, students: list[str] | None = None, workers: int | None = None,
                     regrade: bool = False, progress: Callable[[int], None] | None = None,
                     weak_ok: bool = False) -> GradeSummary:
    """Grade the submissions of `name` in `course` (all, or only `students`).

    GradeError (one line) when student code would run and bubblewrap cannot
    start, unless `weak_ok`.
    """
    start = time.perf_counter()
    try:
        assignment, layout, roster = generated(name, course)
    except ConfigError as e:
        raise GradeError(str(e)) from None
    found, errors, missing = find_submissions(layout, roster)
    if students is not None:
        found = [s for s in found if s in students]
        missing = [s for s in missing if s in students]
        errors = [e for e in errors if e[0] in students]  # rows about other folders are not asked for
    summary = GradeSummary(assignment.name, errors=list(errors), missing=missing, max_score=assignment.points)

    todo = []
    for s in found:
        done = layout.results_json(s)
        if not regrade and done.exists():
            try:
                stored = json.loads(done.read_text())
                if stored.get("digest") == digest(layout.submission_dir(s) / layout.notebook_name):
                    summary.resumed += 1
                    if stored.get("status") == "error":  # still broken: the re-run reports it again
                        summary.errors.append((s, stored.get("error") or "not graded"))
                    else:
                        summary.scores[s] = float(stored.get("score", 0.0))
                    continue
            except (OSError, json.JSONDecodeError):
                pass
        todo.append(s)

    if todo:
        summary.isolation = check_isolation(assignment, weak_ok)
    secure_private(layout)

    from .gradebook import GradebookWriter

    grader = Grader(assignment, layout, CopyIndex.build(layout, roster, assignment), weak_ok=weak_ok)
    grader.notebook_owners()  # once, before the workers fork
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    def committed(data: dict) -> None:
        # No fsync: this file only marks a submission done after its grades are committed
        # (durably) to the gradebook; if a crash loses it, the re-run regrades that one
        # submission and updates its rows in place.
        write_json_atomic(layout.results_json(data["student"]), data)

    def record(data: dict) -> None:
        summary.isolation = summary.isolation or data.get("isolation", "")
        if data["status"] == "error":
            summary.errors.append((data["student"], data["error"]))
        else:
            summary.graded += 1
            summary.scores[data["student"]] = float(data["score"])
        if progress:
            progress(len(todo))

    with ExitStack() as stack:
        if workers == 1:
            _init_worker(grader)
            stack.callback(grader.close)
            results = map(_grade_one, todo)
        else:
            # The workers start before the gradebook is opened, so importing nbgrader
            # here overlaps with their first submissions.
            pool = stack.enter_context(multiprocessing.get_context("fork").Pool(
                workers, initializer=_init_worker, initargs=(grader,)))
            results = pool.imap_unordered(_grade_one, todo, chunksize=4)
        book = stack.enter_context(GradebookWriter(layout, assignment, on_commit=committed))
        for data in results:
            book.record(data)
            record(data)
    # Every graded student's feedback, written again from the gradebook: a manual score or a
    # comment entered in formgrader since the last run shows there now (unchanged pages are kept).
    write_class_feedback(layout, assignment, students if students is not None else roster, summary.errors)
    summary.seconds = time.perf_counter() - start
    write_json_atomic(layout.run_log, {"errors": summary.errors, "missing": summary.missing,
                                        "graded": summary.graded, "resumed": summary.resumed,
                                        "seconds": round(summary.seconds, 3)})
    return summary

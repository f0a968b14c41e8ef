"""Where things live in a course directory (nbgrader's layout, plus ours).

    nbgrader_config.py, gradebook.db          nbgrader's
    source/HW/HW.ipynb                        instructor notebook (nbgrader source)
    release/HW/<student>/HW.ipynb             each student's own notebook (nothing else in release/HW/)
    release/HW/<student>/handout.html         ... and handout
    submitted/<student>/HW/HW.ipynb           what students hand in
    autograded/<student>/HW/                  graded copies + results.json
    feedback/<student>/HW/feedback.html       per-student feedback
    .backproplab/secret                       course secret (never released; 0600)
    .backproplab/keys/HW/<student>.json|html  answer keys (never released; 0600)
    .backproplab/keys/HW/roster.txt           the roster HW was generated for
    .backproplab/generic/HW/HW.ipynb          nbgrader's generic (unpersonalised) release, for the instructor only
    .backproplab/grade/HW.json                last grade run: error rows, missing students

Every path of a course is a property or method here; nothing else joins them by hand.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..files import write_if_changed

if TYPE_CHECKING:  # assignment.py loads the problem types (sympy): only `generated` needs it
    from ..assignment import Assignment

PRIVATE = Path(".backproplab")  # the course's own files: secret, keys, run logs
SECRET_FILE = PRIVATE / "secret"
RESULTS = "results.json"

SOURCE_STUDENT = "(source)"  # seeds the source notebook; not a valid student id
# A folder holding one of these is a course directory (nbgrader's config and gradebook, our files).
COURSE_MARKERS = ("nbgrader_config.py", "gradebook.db", PRIVATE.name)


def is_course(folder: Path) -> bool:
    """Whether `folder` is a course directory (it holds nbgrader's config or gradebook, or ours)."""
    return any(os.path.lexists(Path(folder) / m) for m in COURSE_MARKERS)


@dataclass(frozen=True)
class Layout:
    course: Path
    assignment: str

    @property
    def notebook_name(self) -> str:
        return f"{self.assignment}.ipynb"

    @property
    def source_notebook(self) -> Path:
        return self.course / "source" / self.assignment / self.notebook_name

    @property
    def release_root(self) -> Path:
        """release/HW/: one folder per student, what the exchange publishes (each to its student only)."""
        return self.course / "release" / self.assignment

    def release_dir(self, student: str) -> Path:
        return self.release_root / student

    def released_notebook(self, student: str) -> Path:
        return self.release_dir(student) / self.notebook_name

    @property
    def generic_dir(self) -> Path:
        """Where nbgrader's generic release of the source notebook is kept: not in release/, where
        an upload to an LMS or the exchange would hand it to students."""
        return self.course / PRIVATE / "generic" / self.assignment

    @property
    def generic_notebook(self) -> Path:
        return self.generic_dir / self.notebook_name

    @property
    def key_dir(self) -> Path:
        return self.course / PRIVATE / "keys" / self.assignment

    def key_json(self, student: str) -> Path:
        return self.key_dir / f"{student}.json"

    def key_html(self, student: str) -> Path:
        return self.key_dir / f"{student}.html"

    @property
    def roster(self) -> Path:
        return self.key_dir / "roster.txt"

    def roster_ids(self) -> list[str]:
        """The students the assignment was last generated for ([] before `generate`)."""
        return self.roster.read_text().split() if self.roster.exists() else []

    @property
    def submitted_dir(self) -> Path:
        return self.course / "submitted"

    def submission_dir(self, student: str) -> Path:
        return self.submitted_dir / student / self.assignment

    def autograded_dir(self, student: str) -> Path:
        return self.course / "autograded" / student / self.assignment

    def results_json(self, student: str) -> Path:
        """What grading found for the student's submission (it also marks the submission done)."""
        return self.autograded_dir(student) / RESULTS

    def feedback_dir(self, student: str) -> Path:
        return self.course / "feedback" / student / self.assignment

    def feedback_html(self, student: str) -> Path:
        return self.feedback_dir(student) / "feedback.html"

    @property
    def run_log(self) -> Path:
        """Summary of the last `grade` run: error rows (including odd folders) and missing students."""
        return self.course / PRIVATE / "grade" / f"{self.assignment}.json"

    @property
    def gradebook(self) -> Path:
        return self.course / "gradebook.db"


def private_dir(course: Path, path: Path) -> Path:
    """Make `path` (course/.backproplab/ or a folder in it) and its missing parents up to
    .backproplab/, each with mode 0700: only the course's owner may enter them."""
    top = Path(course) / PRIVATE
    for d in [top, *reversed([q for q in Path(path).parents if top in q.parents]), Path(path)]:
        if not d.is_dir():
            d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)
        if d == Path(path):
            break
    return Path(path)


def write_private(course: Path, path: Path, text: str) -> None:
    """Write a file of course/.backproplab/ (a key, the roster) with mode 0600 in a 0700 folder.

    The folder is private before the file is written, so the file is never readable by
    others, even for the moment between its atomic write and the chmod."""
    private_dir(course, path.parent)
    write_if_changed(path, text)
    os.chmod(path, 0o600)


def secure_private(layout: Layout) -> None:
    """Make an existing course's private files private (0700 folders, 0600 files): a
    course generated before they were written that way had them world-readable."""
    top = layout.course / PRIVATE
    for root, dirs, files in os.walk(top):  # never follows links
        os.chmod(root, 0o700)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


def course_secret(course: Path, create: bool = True) -> bytes:
    """The course's secret, created once (mode 0600, in a 0700 folder) as course/.backproplab/secret.

    It lives outside source/, release/ and everything students receive; the
    per-student seeds are an HMAC of it (problems/seeds.py).
    """
    path = Path(course) / SECRET_FILE
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    if not create:
        raise NotGenerated(f"no course secret at {path}: run `backproplab generate` first")
    private_dir(course, path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


class NotGenerated(ConfigError):
    """The assignment has not been generated in this course directory."""


def generated(name: str, course: Path) -> tuple[Assignment, Layout, list[str]]:
    """The assignment `name`, its layout in `course` and the roster it was generated for.

    Raises AssignmentError for an unknown assignment, NotGenerated when `generate` has not run.
    """
    from ..assignment import load

    assignment = load(name)
    course = Path(course).resolve()
    layout = Layout(course, assignment.name)
    if not layout.roster.exists():
        raise NotGenerated(f"{assignment.name} has not been generated in {course}: run `backproplab generate` first")
    return assignment, layout, layout.roster.read_text().split()

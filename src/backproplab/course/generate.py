"""`backproplab generate`: a course directory with one variant per student.

Writes the nbgrader source notebook (and runs nbgrader's own generate_assignment
on it, so the gradebook knows the assignment's cells), the roster into the
gradebook, then for every student a released notebook (carrying the fingerprint of
their variant) and handout, and an answer key (JSON + HTML) outside release/.
nbgrader's generic release is kept outside release/ (layout.generic_dir): release/HW/
holds only the students' own folders, which is what an LMS upload or the exchange
(nbgrader_bridge/exchange.py) hands out, each to its own student.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..assignment import Assignment, load
from ..errors import ConfigError
from ..files import write_if_changed
from ..key import dumps_key, make_key
from ..render.html import pages
from ..render.notebook import build_notebook, dumps, validate
from .fingerprint import fingerprint
from .layout import PRIVATE, SOURCE_STUDENT, Layout, course_secret, private_dir, write_private
from .nbgrader_env import gradebook_url, prepare_nbgrader
from .roster import Person
from .variants import student_items


class CourseError(ConfigError):
    """The course directory cannot be used."""


@dataclass
class GenerateSummary:
    assignment: str
    course: Path
    students: int
    files: int


def prepare_course(course: Path) -> Path:
    """Create the course directory if needed; CourseError with one line if it is not writable."""
    course = Path(course)
    try:
        course.mkdir(parents=True, exist_ok=True)
        probe = course / ".backproplab-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise CourseError(f"course directory {course} is not writable: {e.strerror or e}") from None
    return course.resolve()


NBGRADER_CONFIG = '''\
# Written by backproplab generate (once: your edits are kept). nbgrader reads this from the course root.
c = get_config()  # noqa: F821
c.CourseDirectory.root = __file__.rsplit("/", 1)[0]

# nbgrader's exchange (JupyterHub): name the course, and the exchange folder if it is not
# nbgrader's default /usr/local/share/nbgrader/exchange. Students need the same three lines
# and backproplab's exchange classes in their own nbgrader config (see backproplab's docs).
# c.CourseDirectory.course_id = "ml101"
# c.Exchange.root = "/srv/nbgrader/exchange"

try:
    from backproplab.notebook_api import configure_nbgrader as configure
except ModuleNotFoundError as e:  # backproplab not installed here: stock in-kernel grading
    if e.name != "backproplab":
        raise
    # nbgrader's own release_assignment would publish every student's notebook to every
    # student: without backproplab's per-student exchange, releasing through it refuses to run.
    c.ExchangeFactory.release_assignment = "nbgrader.exchange.abc.ExchangeReleaseAssignment"
else:
    # Grade in backproplab's sandbox instead of a kernel that also holds the hidden tests;
    # restore each student's own locked cells; release each notebook to its student only.
    configure(c)
'''


def write_student(course: Path, assignment: Assignment, secret: bytes, student: str) -> int:
    """All files of one student; returns how many were written."""
    layout = Layout(course, assignment.name)
    items = student_items(assignment, secret, student)
    handout, key_page = pages(assignment, student, items)
    notebook = build_notebook(assignment, items, "student", fingerprint(secret, assignment, student))
    write_if_changed(layout.released_notebook(student), dumps(notebook))
    write_if_changed(layout.release_dir(student) / "handout.html", handout)
    key = make_key(assignment, student, ((it.spec, it.seed, it.variant) for it in items))
    write_private(course, layout.key_json(student), dumps_key(key))
    write_private(course, layout.key_html(student), key_page)
    return 4


_WORK: tuple | None = None


def _init(course: Path, name: str, secret: bytes) -> None:
    global _WORK
    _WORK = (course, load(name), secret)


def _work(student: str) -> int:
    assert _WORK is not None
    return write_student(_WORK[0], _WORK[1], _WORK[2], student)


NBGRADER_STAGING = PRIVATE / "nbgrader-release"


def run_nbgrader_generate(course: Path, name: str) -> None:
    """nbgrader's own generate_assignment on our source notebook: validates our metadata and
    records the assignment's cells in gradebook.db (hidden tests included, for autograde).

    nbgrader writes its generic release into a staging folder, which is then copied to
    layout.generic_dir, where only the instructor finds it: with --force nbgrader deletes its
    destination folder and chmods every file under it. A generic notebook that an earlier
    version left in release/HW/ is removed: release/HW/ is what students are handed.
    """
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    prepare_nbgrader()
    staging = course / NBGRADER_STAGING
    shutil.rmtree(staging, ignore_errors=True)  # left over from an interrupted run
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.release_directory = str(NBGRADER_STAGING)
    config.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.html"]
    api = NbGraderAPI(config=config)
    result = api.generate_assignment(name, force=True, create=True)
    if not result.get("success"):
        last = (result.get("error") or result.get("log") or "unknown error").strip().splitlines()[-1]
        raise CourseError(f"nbgrader generate_assignment failed: {last}")
    layout = Layout(course, name)
    released = staging / name
    for path in sorted(released.rglob("*")):
        if path.is_file():
            target = layout.generic_dir / path.relative_to(released)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    shutil.rmtree(staging, ignore_errors=True)
    stale = layout.release_root / layout.notebook_name
    if stale.is_file() and not stale.is_symlink():
        stale.unlink()


def record_students(course: Path, students: list[str], people: dict[str, Person] | None = None) -> None:
    """Put every roster student into gradebook.db, with the names, email and LMS id the roster
    gives (a field the roster leaves empty keeps what the gradebook has), so that nbgrader's
    export and formgrader, and backproplab's exports, show names and list non-submitters.

    nbgrader's Gradebook.update_or_create_student commits per student (an fsync each); the
    same rows are written with its ORM class and committed once.
    """
    prepare_nbgrader()
    from nbgrader.api import Gradebook, Student

    people = people or {}
    with Gradebook(gradebook_url(course)) as gb:
        known = {row.id: row for row in gb.db.query(Student)}
        for student in students:
            row = known.get(student)
            if row is None:
                row = Student(id=student)
                gb.db.add(row)
            person = people.get(student)
            for column, value in vars(person).items() if person else ():
                if value:
                    setattr(row, column, value)
        gb.db.commit()


def write_source(course: Path, assignment: Assignment, secret: bytes) -> None:
    """The instructor's source notebook (what nbgrader's generate_assignment reads) and nbgrader_config.py."""
    layout = Layout(course, assignment.name)
    source_items = student_items(assignment, secret, SOURCE_STUDENT)
    source = build_notebook(assignment, source_items, "source", fingerprint(secret, assignment, SOURCE_STUDENT))
    # Every student's notebook has the layout of these two: validating them once stands for
    # validating each (nbformat's schema check costs more than building a notebook).
    validate(source)
    validate(build_notebook(assignment, source_items, "student"))
    write_if_changed(layout.source_notebook, dumps(source))
    config = course / "nbgrader_config.py"
    if not config.exists():
        config.write_text(NBGRADER_CONFIG)


def generate(name: str, course: Path, students: list[str], jobs: int | None = None, nbgrader: bool = True,
             progress=None, people: dict[str, Person] | None = None) -> GenerateSummary:
    """Generate assignment `name` for `students` into `course`; `people` are the roster's names,
    emails and LMS ids, recorded in the gradebook with every student.

    With several jobs, the worker processes start on the students at once, and this process
    meanwhile writes the source notebook and runs nbgrader's generate_assignment on it (about
    a second on one core).
    """
    assignment = load(name)
    course = prepare_course(course)
    secret = course_secret(course)
    layout = Layout(course, assignment.name)
    private_dir(course, layout.key_dir)  # before any worker writes a key into it
    write_private(course, layout.roster, "\n".join(students) + "\n")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(students)))
    files = 0
    if jobs == 1:
        write_source(course, assignment, secret)
        if nbgrader:
            run_nbgrader_generate(course, assignment.name)
            record_students(course, students, people)
        _init(course, name, secret)
        for s in students:
            files += _work(s)
            if progress:
                progress()
    else:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs, initializer=_init, initargs=(course, name, secret)) as pool:
            done = pool.imap_unordered(_work, students, chunksize=2)  # small chunks: no worker idles at the end
            write_source(course, assignment, secret)
            if nbgrader:
                run_nbgrader_generate(course, assignment.name)
                record_students(course, students, people)
            for n in done:
                files += n
                if progress:
                    progress()
    return GenerateSummary(assignment.name, course, len(students), files + 1)

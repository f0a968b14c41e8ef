"""The `backproplab` command line (DESIGN.md's contract).

Every error is one line on stderr. Exit status 0 on success; 1 for a runtime
failure (`FAILURE`: a file or course that cannot be used, a failing check, a grade
run with error rows, an instructor command in the student install); 2 for a usage
error (`USAGE`: click's own, and an unknown assignment, student, notebook or
course folder named on the command line). `--json` prints one JSON document to
stdout; progress and messages go to stderr.

Only `check` runs in the student build (hatch_build.py), whose install has numpy
and click and none of the instructor's libraries: this module imports nothing
else at import time, and every command imports what it needs when it runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

# jsonschema (imported by nbformat and nbgrader) imports rfc3987_syntax when it is
# installed, which builds an IRI grammar at import time: over a second of every
# command, for a string format nothing here validates. Marked absent, jsonschema
# just leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)

FAILURE = 1
USAGE = 2
COURSE_ENV = "BACKPROPLAB_COURSE"
STUDENT_COMMANDS = ("check",)  # what the student build can run
NO_ARGS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2

EPILOG = f"""\b
Exit status: 0 success; 1 a runtime failure (a file or course that cannot be
used, a failing check, a grade run with error rows, an instructor command in the
student install); 2 a usage error (an unknown option, assignment or student, a
notebook or course folder that does not exist).
\b
The course directory of every command that works on a course (all but check
and demo): --course, else the environment variable {COURSE_ENV}, else the
current directory when it is a course (it holds nbgrader_config.py, gradebook.db
or .backproplab/).
\b
Example:
  backproplab demo
  export {COURSE_ENV}=~/ml-course; backproplab grade hw1-gradient-descent --json
"""


class Fail(click.ClickException):
    """A runtime failure: `backproplab: error: ...` on one line, exit status 1."""

    exit_code = FAILURE


def one_line(e: click.ClickException) -> str:
    """The error as the one line we print; a usage error points at the command's --help."""
    line = f"backproplab: error: {e.format_message()}"
    ctx = getattr(e, "ctx", None)
    if isinstance(e, click.UsageError) and ctx is not None:
        line += f" (see '{ctx.command_path} --help')"
    return line


class Commands(click.Group):
    """The command group: every BackproplabError a command raises becomes one `Fail` line, and
    every error (click's usage errors too) is printed as one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra: Any):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NO_ARGS_HELP as e:  # `backproplab` alone: the help, as click shows it
            e.show()
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(one_line(e), err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("backproplab: aborted", err=True)
            sys.exit(FAILURE)
        sys.exit(rv if isinstance(rv, int) else 0)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, cmd, rest = super().resolve_command(ctx, args)
        from .paths import student_build

        if cmd is not None and name not in STUDENT_COMMANDS and student_build() and not {"-h", "--help"} & set(rest):
            raise Fail(f"`backproplab {name}` is an instructor command: this is the student install, which runs "
                       "`backproplab check` only (instructors: pip install backproplab)")
        return name, cmd, rest

    def invoke(self, ctx: click.Context):
        from .errors import BackproplabError

        try:
            return super().invoke(ctx)
        except BackproplabError as e:
            raise Fail(str(e)) from None
        except ModuleNotFoundError as e:  # an install without the instructor's libraries
            if (e.name or "").split(".")[0] == "backproplab":
                raise
            raise Fail(f"this command needs the Python package {e.name!r}, which this install lacks "
                       "(instructors: pip install backproplab)") from None


def emit(data: Any) -> None:
    """The one JSON document of a `--json` run, on stdout."""
    click.echo(json.dumps(data, indent=1))


def progress_bar(total: int, what: str):
    """A rich progress bar on stderr (quiet when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    return Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


class AssignmentParam(click.ParamType):
    """A built-in assignment's name, or the path of a folder holding an assignment.toml."""

    name = "assignment"

    def convert(self, value, param, ctx):
        from .assignment import AssignmentError, find_spec

        try:
            find_spec(value)
        except AssignmentError as e:
            self.fail(str(e), param, ctx)
        return value


def _default_course(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    if value is not None:
        return value
    from .course.layout import is_course

    if is_course(Path.cwd()):
        return Path.cwd()
    raise click.UsageError(f"no course directory: pass --course DIR, set {COURSE_ENV}, "
                           "or run the command inside a course directory", ctx)


def course_option(exists: bool = True):
    """--course: the option, else $BACKPROPLAB_COURSE, else the current directory when it is a course."""
    return click.option("--course", type=click.Path(path_type=Path, file_okay=False, exists=exists),
                        envvar=COURSE_ENV, show_envvar=True, callback=_default_course,
                        help="The course directory (nbgrader layout); default: the current directory "
                             "when it is a course." + ("" if exists else " Created when missing."))


ASSIGNMENT = click.argument("assignment", type=AssignmentParam())
JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document to stdout instead of text.")
WEAK = click.option("--allow-weak-isolation", "weak_ok", is_flag=True,
                    help="Where bubblewrap cannot start, run student code in the weaker fallback "
                         "(no file system or network isolation; see docs/sandbox.md) instead of refusing.")


def _students(course: Path, assignment: str, student: str | None) -> list[str]:
    from .course.layout import generated

    ids = generated(assignment, course)[2]
    if student is not None:
        if student not in ids:
            raise click.BadParameter(f"student {student!r} is not on the roster of {assignment}",
                                     param_hint="'--student'")
        return [student]
    return ids


def _scheduler(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from .cluster import ClusterError, check_scheduler

    try:
        return None if value is None else check_scheduler(value)  # before the course is read
    except ClusterError as e:  # about the command line: a usage error (exit 2)
        raise click.UsageError(str(e), ctx=ctx) from None


SCHEDULER = click.option(
    "--scheduler", default=None, metavar="ADDRESS", callback=_scheduler,
    help="Run on dask.distributed: a scheduler's address (tcp://HOST:8786) or local:N for N worker "
         "processes on this machine (see docs/cluster.md). Needs the cluster extra: "
         'pip install "backproplab[cluster]".')


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(package_name="backproplab", help="Show the version and exit.")
def main() -> None:
    """Randomized homework on how neural networks learn: generate per-student
    notebooks with exact keys, and grade submissions securely on nbgrader."""


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per problem type: id, chapter, kind, title, outcome, concept.")
def list_cmd(as_json: bool) -> None:
    """List the built-in assignments and the problem types.

    \b
    Example:
      backproplab list --json
    """
    from . import assignment, problems
    from .problems.variant import OUTCOMES

    reg = problems.registry()
    if as_json:
        emit([{"id": p.id, "chapter": p.chapter, "kind": p.kind, "title": p.title,
               "outcome": p.outcome, "concept": p.concept} for p in reg.values()])
        return
    click.echo("Assignments:")
    for name in assignment.available():
        a = assignment.load(name)
        click.echo(f"  {name:28} {a.title} ({len(a.problems)} problems, {a.points:g} points)")
    click.echo("\nLearning outcomes:")
    for key, text in OUTCOMES.items():
        click.echo(f"  {key:14} {text}")
    click.echo("\nProblem types (concept: a conceptual item, choices or a diagnosis; else computational):")
    for p in reg.values():
        click.echo(f"  ch{p.chapter} {p.kind:4} {p.outcome:14} {'concept' if p.concept else '':7} {p.id:28} {p.title}")


@main.command()
@ASSIGNMENT
@course_option(exists=False)
@click.option("--roster", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="CSV with a student_id column (first_name, last_name, email, lms_user_id go into the gradebook).")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Worker processes (default: all cores).")
@SCHEDULER
def generate(assignment: str, course: Path, roster: Path, jobs: int | None, scheduler: str | None) -> None:
    """Generate one variant of ASSIGNMENT per student, with answer keys.

    \b
    Example:
      backproplab generate hw1-gradient-descent --course ~/ml-course --roster roster.csv
    """
    from .course.generate import generate as run
    from .course.roster import read_roster_students

    roster_students = read_roster_students(roster)
    students = [s.student_id for s in roster_students]
    with progress_bar(len(students), "generating") as bar:
        task = bar.add_task("generate", total=len(students))
        summary = run(assignment, course, students, jobs=jobs, progress=lambda: bar.advance(task),
                      people={s.student_id: s.person for s in roster_students}, scheduler=scheduler)
    click.echo(f"generated {summary.assignment} for {summary.students} students in {summary.course}")
    click.echo(f"  source:   source/{summary.assignment}/  (nbgrader generate_assignment has run)")
    click.echo(f"  students: release/{summary.assignment}/<student_id>/{summary.assignment}.ipynb and handout.html")
    click.echo(f"  generic:  .backproplab/generic/{summary.assignment}/ (nbgrader's unpersonalised notebook: not for students)")
    click.echo(f"  keys:     .backproplab/keys/{summary.assignment}/<student_id>.json and .html (never release these)")


@main.command()
@ASSIGNMENT
@course_option()
@click.option("--student", required=True, help="Student id from the roster.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Where to write the notebook.")
def solve(assignment: str, course: Path, student: str, out: Path) -> None:
    """Write STUDENT's notebook filled with the reference answers (it must score full marks).

    \b
    Example:
      backproplab solve hw1-gradient-descent --course ~/ml-course --student s001 --out solved.ipynb
    """
    from .course.solve import solve as run

    _students(course, assignment, student)
    try:
        run(assignment, course, student, out)
    except OSError as e:
        raise Fail(f"cannot write {out}: {e.strerror or e}") from None
    click.echo(f"wrote {out}")


@main.command()
@click.argument("notebook", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@WEAK
@JSON
def check(notebook: Path, weak_ok: bool, as_json: bool) -> None:
    """Run the public checks of NOTEBOOK (form of hand answers, public tests of code).

    Code cells run with your own rights for your own notebook; in the sandbox when
    the notebook's folder belongs to someone else or is inside a course directory.
    Exit status 1 when a check fails.

    \b
    Example:
      backproplab check hw1-gradient-descent.ipynb
    """
    from .grade.sandbox import SandboxError
    from .student.check import run_checks

    try:
        result = run_checks(notebook, weak_ok=weak_ok)
    except SandboxError as e:
        raise Fail(str(e)) from None
    if as_json:
        emit(result.to_json())
    else:
        for line in result.report():
            click.echo(line)
    sys.exit(0 if result.passed else FAILURE)


@main.command()
@ASSIGNMENT
@course_option()
@click.option("--student", default=None, help="Grade only this student.")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Parallel workers (default: all cores).")
@click.option("--regrade", is_flag=True, help="Grade again what was already graded.")
@SCHEDULER
@WEAK
@JSON
def grade(assignment: str, course: Path, student: str | None, workers: int | None, regrade: bool,
          scheduler: str | None, weak_ok: bool, as_json: bool) -> None:
    """Grade every submission under submitted/<student>/ASSIGNMENT/.

    Exit status 1 when a submission could not be graded (its error row is in the output).

    \b
    Example:
      backproplab grade hw1-gradient-descent --course ~/ml-course --workers 4
    """
    from .grade.run import grade_assignment

    students = _students(course, assignment, student)
    with progress_bar(len(students), "grading") as bar:
        task = bar.add_task("grade", total=None)
        summary = grade_assignment(assignment, course, students=students if student else None,
                                   workers=workers, regrade=regrade, weak_ok=weak_ok, scheduler=scheduler,
                                   progress=lambda total: bar.update(task, total=total, advance=1))
    if as_json:
        emit(summary.to_json())
    else:
        click.echo(summary.describe())
    sys.exit(FAILURE if summary.errors else 0)


@main.command()
@ASSIGNMENT
@course_option()
@click.option("--student", default=None, help="Only this student's feedback.")
def feedback(assignment: str, course: Path, student: str | None) -> None:
    """Write every graded student's feedback again from the gradebook (after a manual grade in formgrader).

    \b
    Example:
      backproplab feedback hw1-gradient-descent --course ~/ml-course
    """
    from .course.layout import generated
    from .grade.feedback import write_class_feedback

    students = _students(course, assignment, student)
    a, layout, _ = generated(assignment, course)
    written = write_class_feedback(layout, a, students)
    if not written:
        raise Fail(f"nothing of {a.name} has been graded in {layout.course}: run `backproplab grade` first")
    click.echo(f"wrote feedback for {len(written)} student(s): feedback/<student_id>/{a.name}/feedback.html")


@main.command()
@ASSIGNMENT
@course_option()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="HTML file (default: reports/ASSIGNMENT.html).")
def report(assignment: str, course: Path, out: Path | None) -> None:
    """Write an HTML report of the graded class, with plots.

    \b
    Example:
      backproplab report hw1-gradient-descent --course ~/ml-course
    """
    from .report.build import write_report

    path = write_report(assignment, course, out)
    click.echo(f"wrote {path}")


@main.command()
@ASSIGNMENT
@course_option()
@click.option("--format", "fmt", type=click.Choice(["csv", "canvas", "gradescope"]), default="csv",
              help="csv (per question), canvas (gradebook import CSV; needs --canvas-assignment-id) or "
                   "gradescope (one results.json per student, for review).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output file (a folder for gradescope); default: exports/ in the course, e.g. --out grades.csv.")
@click.option("--canvas-assignment-id", default=None, metavar="ID",
              help="The Canvas assignment to fill: the number in its address, e.g. 1234 for "
                   ".../courses/56/assignments/1234. Canvas imports into an existing column only by this id.")
@click.option("--roster", type=click.Path(path_type=Path), default=None,
              help="Roster CSV with the students' Canvas identifiers (default: what the gradebook keeps), "
                   "e.g. --roster canvas-roster.csv.")
@click.option("--canvas-id-column", default=None, metavar="COLUMN",
              help="Roster column with each student's Canvas user ID (default lms_user_id), e.g. --canvas-id-column canvas_id.")
@click.option("--sis-user-id-column", default=None, metavar="COLUMN",
              help="Roster column with the SIS User ID (default student_id), e.g. --sis-user-id-column sis_id.")
@click.option("--sis-login-id-column", default=None, metavar="COLUMN",
              help="Roster column with the SIS Login ID (default email), e.g. --sis-login-id-column login.")
@click.option("--upload", is_flag=True,
              help="Canvas only: also post the scores through Canvas's API (token in $CANVAS_API_TOKEN; "
                   "needs backproplab[canvas]), e.g. --upload --canvas-url https://school.instructure.com --canvas-course-id 56.")
@click.option("--canvas-url", default=None, metavar="URL",
              help="Canvas address for --upload (default $CANVAS_API_URL), e.g. --canvas-url https://school.instructure.com.")
@click.option("--canvas-course-id", default=None, metavar="ID",
              help="Canvas course for --upload: the number in .../courses/<id>, e.g. --canvas-course-id 56.")
@JSON
def export(assignment: str, course: Path, fmt: str, out: Path | None, canvas_assignment_id: str | None,
           roster: Path | None, canvas_id_column: str | None, sis_user_id_column: str | None,
           sis_login_id_column: str | None, upload: bool, canvas_url: str | None, canvas_course_id: str | None,
           as_json: bool) -> None:
    """Export grades: per-question CSV, Canvas gradebook CSV, or Gradescope results.json.

    An errored submission is 0 in every format (as in the gradebook); a missing one is empty.

    \b
    Canvas: Grades > Import, then pick the written file.

    \b
    Example:
      backproplab export hw1-gradient-descent --course ~/ml-course --format canvas --canvas-assignment-id 1234 \\
          --roster roster.csv --canvas-id-column canvas_id --sis-login-id-column email
    """
    from .export.formats import CanvasColumns
    from .export.formats import export as run

    named = {"canvas_id": canvas_id_column, "sis_user_id": sis_user_id_column, "sis_login_id": sis_login_id_column}
    columns = CanvasColumns(**{k: v for k, v in named.items() if v is not None},
                            explicit=frozenset(v for v in named.values() if v))
    if fmt == "canvas" and not canvas_assignment_id:
        raise click.UsageError("--format canvas needs --canvas-assignment-id (the <id> in the assignment's Canvas "
                               "address .../assignments/<id>)")
    if upload and fmt != "canvas":
        raise click.UsageError("--upload is for --format canvas")
    if upload and not canvas_course_id:
        raise click.UsageError("--upload needs --canvas-course-id (the <id> in the course's Canvas address .../courses/<id>)")
    path = run(assignment, course, fmt, out, canvas_assignment_id=canvas_assignment_id, roster=roster, columns=columns)
    say = click.echo if not as_json else (lambda line: click.echo(line, err=True))
    say(f"wrote {path}")
    if upload:
        from .export.canvas_upload import upload_class

        summary = upload_class(assignment, course, str(canvas_course_id), str(canvas_assignment_id), roster=roster,
                               columns=columns, url=canvas_url)
        say(summary.describe(str(canvas_assignment_id)))
    if as_json:
        from .report.data import load_class

        grades = load_class(assignment, course)
        emit({"assignment": grades.assignment.name, "format": fmt, "path": str(path), "max_score": grades.max_score,
              "students": [{"student": s.student, "status": s.status, "total": s.total} for s in grades.students]})


VISIBILITY = click.Choice(["hidden", "after_due_date", "after_published", "visible"])


@main.command()
@ASSIGNMENT
@course_option()
@click.option("--roster", type=click.Path(path_type=Path), required=True,
              help="Roster CSV with the column that holds each student's Gradescope email or SID, e.g. --roster roster.csv.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("autograder.zip"), show_default=True,
              help="Where to write the bundle, e.g. --out hw4-autograder.zip.")
@click.option("--match", type=click.Choice(["email", "sid"]), default="email", show_default=True,
              help="Which field of Gradescope's submitter identifies the student, e.g. --match sid.")
@click.option("--roster-column", default=None, metavar="COLUMN",
              help="Roster column holding that email or SID (default: email, or student_id for --match sid), "
                   "e.g. --roster-column school_email.")
@click.option("--hidden-tests", type=VISIBILITY, default="after_due_date", show_default=True,
              help="When students see each check's verdict, e.g. --hidden-tests after_published.")
@click.option("--wheel", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="An instructor wheel of backproplab to ship (default: built from this clone), "
                   "e.g. --wheel dist/backproplab-0.1.0-py3-none-any.whl.")
@click.option("--allow-weak-isolation", "weak_ok", is_flag=True,
              help="Where bubblewrap cannot start in Gradescope's container, grade with the weaker fallback "
                   "(uid 65534, rlimits, seccomp, no file system or network isolation; docs/sandbox.md) instead "
                   "of giving every submission a clear error and 0, e.g. --allow-weak-isolation.")
def gradescope(assignment: str, course: Path, roster: Path, out: Path, match: str, roster_column: str | None,
               hidden_tests: str, wheel: Path | None, weak_ok: bool) -> None:
    """Build a Gradescope autograder zip for ASSIGNMENT (upload it as the assignment's autograder).

    Each submission is matched to its student by Gradescope's email or SID, graded against
    that student's own variant as `backproplab grade` does, and gets a results.json stating
    how its code was isolated. See docs/gradescope.md.

    \b
    Example:
      backproplab gradescope hw4-coding --course COURSE --roster roster.csv --out autograder.zip
    """
    from .export.gradescope import Visibility
    from .export.gradescope_bundle import build_bundle

    summary = build_bundle(assignment, course, out, roster, match=match, roster_column=roster_column,
                           weak_ok=weak_ok, visibility=Visibility(hidden_tests=hidden_tests), wheel=wheel)
    click.echo(summary.describe())


@main.command()
@click.option("--course", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Keep the demo course in this folder (default: a new temporary folder).")
@click.option("--students", type=click.IntRange(1, 1000), default=30, show_default=True,
              help="How many students the demo class has.")
def demo(course: Path | None, students: int) -> None:
    """Run the whole loop on a temporary course: generate, submit, grade, report, export.

    \b
    Example:
      backproplab demo --students 10
    """
    from .demo import run_demo

    try:
        run_demo(course, students, echo=click.echo)
    except Exception as e:  # the demo must end with one clear line, never a traceback
        from .errors import BackproplabError

        raise Fail(f"demo failed: {e}" if isinstance(e, BackproplabError) else
                   f"demo failed: {type(e).__name__}: {e}") from None


if __name__ == "__main__":
    main()

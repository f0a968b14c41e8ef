"""The `backproplab` command line (DESIGN.md's contract).

Every command exits non-zero with a one-line reason on bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# jsonschema (imported by nbformat and nbgrader) imports rfc3987_syntax when it is
# installed, which builds an IRI grammar at import time: over a second of every
# command, for a string format nothing here validates. Marked absent, jsonschema
# just leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)

console = Console(stderr=True)


class Fail(click.ClickException):
    """A one-line error: `backproplab: error: ...`, exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"backproplab: error: {self.message}", err=True)


class Commands(click.Group):
    """The command group: every BackproplabError a command raises becomes one `Fail` line."""

    def invoke(self, ctx: click.Context):
        from .errors import BackproplabError

        try:
            return super().invoke(ctx)
        except BackproplabError as e:
            raise Fail(str(e)) from None


def progress_bar(total: int, what: str):
    """A rich progress bar on stderr (quiet when stderr is not a terminal)."""
    return Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


def _students(course: Path, assignment: str, student: str | None) -> list[str]:
    from .course.layout import generated

    ids = generated(assignment, course)[2]
    if student is not None:
        if student not in ids:
            raise Fail(f"student {student!r} is not on the roster of {assignment}")
        return [student]
    return ids


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="backproplab")
def main() -> None:
    """Randomized homework on how neural networks learn: generate per-student
    notebooks with exact keys, and grade submissions securely on nbgrader."""


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per problem type: id, chapter, kind, title, outcome, concept.")
def list_cmd(as_json: bool) -> None:
    """List the built-in assignments and the problem types."""
    from . import assignment, problems

    from .problems.variant import OUTCOMES

    reg = problems.registry()
    if as_json:
        click.echo(json.dumps([{"id": p.id, "chapter": p.chapter, "kind": p.kind, "title": p.title,
                                "outcome": p.outcome, "concept": p.concept} for p in reg.values()], indent=1))
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
@click.argument("assignment")
@click.option("--course", type=click.Path(path_type=Path), required=True, help="Course directory (nbgrader layout).")
@click.option("--roster", type=click.Path(path_type=Path), required=True, help="CSV with a student_id column.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Worker processes (default: all cores).")
def generate(assignment: str, course: Path, roster: Path, jobs: int | None) -> None:
    """Generate one variant of ASSIGNMENT per student, with answer keys."""
    from .course.generate import generate as run
    from .course.roster import read_roster

    students = read_roster(roster)
    with progress_bar(len(students), "generating") as bar:
        task = bar.add_task("generate", total=len(students))
        summary = run(assignment, course, students, jobs=jobs, progress=lambda: bar.advance(task))
    click.echo(f"generated {summary.assignment} for {summary.students} students in {summary.course}")
    click.echo(f"  source:   source/{summary.assignment}/  (nbgrader generate_assignment has run)")
    click.echo(f"  students: release/{summary.assignment}/<student_id>/{summary.assignment}.ipynb and handout.html")
    click.echo(f"  keys:     .backproplab/keys/{summary.assignment}/<student_id>.json and .html (never release these)")


@main.command()
@click.argument("assignment")
@click.option("--course", type=click.Path(path_type=Path, exists=False), required=True)
@click.option("--student", required=True, help="Student id from the roster.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Where to write the notebook.")
def solve(assignment: str, course: Path, student: str, out: Path) -> None:
    """Write STUDENT's notebook filled with the reference answers."""
    from .course.solve import solve as run

    _students(course, assignment, student)
    try:
        run(assignment, course, student, out)
    except OSError as e:
        raise Fail(f"cannot write {out}: {e.strerror or e}") from None
    click.echo(f"wrote {out}")


@main.command()
@click.argument("notebook", type=click.Path(path_type=Path))
def check(notebook: Path) -> None:
    """Run the public checks of NOTEBOOK (form of hand answers, public tests of code)."""
    from .student.check import check_notebook

    ok = check_notebook(notebook, echo=click.echo)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("assignment")
@click.option("--course", type=click.Path(path_type=Path, exists=False), required=True)
@click.option("--student", default=None, help="Grade only this student.")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Parallel workers (default: all cores).")
@click.option("--regrade", is_flag=True, help="Grade again what was already graded.")
def grade(assignment: str, course: Path, student: str | None, workers: int | None, regrade: bool) -> None:
    """Grade every submission under submitted/<student>/ASSIGNMENT/."""
    from .grade.run import grade_assignment

    students = _students(course, assignment, student)
    with progress_bar(len(students), "grading") as bar:
        task = bar.add_task("grade", total=None)
        summary = grade_assignment(assignment, course, students=students if student else None,
                                   workers=workers, regrade=regrade,
                                   progress=lambda total: bar.update(task, total=total, advance=1))
    click.echo(summary.describe())
    sys.exit(1 if summary.errors else 0)


@main.command()
@click.argument("assignment")
@click.option("--course", type=click.Path(path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="HTML file (default: reports/ASSIGNMENT.html).")
def report(assignment: str, course: Path, out: Path | None) -> None:
    """Write an HTML report of the graded class, with plots."""
    from .report.build import write_report

    path = write_report(assignment, course, out)
    click.echo(f"wrote {path}")


@main.command()
@click.argument("assignment")
@click.option("--course", type=click.Path(path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "canvas", "gradescope"]), default="csv")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output file or folder.")
def export(assignment: str, course: Path, fmt: str, out: Path | None) -> None:
    """Export grades: per-question CSV, Canvas gradebook CSV, or Gradescope results.json."""
    from .export.formats import export as run

    path = run(assignment, course, fmt, out)
    click.echo(f"wrote {path}")


@main.command()
@click.option("--course", type=click.Path(path_type=Path), default=None, help="Keep the demo course here.")
@click.option("--students", type=click.IntRange(1, 1000), default=30)
def demo(course: Path | None, students: int) -> None:
    """Run the whole loop on a temporary course: generate, submit, grade, report, export."""
    from .demo import run_demo

    try:
        run_demo(course, students, echo=click.echo)
    except Exception as e:  # the demo must end with one clear line, never a traceback
        raise Fail(f"demo failed: {type(e).__name__}: {e}") from None


if __name__ == "__main__":
    main()

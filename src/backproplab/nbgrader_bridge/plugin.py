"""Making stock `nbgrader autograde` grade through backproplab's sandbox.

`generate` writes a course nbgrader_config.py that calls `configure(c)`. It puts
`SandboxGrade` where nbgrader's `Execute` was: instead of running the student's
notebook in a kernel that also holds the hidden tests (where a student can patch
numpy or read the tests), it grades the notebook like `backproplab grade` does —
hand answers parsed, never run; code in the sandbox — and writes each problem's
score into its test cell as a numeric result, which nbgrader's SaveAutoGrades
stores as partial credit, with our feedback as the cell's text output. It also
puts RestoreOwnCells (own_cells.py) where OverwriteCells was, RecordResults
(record.py) after SaveAutoGrades, and the per-student exchange (exchange.py).

It refuses links as `backproplab grade` does: nbgrader reads a submitted
notebook that is a symbolic link (to a classmate's submission) and copies every
other submitted file into autograded/ following links (to the course secret, to
a key), from where generate_feedback and release_feedback would hand them out.
A linked notebook or folder is graded 0 with the reason, and every copy nbgrader
made through a link is deleted before anything else reads autograded/. It also
makes every page nbgrader renders sanitise HTML (no student <script> or
onerror in a feedback page), and it grades only under bubblewrap unless the
course's nbgrader_config.py sets `c.SandboxGrade.allow_weak_isolation = True`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor
from traitlets import Bool, Unicode

from ..assignment import load
from ..course.layout import Layout
from .record import RESULT


class SandboxGrade(NbGraderPreprocessor):
    """An nbgrader preprocessor: grade the notebook of resources['nbgrader']['student']."""

    course_root = Unicode("", help="Course directory (default: CourseDirectory.root)").tag(config=True)
    allow_weak_isolation = Bool(False, help="Where bubblewrap cannot start, grade student code in the weaker "
                                "fallback (no file system or network isolation) instead of refusing.").tag(config=True)

    def preprocess(self, nb, resources):
        from ..grade.run import Grader
        from ..grade.submission import folder_problem

        info = resources["nbgrader"]
        student, name = info["student"], info["assignment"]
        root = self.course_root or self.config.CourseDirectory.get("root", ".")
        assignment = load(name)
        layout = Layout(Path(root).resolve(), name)
        remove_linked_copies(layout, student)
        grader = Grader(assignment, layout, weak_ok=self.allow_weak_isolation)
        try:
            if any(p.type.kind == "code" for p in assignment.problems):
                start_or_refuse(grader)
            linked = folder_problem(layout.submitted_dir / student, name)
            if linked:  # a link, or no plain notebook file: refused as `backproplab grade` refuses it, unread
                result = grader.refuse(student, linked)
            else:
                result = grader.grade(student, json.loads(nbformat.writes(nb)))
        finally:
            grader.close()
        resources[RESULT] = result.to_json()  # for RecordResults, once SaveAutoGrades has stored the scores
        by_key = {p.key: p for p in result.problems}
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.cell_type != "code" or not gid.endswith("_test"):
                continue
            problem = by_key.get(gid[: -len("_test")])
            text = result.error or ("\n".join(c.line for c in problem.checks) if problem else "not graded")
            score = problem.score if problem else 0.0
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=text + "\n"),
                nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))}, execution_count=1),
            ]
        return nb, resources


def start_or_refuse(grader) -> None:
    """Start the grader's sandbox now: where bubblewrap cannot start (and weak isolation is not
    allowed) nbgrader then fails this submission with the one-line reason, instead of
    grading it with every coding problem broken."""
    from ..grade.run import GradeError
    from ..grade.sandbox import SandboxError

    try:
        grader.sandbox()
    except SandboxError as e:
        raise GradeError(f"{e} (in nbgrader_config.py: c.SandboxGrade.allow_weak_isolation = True)") from None


def remove_linked_copies(layout: Layout, student: str) -> list[Path]:
    """Delete from autograded/<student>/<HW>/ every file nbgrader copied there through a symbolic
    link in submitted/<student>/<HW>/ (the folder itself, a folder in it, or the file);
    the deleted paths. Nothing reached through a link may end up where students get files."""
    src, dest = layout.submission_dir(student), layout.autograded_dir(student)
    through_link = os.path.islink(layout.submitted_dir / student) or os.path.islink(src)
    removed = []
    for root, _, files in os.walk(dest):
        for name in files:
            copy = Path(root) / name
            rel = copy.relative_to(dest)
            parts = [src.joinpath(*rel.parts[:k]) for k in range(1, len(rel.parts) + 1)]
            if through_link or any(os.path.islink(q) for q in parts):
                copy.unlink()
                removed.append(copy)
    return removed


class KeepLastDuplicate(DeduplicateIds):
    """nbgrader's DeduplicateIds (the last copy of a cell keeps its grade id), except that an
    earlier copy loses its nbgrader metadata entirely. Stock nbgrader leaves `{}` there, which
    its own CheckCellMetadata then rejects as an "old metadata version", failing the whole
    submission of a student who duplicated an answer cell."""

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.metadata.get("nbgrader", None) == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


def configure(c) -> None:
    """From nbgrader_config.py: in Autograde, swap nbgrader's in-kernel Execute for SandboxGrade,
    its DeduplicateIds for KeepLastDuplicate and its OverwriteCells for RestoreOwnCells, and
    record the results after SaveAutoGrades; make the exchange per-student; sanitise student
    HTML in every page nbgrader renders (generate_feedback, the formgrader)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbconvert.preprocessors.sanitize import SanitizeHTML
    from nbgrader.preprocessors import GetGrades
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput, LimitOutput,
                                        OverwriteKernelspec, SaveAutoGrades)

    from .exchange import configure_exchange
    from .own_cells import RestoreOwnCells
    from .record import RecordResults

    c.Autograde.sanitize_preprocessors = [ClearOutput, KeepLastDuplicate, OverwriteKernelspec, RestoreOwnCells,
                                          CheckCellMetadata]
    c.Autograde.autograde_preprocessors = [SandboxGrade, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                                           AssignLatePenalties, RecordResults, CheckCellMetadata]
    configure_exchange(c)
    # Markdown cells and outputs are the student's HTML: <script>, onerror=... would run in the
    # feedback page. bleach (SanitizeHTML) cleans each cell; the exporter's own switch too.
    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, SanitizeHTML]
    c.SanitizeHTML.enabled = True  # nbconvert's preprocessors are off unless enabled
    c.HTMLExporter.sanitize_html = True

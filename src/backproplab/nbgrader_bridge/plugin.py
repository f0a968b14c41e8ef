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
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor
from traitlets import Unicode

from ..assignment import load
from ..course.layout import Layout
from .record import RESULT


class SandboxGrade(NbGraderPreprocessor):
    """An nbgrader preprocessor: grade the notebook of resources['nbgrader']['student']."""

    course_root = Unicode("", help="Course directory (default: CourseDirectory.root)").tag(config=True)

    def preprocess(self, nb, resources):
        from ..grade.run import Grader

        info = resources["nbgrader"]
        student, name = info["student"], info["assignment"]
        root = self.course_root or self.config.CourseDirectory.get("root", ".")
        assignment = load(name)
        grader = Grader(assignment, Layout(Path(root).resolve(), name))
        try:
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
    record the results after SaveAutoGrades; make the exchange per-student."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
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

"""nbgrader's OverwriteCells, with each student's own released notebook as the reference.

Stock OverwriteCells compares every locked cell of a submission with the source
notebook's copy in the gradebook, and on a difference warns "Attribute 'checksum'
for cell pN_test has changed!" and replaces the cell with the source's. For our
notebooks that is wrong twice over: every test cell of the source holds a hidden-
tests region that the released copy lacks (so the checksums never match: nbgrader
issue #1961), and a coding problem's public tests are the student's own variant (so
the autograded notebook, and formgrader, would show the source's numbers).

`RestoreOwnCells` keeps nbgrader's checks of cell types, locked flags and points
(the same for every student) and compares each locked cell with the same cell of
the notebook released to *this* student (release/HW/<student>/HW.ipynb, or rendered
again from the course secret if that file is gone): an untouched cell passes
quietly; a changed one still gets nbgrader's warning and is restored to the
student's own released text. A notebook whose fingerprint says it is not the student's
(a classmate's, the generic one) gets one warning naming whose it is instead of one
per cell; SandboxGrade then gives it its error row. The sandbox grader does not run the test cells, so the
hidden-tests region is not needed in them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nbgrader import utils
from nbgrader.preprocessors import OverwriteCells

from ..assignment import Assignment, load
from ..cell_meta import checksum
from ..course.layout import Layout, course_secret


@dataclass(frozen=True)
class OwnCell:
    source: str
    checksum: str


def _cells_of(nb: dict) -> dict[str, OwnCell]:
    out = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or "grade_id" not in meta:
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        out[meta["grade_id"]] = OwnCell(source, checksum(source, cell["cell_type"], meta))
    return out


def own_cells(layout: Layout, assignment: Assignment, student: str) -> dict[str, OwnCell]:
    """grade_id -> the cell as released to `student`; {} for a student the course has no variant for."""
    released = layout.released_notebook(student)
    if released.is_file() and not released.is_symlink():
        try:
            return _cells_of(json.loads(released.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # rendered again below
    if not layout.key_json(student).exists():
        return {}
    from ..course.fingerprint import fingerprint
    from ..course.variants import student_items
    from ..render.notebook import build_notebook

    secret = course_secret(layout.course, create=False)
    items = student_items(assignment, secret, student, plots=False)  # locked cells have no plots
    return _cells_of(build_notebook(assignment, items, "student", fingerprint(secret, assignment, student)))


class RestoreOwnCells(OverwriteCells):
    """OverwriteCells against the student's own released cells (see the module docstring)."""

    def preprocess(self, nb, resources):
        from ..course.fingerprint import course_notebook_owners
        from ..grade.submission import wrong_notebook

        info = resources["nbgrader"]
        root = Path(self.config.CourseDirectory.get("root", ".")).resolve()
        layout, assignment, student = Layout(root, info["assignment"]), load(info["assignment"]), info["student"]
        self.own = own_cells(layout, assignment, student)
        self.expected: OwnCell | None = None
        self.wrong = wrong_notebook(nb, student, course_notebook_owners(layout, assignment)) if self.own else None
        if self.wrong is not None:
            self.log.warning("%s: %s", student, self.wrong.message)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        self.expected = self.own.get(grade_id) if grade_id is not None else None
        try:
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
        finally:
            own, self.expected = self.expected, None
        if own is not None and "nbgrader" in cell.metadata and "grade_id" in cell.metadata.nbgrader:
            if utils.is_locked(cell):
                cell.source = own.source  # the student's own text (unchanged unless it was tampered with)
            cell.metadata.nbgrader["checksum"] = own.checksum
        return cell, resources

    def report_change(self, name, attr, old, new):
        if attr == "checksum" and self.expected is not None:
            if new == self.expected.checksum or self.wrong is not None:
                return  # the cell as released to this student; or not their notebook at all (said once)
            old = self.expected.checksum
        super().report_change(name, attr, old, new)

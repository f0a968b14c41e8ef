"""After `nbgrader autograde` has graded a notebook through SandboxGrade: the same records as
`backproplab grade` — the gradebook rows with our labelled feedback as the answer cells'
comments, autograded/<student>/<HW>/results.json (so `report` and `export` work after either
route, and `backproplab grade` does not grade the same file again), and feedback.html from
the gradebook."""

from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor

from ..assignment import load
from ..course.layout import Layout
from ..files import digest, write_json_atomic

RESULT = "backproplab_result"  # where SandboxGrade leaves the result in nbgrader's resources


class RecordResults(NbGraderPreprocessor):
    """An nbgrader autograde preprocessor, after SaveAutoGrades: records SandboxGrade's result."""

    def preprocess(self, nb, resources):
        from ..grade.feedback import write_feedback
        from ..grade.gradebook import GradebookWriter

        data = resources.get(RESULT)
        if data is None:
            return nb, resources
        info = resources["nbgrader"]
        root = Path(self.config.CourseDirectory.get("root", ".")).resolve()
        assignment = load(info["assignment"])
        layout = Layout(root, assignment.name)
        data["digest"] = digest(layout.submission_dir(data["student"]) / layout.notebook_name)

        def committed(done: dict) -> None:
            write_json_atomic(layout.results_json(done["student"]), done)

        with GradebookWriter(layout, assignment, on_commit=committed) as book:
            book.record(data)
        write_feedback(layout, assignment, data["student"])
        return nb, resources

"""`backproplab export --format canvas --upload`: the same scores, posted through Canvas's API.

canvasapi (the optional `canvas` extra: `pip install 'backproplab[canvas]'`) posts every
row that has a Canvas user ID and a score to the assignment's bulk grade update
(POST /api/v1/courses/:course/assignments/:assignment/submissions/update_grades) and
waits for Canvas's progress job. The token comes only from the environment
(CANVAS_API_TOKEN), never from an option that would stay in a shell's history; the
address from --canvas-url or CANVAS_API_URL. Rows without a Canvas user ID cannot be
posted and are listed; rows without a submission are left alone, as in the CSV import.

Tested against a local stand-in of those three Canvas endpoints (tests/test_canvas_upload.py),
not a real Canvas.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from pathlib import Path

from .formats import CANVAS_ID, CanvasColumns, CanvasRow, ExportError, canvas_rows, load_grades

TOKEN_ENV = "CANVAS_API_TOKEN"
URL_ENV = "CANVAS_API_URL"


@dataclass
class UploadSummary:
    posted: int
    skipped: list[str] = field(default_factory=list)  # students without a Canvas user ID
    state: str = ""  # Canvas's progress state at the end ("completed", ...)

    def describe(self, assignment_id: str) -> str:
        line = f"posted {self.posted} grade(s) to Canvas assignment {assignment_id} ({self.state or 'queued'})"
        if self.skipped:
            line += f"; {len(self.skipped)} without a Canvas user ID not posted: {', '.join(self.skipped[:10])}"
        return line


def upload(rows: list[CanvasRow], course_id: str, assignment_id: str, url: str | None = None,
           token: str | None = None, wait: float = 60.0) -> UploadSummary:
    """Post the scores of `rows` to the Canvas assignment; ExportError (one line) on any failure."""
    try:
        from canvasapi import Canvas
        from canvasapi.exceptions import CanvasException
    except ImportError:
        raise ExportError("--upload needs canvasapi: pip install 'backproplab[canvas]'") from None
    url = url or os.environ.get(URL_ENV)
    token = token or os.environ.get(TOKEN_ENV)
    if not url:
        raise ExportError(f"--upload needs the Canvas address: --canvas-url https://school.instructure.com or ${URL_ENV}")
    if not token:
        raise ExportError(f"--upload needs a Canvas API token in ${TOKEN_ENV} (Canvas: Account > Settings > New access token)")
    for what, value in (("course", course_id), ("assignment", assignment_id)):
        if not CANVAS_ID.fullmatch(str(value or "")):
            raise ExportError(f"the Canvas {what} id must be a number, not {value!r}")
    grades = {r.canvas_id: {"posted_grade": r.score} for r in rows if r.score != "" and CANVAS_ID.fullmatch(r.canvas_id)}
    skipped = [r.student for r in rows if r.score != "" and not CANVAS_ID.fullmatch(r.canvas_id)]
    summary = UploadSummary(len(grades), skipped)
    if not grades:
        return summary
    try:
        assignment = Canvas(url, token).get_course(int(course_id)).get_assignment(int(assignment_id))
        progress = assignment.submissions_bulk_update(grade_data=grades)
        deadline = time.monotonic() + wait
        while progress.workflow_state in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(1.0)
            progress = progress.query()
    except CanvasException as e:
        raise ExportError(f"Canvas refused the upload: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    except OSError as e:  # requests' connection errors are OSErrors
        raise ExportError(f"cannot reach Canvas at {url}: {type(e).__name__}") from None
    summary.state = progress.workflow_state
    if summary.state == "failed":
        raise ExportError(f"Canvas's grade upload job failed: {getattr(progress, 'message', '') or 'no reason given'}")
    return summary


def upload_class(assignment: str, course: Path, course_id: str, assignment_id: str, *, roster: Path | None = None,
                 columns: CanvasColumns = CanvasColumns(), url: str | None = None) -> UploadSummary:
    """Post the graded class of `assignment` in `course` to the Canvas assignment (the CSV export's rows)."""
    return upload(canvas_rows(load_grades(assignment, course), roster, columns), course_id, assignment_id, url)

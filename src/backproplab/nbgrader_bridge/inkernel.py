"""Hidden tests for stock, in-kernel `nbgrader autograde` (no backproplab plugin).

INSECURE by nature: the student's code and these checks share one Python process,
so a student can patch numpy, read this module or fake the result. It exists so
an unmodified nbgrader still grades our notebooks correctly for honest students;
courses should grade with `backproplab grade` or the plugin that `generate`
configures (docs/nbgrader.md).

nbgrader runs the kernel in autograded/<student>/<HW>/, which names the student
and the course, so each student is graded against their own key. Coding
problems are graded as `backproplab grade` grades them: the student's cell is
read from the notebook nbgrader is running (the file in that directory) and
loaded afresh by the grading harness, in this process (`inprocess`); if the
file cannot be read, the functions already defined in the kernel are graded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..answers import Parsed, kernel_value
from ..course.layout import Layout
from ..grade.hand import grade_hand
from ..grade.sandbox.inside.wire import FRAME_HEADER, WireError, decode, encode
from ..key import read_key


def _locate() -> tuple[Path, str, str]:
    here = Path(os.getcwd()).resolve()
    return here.parents[2], here.parent.name, here.name  # course, student, assignment


def _plain_answer(value: Any) -> float | str | list | None:
    """A kernel variable as the plain answer it stands for; None if it is not a number, string or list.

    It goes through the sandbox's codec first, which converts with the base
    classes' own methods: a float or str subclass, or an object whose __eq__ or
    __sub__ lies, cannot pass for a right answer. (Student code in this kernel can
    still patch the codec itself: see the module docstring.)
    """
    try:
        plain = kernel_value(decode(encode(value)[FRAME_HEADER.size:]))  # arrays and tuples become lists
    except WireError:
        return None
    if isinstance(plain, (list, str)):
        return plain
    return float(plain) if isinstance(plain, (int, float)) else None


def _notebook_path(here: Path, assignment: str) -> Path | None:
    """The notebook nbgrader is running in `here` (the kernel runs beside it), or None."""
    path = here / Layout(here, assignment).notebook_name
    if path.is_file():
        return path
    found = sorted(here.glob("*.ipynb"))  # the student renamed it: nbgrader grades the notebook that is there
    return found[0] if len(found) == 1 else None


def _wrong_notebook(course: Path, student: str, name: str) -> str | None:
    """Why the notebook being autograded is not the one released to `student` (its fingerprint
    names another student, the generic notebook or nobody), or None when it is theirs."""
    import json

    from ..assignment import load
    from ..course.fingerprint import course_notebook_owners
    from ..grade.submission import wrong_notebook

    path = _notebook_path(Path(os.getcwd()), name)
    try:
        nb = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        nb = None
    if not isinstance(nb, dict):
        return None  # nothing to check against: grade as the folder's student
    found = wrong_notebook(nb, student, course_notebook_owners(Layout(course, name), load(name)))
    return found.message if found else None


def _solution_cell(here: Path, assignment: str, key: str) -> str | None:
    """The student's cell `key` in the notebook being autograded, read as `backproplab grade` reads it.

    Grading the cell's text (in a fresh namespace, like the sandbox) rather than
    the kernel's functions gives the same result as `backproplab grade`: the
    same static check for forbidden imports, and no state left over from the
    public tests that ran earlier in this kernel. None if it cannot be read.
    """
    from ..grade.submission import NotebookError, read_submission

    path = _notebook_path(here, assignment)
    if path is None:
        return None
    try:
        return read_submission(path, {key}).cells.get(key)
    except (NotebookError, OSError):
        return None


def grade_problem(key: str, namespace: dict[str, Any]) -> float:
    """Grade problem `key` from the kernel's variables; prints feedback, returns the score."""
    course, student, assignment = _locate()
    why = _wrong_notebook(course, student, assignment)
    if why is not None:  # graded as the student's own variant only when it is theirs
        print(f"Not graded: {why}")
        return 0.0
    entry = read_key(Layout(course, assignment).key_json(student)).problem(key)
    if entry.code is not None:
        from ..grade.code import grade_code
        from ..grade.sandbox.inprocess import InProcessSandbox

        source = _solution_cell(Path(os.getcwd()), assignment, key)  # nbgrader runs the kernel beside the notebook
        result = grade_code(key, entry.code.task, entry.seed_int, entry.points, source,
                            InProcessSandbox(namespace), entry.credit)
    else:
        values, errors = {}, {}
        for answer in entry.answers:
            value = namespace.get(answer.name, Ellipsis)
            got = None if value is Ellipsis else _plain_answer(value)
            if value is Ellipsis:
                errors[answer.name] = "not answered"
            elif got is None:
                errors[answer.name] = "is not a number, a list of numbers or a string"
            else:
                values[answer.name] = got
        result = grade_hand(entry, Parsed(values, errors))
    for c in result.checks:
        print(c.message)
    return result.score

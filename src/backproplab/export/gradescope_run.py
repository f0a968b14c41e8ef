"""Inside Gradescope's container: grade one submission, write results/results.json.

`run_autograder` (bundle_scripts/) runs `python -m backproplab.export.gradescope_run`
as root, once per submission, in a fresh container. In order:

1. read the bundle's config, the submitter (submission_metadata.json's `users`) and the
   map from their email or SID to a student id; read that student's key and the notebook
   fingerprints; then delete the bundle's private folder (every key, the map) from the
   container, before any student code runs;
2. find the notebook in /autograder/submission (<HW>.ipynb, or the only .ipynb there);
3. check that student code can be isolated: bubblewrap, or the weaker fallback only when
   the instructor allowed it when building the bundle; otherwise nothing is graded and
   results.json says why (score 0), never a silent fallback;
4. grade it with the same Grader `backproplab grade` uses (the student's own key and
   variant, the same sandbox and checks), and write Gradescope's results.json
   (export/gradescope.py), which states the isolation used.

Anything that goes wrong still ends in a results.json with a clear message: a student
is never left without a result, and an instructor reads the reason in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..assignment import load
from ..course.layout import Layout, write_private
from ..errors import BackproplabError, SubmissionError
from ..files import write_json_atomic
from .gradescope import Visibility, refusal_json, results_json
from .gradescope_bundle import ASSIGNMENT_DIR, CONFIG, PRIVATE, normalise

ROOT_ENV = "BACKPROPLAB_AUTOGRADER_ROOT"


class NotMatched(SubmissionError):
    """The submission cannot be tied to exactly one student of the bundle (one line)."""


@dataclass
class Private:
    """What the runner keeps of the bundle's private folder (the submitter's own part only)."""

    student: str
    key: str  # the student's key file, as text
    owners: dict[str, str]  # fingerprint -> whose notebook


def read_private(source: Path, config: dict[str, Any], metadata: dict[str, Any]) -> Private:
    """The submitter's student id and key, and the fingerprints; NotMatched when no (or more
    than one) student of the bundle is the submitter."""
    private = source / PRIVATE
    students = json.loads((private / "students.json").read_text())
    owners = json.loads((private / "owners.json").read_text())
    field_name = config["match"]["field"]
    users = metadata.get("users") if isinstance(metadata, dict) else None
    if not isinstance(users, list) or not users:
        raise NotMatched("submission_metadata.json names no submitter")
    found = []
    for user in users:
        value = normalise(field_name, user.get(field_name, "") if isinstance(user, dict) else "")
        if value and value in students:
            found.append(students[value])
    found = list(dict.fromkeys(found))
    if not found:
        shown = ", ".join(str(u.get(field_name) or "(none)") for u in users if isinstance(u, dict))
        raise NotMatched(f"your Gradescope {field_name} ({shown}) is not on this assignment's roster: "
                         "please tell your instructor")
    if len(found) > 1:
        raise NotMatched("a group submission cannot be graded: every student has their own variant of this "
                         "assignment; each student must submit their own notebook")
    return Private(found[0], (private / "keys" / f"{found[0]}.json").read_text(), owners)


def forget_private(source: Path) -> None:
    """Delete every key and the roster map from the container (before any student code runs)."""
    shutil.rmtree(source / PRIVATE, ignore_errors=True)


def find_notebook(submission: Path, assignment: str) -> Path:
    """The submitted notebook: <HW>.ipynb anywhere in the submission, else its only .ipynb."""
    if not submission.is_dir():
        raise SubmissionError("nothing was submitted (no submission folder)")
    notebooks = sorted(p for p in submission.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts and not p.is_symlink())
    named = [p for p in notebooks if p.name == f"{assignment}.ipynb"]
    if len(named) == 1:
        return named[0]
    if len(notebooks) == 1:
        return notebooks[0]
    if not notebooks:
        raise SubmissionError(f"no notebook was submitted: upload your {assignment}.ipynb")
    raise SubmissionError(f"{len(notebooks)} notebooks were submitted and none is named {assignment}.ipynb: "
                          f"upload only your {assignment}.ipynb")


def grade_submission(root: Path) -> dict[str, Any]:
    """Grade the submission of the Gradescope tree at `root`; Gradescope's results.json as a dict."""
    start = time.perf_counter()
    source = root / "source"
    config = json.loads((source / CONFIG).read_text())
    visibility = Visibility(**config.get("visibility", {}))
    assignment = load(str(source / ASSIGNMENT_DIR / config["assignment"]))
    weak_ok = bool(config.get("allow_weak_isolation"))

    def refuse(why: str) -> dict[str, Any]:
        return refusal_json(assignment, why, visibility=visibility, execution_time=time.perf_counter() - start)

    try:
        metadata = json.loads((root / "submission_metadata.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        forget_private(source)
        return refuse(f"the submission's metadata cannot be read ({e}): please tell your instructor")
    try:
        mine = read_private(source, config, metadata)
    except (OSError, json.JSONDecodeError):
        forget_private(source)
        return refuse("this autograder's private files are missing (was it run twice in one container?): "
                      "please tell your instructor")
    except NotMatched as e:
        forget_private(source)
        return refuse(str(e))
    forget_private(source)
    try:
        notebook = find_notebook(root / "submission", assignment.name)
    except SubmissionError as e:
        return refuse(str(e))

    from ..grade.run import NO_CODE, GradeError, Grader, check_isolation

    try:
        isolation = check_isolation(assignment, weak_ok)
    except GradeError as e:
        from ..grade.sandbox.launcher import WEAK_HINT

        why = str(e).replace(f"; {WEAK_HINT}", "")  # the hint is for the instructor's command line
        return refuse(f"your code could not be isolated, so it was not run and nothing was graded ({why}); "
                      "this autograder was built without --allow-weak-isolation. Please tell your instructor.")
    with tempfile.TemporaryDirectory(prefix="backproplab-") as tmp:  # 0700: the key is root's only
        layout = Layout(Path(tmp), assignment.name)
        write_private(layout.course, layout.key_json(mine.student), mine.key)
        grader = Grader(assignment, layout, owners=mine.owners, weak_ok=weak_ok)
        try:
            result = grader.grade(mine.student, notebook)
        finally:
            grader.close()
    record = result.to_json()
    if record.get("isolation") == NO_CODE:  # an error before any code ran: say what it would have had
        record["isolation"] = isolation
    return results_json(assignment, record, visibility=visibility, execution_time=time.perf_counter() - start)


def run(root: Path) -> dict[str, Any]:
    """grade_submission, and results/results.json written whatever happens."""
    try:
        results = grade_submission(root)
    except BackproplabError as e:
        results = {"score": 0, "output": f"The autograder could not run: {e}. Please tell your instructor.",
                   "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    except Exception as e:  # an autograder bug must still give the student a result and the instructor a reason
        results = {"score": 0, "output": f"The autograder failed ({type(e).__name__}): please tell your instructor.",
                   "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
        print(f"backproplab gradescope runner: internal error: {type(e).__name__}: {e}", file=sys.stderr)
    write_json_atomic(root / "results" / "results.json", results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backproplab.export.gradescope_run",
                                     description="Grade the Gradescope submission under ROOT (run by run_autograder).")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get(ROOT_ENV, "/autograder")),
                        help=f"the Gradescope tree (default: ${ROOT_ENV} or /autograder)")
    args = parser.parse_args(argv)
    results = run(args.root)
    tests = results.get("tests", [])
    # Instructor-only stdout (stdout_visibility "hidden" by default): a one-line summary.
    print(f"score {results.get('score')} of {sum(t.get('max_score', 0) for t in tests):g}; "
          f"{sum(t.get('status') == 'passed' for t in tests)}/{len(tests)} tests passed; "
          f"isolation: {results.get('extra_data', {}).get('isolation')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

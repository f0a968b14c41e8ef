"""`backproplab gradescope`: an autograder.zip that grades one submission inside Gradescope.

Gradescope builds an image from the zip (Ubuntu 22.04 by default): it unpacks the zip
into /autograder/source and runs `setup.sh` once, as root; then, for every submission,
a fresh container runs `run_autograder` with the student's files in
/autograder/submission and /autograder/submission_metadata.json, and reads
/autograder/results/results.json.

The zip holds:

    setup.sh, run_autograder           Gradescope's two entry points (bundle_scripts/)
    backproplab-*.whl                  this package, the instructor build (hidden tests, solutions)
    backproplab/config.json            assignment, how users are matched, isolation choice, visibility
    backproplab/assignment/<HW>/       the assignment's spec (a course's own assignment folder too)
    backproplab/private/students.json  Gradescope email or SID -> student id
    backproplab/private/owners.json    notebook fingerprint -> whose notebook it is
    backproplab/private/keys/<id>.json every student's answer key

What keeps the private part away from student code (docs/gradescope.md): setup.sh
makes it root-only (0700/0600); the runner (export/gradescope_run.py), as root and
before any student code runs, reads the submitter's own key and deletes the whole
private folder from the container; student code runs in bubblewrap, which mounts only
the standard library and numpy, or, where the instructor allowed the weaker fallback
when building the bundle, as uid 65534, which cannot read root's 0700 files (setup.sh
also makes the installed hidden tests and solutions root-only).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import backproplab

from ..assignment import Assignment
from ..course.fingerprint import course_notebook_owners
from ..course.layout import generated
from ..course.roster import read_roster_columns
from ..errors import ConfigError
from ..key import UnreadableKey, read_key
from ..paths import data_dir
from .gradescope import Visibility

MATCH_FIELDS = ("email", "sid")  # what submission_metadata.json's users carry that a roster can hold
CONFIG = "backproplab/config.json"
PRIVATE = "backproplab/private"
ASSIGNMENT_DIR = "backproplab/assignment"
SCRIPTS = ("setup.sh", "run_autograder")


class BundleError(ConfigError):
    """The autograder bundle cannot be built (one line)."""


@dataclass
class BundleSummary:
    path: Path
    assignment: str
    students: int
    wheel: str
    unmatched: list[str] = field(default_factory=list)  # roster students without an email/SID
    weak_ok: bool = False

    def describe(self) -> str:
        lines = [f"wrote {self.path}: the Gradescope autograder of {self.assignment} for {self.students} students",
                 f"  package: {self.wheel}",
                 "  isolation: " + ("bubblewrap, else the weaker fallback (--allow-weak-isolation was given)"
                                    if self.weak_ok else "bubblewrap only: where it cannot start, submissions "
                                    "get a clear error and score 0 (see docs/gradescope.md)")]
        if self.unmatched:
            lines.append(f"  no email/SID in the roster for {len(self.unmatched)} student(s) (they cannot be "
                         f"graded on Gradescope): {', '.join(self.unmatched[:10])}")
        return "\n".join(lines)


def normalise(field_name: str, value: str) -> str:
    """A Gradescope user's email or SID as it is compared (emails without case, both stripped)."""
    value = str(value or "").strip()
    return value.casefold() if field_name == "email" else value


def student_map(roster: Path, column: str, field_name: str, students: list[str]) -> tuple[dict[str, str], list[str]]:
    """({normalised email or SID: student id}, students without one) for the generated `students`.

    BundleError when two students share a value (a submission could not tell them apart)."""
    values = read_roster_columns(roster, [column])
    found: dict[str, str] = {}
    unmatched = []
    for sid in students:
        value = normalise(field_name, values.get(sid, {}).get(column, ""))
        if not value:
            unmatched.append(sid)
            continue
        if value in found:
            raise BundleError(f"roster {roster}: students {found[value]!r} and {sid!r} have the same {column} {value!r}")
        found[value] = sid
    if not found:
        raise BundleError(f"roster {roster}: no student of the assignment has a {column}; name the column that holds "
                          f"the Gradescope {field_name} with --roster-column")
    return found, unmatched


def project_root() -> Path | None:
    """The clone this package was built from (it has pyproject.toml): the one it runs from in an
    editable install, else the folder `pip install .` recorded (PEP 610 direct_url.json); None
    when neither is there, e.g. an install from a downloaded wheel."""
    def clone(root: Path) -> bool:
        return (root / "pyproject.toml").is_file() and (root / "src" / "backproplab").is_dir()

    here = Path(backproplab.__file__).resolve().parents[2]
    if clone(here):
        return here
    try:
        origin = json.loads(importlib.metadata.distribution("backproplab").read_text("direct_url.json") or "{}")
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None
    url = urllib.parse.urlparse(origin.get("url", ""))
    if url.scheme != "file" or "vcs_info" in origin or "archive_info" in origin:
        return None
    root = Path(urllib.request.url2pathname(url.path))
    return root if clone(root) else None


def build_wheel(out_dir: Path) -> Path:
    """The instructor wheel of this package, built from its clone with pip (hatchling)."""
    root = project_root()
    if root is None:
        raise BundleError("this backproplab was not installed from a clone, so its wheel cannot be built here: build one in a clone "
                          "with `pip wheel . --no-deps -w dist` and pass it with --wheel")
    env = {**os.environ, "BACKPROPLAB_WHEEL": "instructor"}
    cmd = [sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "-q", "-w", str(out_dir)]
    if importlib.util.find_spec("hatchling") is not None:  # present: no need to fetch the build backend again
        cmd.insert(-4, "--no-build-isolation")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wheels = sorted(out_dir.glob("backproplab-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel written"])[-1]
        raise BundleError(f"building the backproplab wheel failed: {last}")
    return wheels[-1]


def check_wheel(wheel: Path) -> None:
    """BundleError unless `wheel` is an instructor build of backproplab (it carries the hidden tests)."""
    try:
        with zipfile.ZipFile(wheel) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile) as e:
        raise BundleError(f"cannot read the wheel {wheel}: {e}") from None
    if not Path(wheel).name.startswith("backproplab-"):
        raise BundleError(f"{wheel} is not a backproplab wheel")
    if not any(n.startswith("backproplab/_data/autograder/") and not n.endswith("harness.py") for n in names):
        raise BundleError(f"{wheel} is a student build (no hidden tests): build the instructor wheel "
                          "(`pip wheel . --no-deps`, without BACKPROPLAB_WHEEL=student)")


def assignment_folder(name: str, assignment: Assignment) -> Path:
    """The folder holding the assignment's assignment.toml (a course's own folder, or the built-in one)."""
    given = Path(name)
    if (given / "assignment.toml").is_file():
        return given
    return data_dir("assignments") / assignment.name


def _add(z: zipfile.ZipFile, name: str, data: bytes | str, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same inputs, the same zip
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def script(name: str) -> str:
    """The text of one of the bundle's scripts (setup.sh, run_autograder)."""
    return resources.files("backproplab.export").joinpath("bundle_scripts", name).read_text()


def build_bundle(assignment: str, course: Path, out: Path, roster: Path, *, match: str = "email",
                 roster_column: str | None = None, weak_ok: bool = False, visibility: Visibility = Visibility(),
                 wheel: Path | None = None) -> BundleSummary:
    """Write the Gradescope autograder zip of `assignment` (generated in `course`) to `out`.

    Submissions are matched to students by the Gradescope user's `match` field ("email" or
    "sid") against the roster's `roster_column` (default: "email", or "student_id" for sid).
    `weak_ok` records the instructor's choice to grade with the weaker fallback where
    bubblewrap cannot start in Gradescope's container. BundleError (one line) on bad input.
    """
    if match not in MATCH_FIELDS:
        raise BundleError(f"--match must be one of {', '.join(MATCH_FIELDS)}, not {match!r}")
    column = roster_column or ("email" if match == "email" else "student_id")
    a, layout, students = generated(assignment, course)
    users, unmatched = student_map(Path(roster), column, match, students)
    keys = {}
    for sid in students:
        try:
            read_key(layout.key_json(sid))  # the key contract: a bundle never ships a key grading cannot read
        except UnreadableKey as e:
            raise BundleError(f"answer key of {sid} cannot be read ({e}): run `backproplab generate` again") from None
        keys[sid] = layout.key_json(sid).read_bytes()
    owners = course_notebook_owners(layout, a)
    config = {"format": 1, "assignment": a.name, "title": a.title, "points": a.points,
              "match": {"field": match, "roster_column": column},
              "allow_weak_isolation": bool(weak_ok), "visibility": visibility.to_json(),
              "version": backproplab.__version__ if hasattr(backproplab, "__version__") else ""}
    folder = assignment_folder(assignment, a)
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            wheel = build_wheel(Path(tmp))
        check_wheel(Path(wheel))
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(out.name + ".partial")
            with zipfile.ZipFile(partial, "w") as z:
                for name in SCRIPTS:
                    _add(z, name, script(name), 0o755)
                _add(z, Path(wheel).name, Path(wheel).read_bytes(), 0o644)
                _add(z, CONFIG, json.dumps(config, indent=1) + "\n", 0o644)
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and "__pycache__" not in path.parts:
                        _add(z, f"{ASSIGNMENT_DIR}/{a.name}/{path.relative_to(folder).as_posix()}", path.read_bytes(), 0o644)
                _add(z, f"{PRIVATE}/students.json", json.dumps(users, indent=1, sort_keys=True) + "\n", 0o600)
                _add(z, f"{PRIVATE}/owners.json", json.dumps(owners, indent=1, sort_keys=True) + "\n", 0o600)
                for sid, data in keys.items():
                    _add(z, f"{PRIVATE}/keys/{sid}.json", data, 0o600)
            os.replace(partial, out)
        except OSError as e:
            raise BundleError(f"cannot write {out}: {e.strerror or e}") from None
        wheel_name = Path(wheel).name
    return BundleSummary(out, a.name, len(users), wheel_name, unmatched, bool(weak_ok))


def unpack(bundle: Path, source: Path) -> None:
    """Unpack `bundle` into `source` as Gradescope does (/autograder/source), keeping file modes."""
    with zipfile.ZipFile(bundle) as z:
        for info in z.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)

"""What the wheels carry: the instructor's everything, the student's no solution and no hidden test."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import solved_course

REPO = Path(__file__).resolve().parent.parent


def build_wheel(out: Path, kind: str) -> Path:
    env = dict(os.environ, BACKPROPLAB_WHEEL=kind)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, env=env, capture_output=True)
    return next(out.glob("backproplab-*.whl"))


def data_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        return {n.split("backproplab/_data/", 1)[1] for n in z.namelist() if "backproplab/_data/" in n}


@pytest.mark.slow
def test_instructor_wheel_carries_assignments_solutions_and_hidden_tests(tmp_path):
    files = data_files(build_wheel(tmp_path, "instructor"))
    for folder in ("assignments", "solutions", "autograder"):
        on_disk = {str(p.relative_to(REPO)) for p in (REPO / folder).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts}
        assert on_disk and on_disk <= files, folder


@pytest.mark.slow
def test_student_wheel_runs_the_public_checks_without_solutions_or_hidden_tests(tmp_path):
    files = data_files(build_wheel(tmp_path / "dist", "student"))
    assert not any(f.startswith("solutions/") for f in files)
    assert {f for f in files if f.startswith("autograder/")} == {"autograder/harness.py"}
    assert any(f.startswith("assignments/hw4-coding/") for f in files)

    # Installed alone (shadowing this checkout), it runs `backproplab check` on a student's notebook.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(next((tmp_path / "dist").glob("*.whl")))], check=True, capture_output=True)
    (tmp_path / "c").mkdir()
    course, layout = solved_course(tmp_path / "c", "hw4-coding", ["ann", "ben"], solved=["ann"])
    env = dict(os.environ, PYTHONPATH=str(target))
    probe = subprocess.run([sys.executable, "-c", "import backproplab, backproplab.paths as p; "
                            "print(backproplab.__file__); print(p.data_dir('solutions').is_dir())"],
                           env=env, capture_output=True, text=True, cwd=tmp_path)
    assert probe.stdout.split() == [str(target / "backproplab" / "__init__.py"), "False"], probe.stderr

    def check(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "backproplab.cli", "check", str(path)], env=env,
                              capture_output=True, text=True, cwd=tmp_path, timeout=300)

    solved = check(layout.submission_dir("ann") / layout.notebook_name)
    assert solved.returncode == 0 and "all public checks pass" in solved.stdout, solved.stdout + solved.stderr
    starter = check(layout.released_notebook("ben"))
    assert starter.returncode != 0 and "not implemented yet" in starter.stdout, starter.stdout + starter.stderr

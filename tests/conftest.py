"""Shared fixtures: a generated course on a small roster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BACKPROPLAB = [sys.executable, "-m", "backproplab.cli"]


def run_cli(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    """Run the real command line in a subprocess."""
    proc = subprocess.run(BACKPROPLAB + [str(a) for a in args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"backproplab {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def write_roster(path: Path, students: list[str]) -> Path:
    path.write_text("student_id,name\n" + "".join(f"{s},Name {s}\n" for s in students))
    return path


@pytest.fixture(scope="session")
def hw1_course(tmp_path_factory) -> Path:
    """hw1 generated for three students, each with a solved submission."""
    course = tmp_path_factory.mktemp("hw1course")
    roster = write_roster(course.parent / "hw1-roster.csv", ["alice", "bob", "carol"])
    run_cli("generate", "hw1-gradient-descent", "--course", course, "--roster", roster, check=True)
    return course

"""Where the built-in course content lives, installed or in a clone."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`assignments`, `solutions` or `autograder`: packaged copy first, else the clone's."""
    packaged = _PACKAGE / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent.parent / name


def student_build() -> bool:
    """Whether this is the student build (hatch_build.py): no reference solutions, no hidden tests,
    and only what the public checks need installed, so only `backproplab check` can run."""
    return not data_dir("solutions").is_dir()

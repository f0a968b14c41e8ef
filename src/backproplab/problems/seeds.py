"""Per-student seeds: HMAC(course secret, assignment, student, problem).

The same inputs always give the same seed, and without the course secret a
student cannot derive anyone's numbers, their own or a classmate's.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE = Path(".backproplab") / "secret"


def variant_seed(secret: bytes, assignment: str, student: str, problem: str) -> int:
    """A 64-bit seed for one student's variant of one problem of one assignment."""
    msg = "\x1f".join((assignment, student, problem)).encode()
    return int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest()[:8], "big")


def course_secret(course: Path, create: bool = True) -> bytes:
    """The course's secret, created once (mode 0600) under `course/.backproplab/`.

    It lives outside source/, release/ and everything students receive.
    """
    path = Path(course) / SECRET_FILE
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    if not create:
        raise FileNotFoundError(f"no course secret at {path}: run `backproplab generate` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())

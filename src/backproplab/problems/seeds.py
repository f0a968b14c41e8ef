"""Per-student seeds: HMAC(course secret, assignment, student, problem).

The same inputs always give the same seed, and without the course secret a
student cannot derive anyone's numbers, their own or a classmate's.
"""

from __future__ import annotations

import hashlib
import hmac


def variant_seed(secret: bytes, assignment: str, student: str, problem: str) -> int:
    """A 64-bit seed for one student's variant of one problem of one assignment."""
    msg = "\x1f".join((assignment, student, problem)).encode()
    return int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest()[:8], "big")

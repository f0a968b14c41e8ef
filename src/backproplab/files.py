"""Writing files safely, and telling files apart: what every stage that writes needs.

Writes are atomic (a temporary file in the same folder, then `os.replace`), so a
run killed mid-write never leaves half a file behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def write_if_changed(path: Path, text: str) -> None:
    """Write atomically, and only when the content differs (keeps mtimes of unchanged files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    """`data` as indented JSON, written atomically (not fsynced: callers that need durability have it elsewhere)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # json.dumps, then one write: json.dump with an indent writes each token on its own,
    # which costs twice as much for a results.json; the bytes are the same.
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def digest(path: Path) -> str:
    """sha256 of the file's bytes, or "" when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""

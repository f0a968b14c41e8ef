"""Reading a submitted notebook defensively: answer cells by the instructor's grade_ids.

Nothing in the file is trusted: points, cell types and checksums come from the
assignment, not from the student's metadata; duplicated cells are reported and
only the first is used; a missing cell scores 0 with a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 5_000_000


class NotebookError(Exception):
    """The submission cannot be read as a notebook (one line)."""


@dataclass
class Submission:
    cells: dict[str, str]  # grade_id -> source of the first code cell with that id
    notes: list[str] = field(default_factory=list)  # what was odd about the notebook
    raw: dict | None = None


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def read_submission(path: Path, wanted: set[str]) -> Submission:
    """The answer cells `wanted` (grade_ids) of the notebook at `path`."""
    path = Path(path)
    try:
        if path.is_symlink():
            raise NotebookError("the notebook is a symbolic link")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise NotebookError(f"notebook too large ({size // 1_000_000} MB; the limit is {MAX_BYTES // 1_000_000} MB)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotebookError(f"no notebook {path.name} in the submission") from None
    except OSError as e:
        raise NotebookError(f"cannot read the notebook: {e.strerror or e}") from None
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise NotebookError("the notebook is not valid JSON (is it a notebook?)") from None
    return parse_notebook(nb, wanted)


def parse_notebook(nb: object, wanted: set[str]) -> Submission:
    """The answer cells `wanted` of an already-loaded notebook (a plain dict)."""
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"not an nbformat 4 notebook (nbformat={nb.get('nbformat') if isinstance(nb, dict) else '?'})")
    cells: dict[str, str] = {}
    notes: list[str] = []
    for cell in nb["cells"]:
        if not isinstance(cell, dict):
            continue
        meta = cell.get("metadata")
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        gid = nbg.get("grade_id") if isinstance(nbg, dict) else None
        if not isinstance(gid, str) or gid not in wanted:
            continue
        if gid in cells:
            notes.append(f"cell {gid} appears more than once; the first one was graded")
            continue
        if cell.get("cell_type") != "code":
            notes.append(f"cell {gid} was changed to {cell.get('cell_type')!r}; its text was read as code")
        cells[gid] = _source(cell)
    for gid in sorted(wanted - cells.keys()):
        notes.append(f"cell {gid} is missing (deleted, or its metadata was changed)")
    return Submission(cells, notes, nb)

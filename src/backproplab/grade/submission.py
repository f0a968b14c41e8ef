"""Reading a submitted notebook defensively: answer cells by the instructor's grade_ids.

Nothing in the file is trusted: points, cell types and checksums come from the
assignment, not from the student's metadata; duplicated cells are reported and
only the last is used (as nbgrader does); a missing cell scores 0 with a message.

Nothing in the submission folder is trusted either: a symbolic link (to another
student's work, to an answer key) is never followed, a named pipe or device is
never opened for reading, and at most MAX_BYTES are read. Every problem is one
line, so a broken submission becomes one error row.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..cell_meta import checksum, notebook_fingerprint
from ..course.layout import SOURCE_STUDENT
from ..errors import SubmissionError

MAX_BYTES = 5_000_000
NOTEBOOK_SUFFIX = ".ipynb"


class NotebookError(SubmissionError):
    """The submission cannot be read as a notebook (one line)."""


@dataclass
class Submission:
    cells: dict[str, str]  # grade_id -> source of the first code cell with that id
    notes: list[str] = field(default_factory=list)  # what was odd about the notebook
    raw: dict | None = None


def _short(value: object, limit: int = 40) -> str:
    """A student-controlled value, safe to put in a one-line message (escaped, capped)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _file_problem(st: os.stat_result, name: str) -> str | None:
    """Why a file with status `st` (from lstat or fstat) cannot be a submitted notebook, or None."""
    if stat.S_ISLNK(st.st_mode):
        return f"{name} is a symbolic link; links are never followed"
    if stat.S_ISDIR(st.st_mode):
        return f"{name} is a folder, not a notebook file"
    if not stat.S_ISREG(st.st_mode):
        return f"{name} is not a regular file (a pipe, socket or device)"
    if st.st_size == 0:
        return f"{name} is an empty file"
    if st.st_size > MAX_BYTES:
        return f"{name} is too large ({st.st_size:,} bytes; the limit is {MAX_BYTES:,})"
    return None


def folder_problem(student_dir: Path, assignment: str) -> str | None:
    """Why submitted/<student>/ cannot be graded for `assignment`, or None when it can.

    Checks only what the file system says (links, file types, sizes, which notebooks are
    there), without reading any file: it runs in the parent for every student. Returns ""
    when the student has not handed this assignment in at all (no <assignment>/ folder).
    """
    expected = f"{assignment}{NOTEBOOK_SUFFIX}"
    try:
        st = os.lstat(student_dir)
    except OSError as e:
        return f"cannot read the submission folder: {e.strerror or e}"
    if stat.S_ISLNK(st.st_mode):
        return "the submission folder is a symbolic link; links are never followed"
    if not stat.S_ISDIR(st.st_mode):
        return "the submission is a file, not a folder"
    hw = student_dir / assignment
    try:
        st = os.lstat(hw)
    except FileNotFoundError:
        return ""  # nothing handed in for this assignment
    except OSError as e:
        return f"cannot read the submission folder: {e.strerror or e}"
    if stat.S_ISLNK(st.st_mode):
        return f"the folder {assignment}/ is a symbolic link; links are never followed"
    if not stat.S_ISDIR(st.st_mode):
        return f"{assignment} is a file, not a folder holding {expected}"
    try:
        names = os.listdir(hw)
    except OSError as e:
        return f"cannot list the submission folder: {e.strerror or e}"
    # Hidden files (.ipynb_checkpoints, editor backups) are not notebooks the student meant to hand in.
    notebooks = _notebooks(names)
    others = [n for n in notebooks if n != expected]
    if expected not in notebooks:
        if not notebooks:
            return f"no notebook {expected} in the submission"
        return (f"no notebook {expected} in the submission; found {', '.join(_short(n) for n in others[:3])}"
                + (" …" if len(others) > 3 else "") + " (rename it if it is the one to grade)")
    # Other notebooks besides the expected one (scratch copies, Untitled.ipynb: nbgrader's submit
    # hands in the whole folder) are not an error: the expected one is graded, as nbgrader does,
    # and read_submission notes the others so that the student and the instructor see it.
    try:
        return _file_problem(os.lstat(hw / expected), expected)
    except OSError as e:
        return f"cannot read {expected}: {e.strerror or e}"


def _notebooks(names: list[str]) -> list[str]:
    """The notebooks among file names; hidden ones (.ipynb_checkpoints, backups) are not handed in."""
    return sorted(n for n in names if n.lower().endswith(NOTEBOOK_SUFFIX) and not n.startswith("."))


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, opened without following a link or blocking on a pipe, at most MAX_BYTES."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotebookError(f"no notebook {path.name} in the submission") from None
    except OSError as e:
        if path.is_symlink():  # O_NOFOLLOW reports a link as ELOOP
            raise NotebookError(f"{path.name} is a symbolic link; links are never followed") from None
        if path.is_dir():
            raise NotebookError(f"{path.name} is a folder, not a notebook file") from None
        raise NotebookError(f"cannot read {path.name}: {e.strerror or e}") from None
    try:
        # fstat on the open descriptor: what we read is what we checked, even if the path changes meanwhile.
        why = _file_problem(os.fstat(fd), path.name)
        if why:
            raise NotebookError(why)
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BYTES:  # grew after the check
            raise NotebookError(f"{path.name} is too large (the limit is {MAX_BYTES:,} bytes)")
        return b"".join(chunks)
    except OSError as e:
        raise NotebookError(f"cannot read {path.name}: {e.strerror or e}") from None
    finally:
        os.close(fd)


def read_submission(path: Path, wanted: set[str]) -> Submission:
    """The answer cells `wanted` (grade_ids) of the notebook at `path`."""
    path = Path(path)
    data = _read_bytes(path)
    if not data.strip():
        raise NotebookError(f"{path.name} is an empty file")
    if b"\x00" in data[:4096]:
        raise NotebookError(f"{path.name} is a binary file, not valid JSON: not a notebook")
    try:
        nb = json.loads(data.decode("utf-8-sig"))  # a BOM (some Windows editors) is harmless
    except UnicodeDecodeError:
        raise NotebookError(f"{path.name} is not UTF-8 text, so not valid JSON: not a notebook") from None
    # ValueError covers JSONDecodeError and integers too long to convert; RecursionError deep nesting.
    except (ValueError, RecursionError):
        raise NotebookError(f"{path.name} is not valid JSON: not a notebook (was it saved from Jupyter?)") from None
    sub = parse_notebook(nb, wanted)
    try:
        others = [n for n in _notebooks(os.listdir(path.parent)) if n != path.name]
    except OSError:
        others = []
    if others:
        sub.notes.append(f"other notebooks in the submission were not graded: {', '.join(_short(n) for n in others[:3])}"
                         + (" …" if len(others) > 3 else ""))
    return sub


def parse_notebook(nb: object, wanted: set[str]) -> Submission:
    """The answer cells `wanted` of an already-loaded notebook (a plain dict).

    What a student may have changed is reported in `notes` and otherwise ignored:
    points, cell types, locked cells and checksums are never read for grading.
    """
    if not isinstance(nb, dict):
        raise NotebookError(f"the file is JSON but not a notebook (a JSON {type(nb).__name__}, not an object)")
    version = nb.get("nbformat")
    if "cells" not in nb and "worksheets" not in nb and version is None:
        raise NotebookError("the file is JSON but not a notebook (no nbformat, no cells)")
    if version != 4:
        shown = version if isinstance(version, int) and not isinstance(version, bool) else _short(version, 20)
        raise NotebookError(f"not an nbformat 4 notebook (nbformat {shown}); open and save it in a current Jupyter")
    if not isinstance(nb.get("cells"), list):
        raise NotebookError("not an nbformat 4 notebook (no list of cells)")
    if not nb["cells"]:
        raise NotebookError("the notebook has no cells")
    cells: dict[str, str] = {}
    seen: dict[str, int] = {}
    order: list[str] = []
    notes: list[str] = []
    changed: list[str] = []
    for cell in nb["cells"]:
        if not isinstance(cell, dict):
            continue
        meta = cell.get("metadata")
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        gid = nbg.get("grade_id") if isinstance(nbg, dict) else None
        if isinstance(gid, str) and gid not in wanted and _locked_cell_changed(cell, nbg):
            changed.append(gid)
        if not isinstance(gid, str) or gid not in wanted:
            continue
        seen[gid] = seen.get(gid, 0) + 1
        if gid not in order:
            order.append(gid)
        if cell.get("cell_type") != "code":
            notes.append(f"cell {gid} was changed to {_short(cell.get('cell_type'), 20)}; its text was read as code")
        # The last copy wins, as in nbgrader's own autograde (DeduplicateIds keeps the last).
        cells[gid] = _source(cell)
        hits = sorted({_short(m.group(0).rstrip("= "), 30) for m in SUSPICIOUS.finditer(cells[gid])})[:4]
        if hits:
            notes.append(f"cell {gid} touches the notebook's machinery ({', '.join(hits)}); "
                         "answers are read by the grader, never run in the notebook")
    for gid, n in seen.items():
        if n > 1:
            notes.append(f"cell {gid} appears {n} times; only the last one was graded")
    if order != sorted(order, key=_natural):
        notes.append(f"answer cells are out of order ({', '.join(order)}): were their grade ids changed? "
                     "Each cell was graded as the problem its grade id names")
    for gid in sorted(set(changed)):
        notes.append(f"locked cell {_short(gid)} was changed (points, grade id, type or text); "
                     "it is not used: grading uses the instructor's copy")
    for gid in sorted(wanted - cells.keys(), key=_natural):
        notes.append(f"cell {gid} is missing (deleted, or its metadata was changed)")
    return Submission(cells, notes, nb)


@dataclass(frozen=True)
class WrongNotebook:
    """A submission that is not the notebook released to its student: one clear error row."""

    kind: str  # "other" (another student's), "generic" (nbgrader's unpersonalised one), "unknown", "missing"
    released_to: str | None  # whose notebook it is (SOURCE_STUDENT for the generic one), when known
    message: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "released_to": self.released_to, "message": self.message}


def wrong_notebook(nb: dict, student: str, owners: dict[str, str]) -> WrongNotebook | None:
    """Why `nb`, handed in by `student`, is not the notebook released to them, or None when it is.

    `owners` maps every fingerprint of the assignment to its student (course.variants.
    notebook_owners: the roster and the source notebook). The fingerprint is an HMAC of the
    course secret, so a student cannot make another notebook carry theirs; a notebook that
    carries a classmate's is that classmate's notebook.
    """
    mine = "hand in the notebook released to you"
    found = notebook_fingerprint(nb)
    if found is None:
        return WrongNotebook("missing", None, "this notebook carries no backproplab fingerprint (metadata.backproplab), "
                                              f"so it is not the notebook released to {student}: not graded; {mine}")
    owner = owners.get(found)
    if owner == student:
        return None
    if owner == SOURCE_STUDENT:
        return WrongNotebook("generic", owner, "this is the unpersonalised notebook (nbgrader's generic release), "
                                               f"not the one released to {student}: not graded; {mine}")
    if owner is not None:
        return WrongNotebook("other", owner, f"this is the notebook released to {owner}, not the one released to "
                                             f"{student}: not graded; {mine}")
    return WrongNotebook("unknown", None, "this notebook's fingerprint matches no notebook released for this "
                                          f"assignment (another course or term, or edited): not graded; {mine}")


# What has no business in an answer cell: hooks into IPython that rewrite later cells or
# hide errors, and monkeypatching numpy (np.allclose = ...). Reported, never run.
SUSPICIOUS = re.compile(r"get_ipython|input_transformers|ast_transformers|showtraceback|set_custom_exc"
                        r"|events\.register|__builtins__|sys\.modules|\b(?:np|numpy)(?:\.\w+)+\s*=(?!=)")


def _natural(gid: str) -> tuple:
    """p2 before p10."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", gid))


def _locked_cell_changed(cell: dict, nbg: dict) -> bool:
    """Does a locked nbgrader cell (a test cell, the header) fail its own checksum?

    The checksum (cell_meta.checksum, as nbgrader computes it) was written when the
    notebook was released; editing the cell's text, type, flags, grade id or points
    without recomputing it shows here.
    """
    solution, grade = bool(nbg.get("solution", False)), bool(nbg.get("grade", False))
    if solution or not (grade or nbg.get("locked", False)):
        return False
    try:
        return nbg.get("checksum") != checksum(_source(cell), str(cell.get("cell_type")), nbg)
    except (KeyError, TypeError, ValueError, OverflowError):
        return True


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""

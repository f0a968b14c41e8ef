"""`backproplab check NOTEBOOK`: what a student can check before submitting.

Hand problems: every answer is present and readable in the required form (the
values are graded only after submission). Coding problems: the public tests of
each test cell, run on the student's own machine.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..answers import form_messages, parse_answers
from ..grade.submission import NotebookError, read_submission

CELL_TIMEOUT_S = 60

__all__ = ["NotebookError", "check_notebook"]


def _forms(test_source: str) -> dict | None:
    """The literal dict passed to check_form(...) in a hand problem's test cell."""
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_form" and node.args:
            try:
                return ast.literal_eval(node.args[0])
            except ValueError:
                return None
    return None


def check_notebook(path: Path, echo: Callable[[str], None] = print) -> bool:
    """Print the public checks of every problem; True when all pass."""
    raw = read_submission(Path(path), set())  # validates the file (size, JSON, nbformat)
    ids = {}
    for cell in raw.raw["cells"]:
        gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if isinstance(gid, str):
            ids.setdefault(gid, "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
    keys = sorted({g[:-5] for g in ids if g.endswith("_test") and g[:-5] in ids}, key=lambda k: int(k[1:]) if k[1:].isdigit() else 0)
    if not keys:
        raise NotebookError("no backproplab problems found (cells with grade ids pN and pN_test)")
    all_ok = True
    for key in keys:
        forms = _forms(ids[f"{key}_test"])
        if forms is not None:
            lines = list(form_messages(parse_answers(ids[key]), forms).values())
            ok = not lines
            echo(f"{'ok  ' if ok else 'FAIL'} {key}: " + ("answers readable, values graded after you submit" if ok else "; ".join(lines)))
        else:
            result = run_pair(key, ids[key], ids[f"{key}_test"])
            ok = result.passed
            echo(f"{'ok  ' if ok else 'FAIL'} {key}: public tests " + ("pass" if ok else "fail"))
            for line in result.output.splitlines():
                echo(f"     {line}")
        all_ok &= ok
    echo("all public checks pass" if all_ok else "some public checks fail")
    return all_ok


@dataclass
class CellCheck:
    """The outcome of one problem's public tests."""

    key: str
    passed: bool
    output: str


def run_pair(key: str, solution: str, tests: str) -> CellCheck:
    """Run a solution cell then its public test cell in a fresh Python process."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / f"{key}.py"
        script.write_text(solution + "\n\n" + tests)
        try:
            proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                                  timeout=CELL_TIMEOUT_S, cwd=tmp)
        except subprocess.TimeoutExpired:
            return CellCheck(key, False, f"timed out after {CELL_TIMEOUT_S} s")
    output = proc.stdout
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit code {proc.returncode}"
        output += ("\n" if output else "") + f"FAILED: {last}"
    return CellCheck(key, proc.returncode == 0, output.strip())

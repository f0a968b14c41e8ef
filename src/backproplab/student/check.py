"""`backproplab check NOTEBOOK`: what a student can check before submitting.

Hand problems: every answer is present and readable in the required form (the
values are graded only after submission). Coding problems: the public tests of
each test cell.

Where those cells run depends on whose notebook it is. A student checking their
own notebook runs its cells with their own rights, in a plain Python process. A
TA checking someone else's submission must not: the cells are untrusted code. So
the cells run in the grading sandbox whenever the notebook's folder belongs to
another user, or the notebook or the current folder is inside a course directory
(where keys, the secret and every submission live). `check_notebook` says which.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..answers import form_messages, parse_answers
from ..course.layout import is_course
from ..grade.submission import NotebookError, read_submission

CELL_TIMEOUT_S = 60

__all__ = ["NotebookCheck", "NotebookError", "ProblemCheck", "check_notebook", "run_checks"]


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


def needs_sandbox(path: Path) -> str | None:
    """Why the cells of the notebook at `path` must run in the sandbox, or None when they are
    the caller's own (their folder is theirs, and neither it nor the current folder is in a
    course directory)."""
    folder = Path(path).resolve().parent
    try:
        owner = folder.stat().st_uid
    except OSError:
        owner = None
    if owner is not None and owner != os.geteuid():
        return "its folder belongs to another user"
    for where in (folder, Path.cwd().resolve()):
        for d in (where, *where.parents):
            if is_course(d):
                return f"{'it' if where == folder else 'the current folder'} is inside a course directory ({d})"
    return None


@dataclass
class ProblemCheck:
    """What the public checks say about one problem: a hand problem's form, or a coding problem's tests."""

    key: str
    kind: str  # "hand" | "code"
    passed: bool
    lines: list[str]  # the reasons a hand answer is not readable, or the public tests' output

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "passed": self.passed, "lines": self.lines}


@dataclass
class NotebookCheck:
    """The public checks of one notebook, and where its code cells ran."""

    notebook: Path
    problems: list[ProblemCheck]
    sandbox: str | None  # why the code cells ran in the sandbox, or None: with the caller's rights
    has_code: bool

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.problems)

    def report(self) -> list[str]:
        """What `backproplab check` prints: where code ran, a line per problem, the verdict."""
        out = []
        if self.has_code:
            out.append(f"code cells run in the sandbox: {self.sandbox}" if self.sandbox else
                       "code cells run with your own rights (your notebook, outside a course directory)")
        for p in self.problems:
            mark = "ok  " if p.passed else "FAIL"
            if p.kind == "hand":
                out.append(f"{mark} {p.key}: " + ("answers readable, values graded after you submit" if p.passed
                                                   else "; ".join(p.lines)))
            else:
                out.append(f"{mark} {p.key}: public tests " + ("pass" if p.passed else "fail"))
                out += [f"     {line}" for line in p.lines]
        out.append("all public checks pass" if self.passed else "some public checks fail")
        return out

    def to_json(self) -> dict[str, Any]:
        """`backproplab check --json`."""
        return {"notebook": str(self.notebook), "passed": self.passed,
                "code_runs": ("sandbox" if self.sandbox else "own rights") if self.has_code else None,
                "sandbox_reason": self.sandbox, "problems": [p.to_json() for p in self.problems]}


def check_notebook(path: Path, echo: Callable[[str], None] = print, weak_ok: bool = False) -> bool:
    """Print the public checks of every problem (`run_checks`); True when all pass."""
    result = run_checks(path, weak_ok)
    for line in result.report():
        echo(line)
    return result.passed


def run_checks(path: Path, weak_ok: bool = False) -> NotebookCheck:
    """The public checks of every problem of the notebook at `path`.

    Code cells run in the sandbox when `needs_sandbox` says so (SandboxError when
    bubblewrap cannot start and `weak_ok` is not set), else in a plain process.
    NotebookError when the file is not a notebook with backproplab problems.
    """
    raw = read_submission(Path(path), set())  # validates the file (size, JSON, nbformat)
    ids = {}
    for cell in raw.raw["cells"]:
        gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if isinstance(gid, str):
            ids.setdefault(gid, "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
    keys = sorted({g[:-5] for g in ids if g.endswith("_test") and g[:-5] in ids}, key=lambda k: int(k[1:]) if k[1:].isdigit() else 0)
    if not keys:
        raise NotebookError("no backproplab problems found (cells with grade ids pN and pN_test)")
    why = needs_sandbox(Path(path))
    has_code = any(_forms(ids[f"{k}_test"]) is None for k in keys)
    runner = _Sandboxed(weak_ok) if why and has_code else None
    try:
        return NotebookCheck(Path(path), [_check(key, ids, runner) for key in keys], why, has_code)
    finally:
        if runner is not None:
            runner.close()


def _check(key: str, ids: dict[str, str], runner: "_Sandboxed | None") -> ProblemCheck:
    forms = _forms(ids[f"{key}_test"])
    if forms is not None:
        lines = list(form_messages(parse_answers(ids[key]), forms).values())
        return ProblemCheck(key, "hand", not lines, lines)
    result = (runner.run_pair if runner else run_pair)(key, ids[key], ids[f"{key}_test"])
    return ProblemCheck(key, "code", result.passed, result.output.splitlines())


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


# What the public tests import (backproplab.notebook_api's expect, test_function,
# check_form), for a sandbox that has no backproplab: these modules need only the
# standard library and numpy, and are loaded there from their own source.
_PUBLIC_MODULES = ("tolerance", "answers", "tasks.compare", "student.cells")
_LOADER = """
def backproplab_install(modules):
    import sys, types
    for name, package, source in modules:
        module = types.ModuleType(name)
        module.__package__ = name if package else name.rpartition(".")[0]
        if package:
            module.__path__ = []
        sys.modules[name] = module
        parent, _, last = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], last, module)
        exec(compile(source, "<" + name + ">", "exec"), module.__dict__)


def backproplab_check(solution, tests):
    namespace = {"__name__": "__main__"}
    try:
        exec(compile(solution + "\\n\\n" + tests, "<cell>", "exec"), namespace)
    except BaseException as e:
        return (type(e).__name__ + ": " + str(e)) if str(e) else type(e).__name__
    return None
"""


def _public_modules() -> list[tuple[str, bool, str]]:
    from ..tasks.catalog import harness_source

    root = Path(__file__).resolve().parent.parent
    out = [("backproplab", True, ""), ("backproplab.tasks", True, ""), ("backproplab.student", True, "")]
    for rel in _PUBLIC_MODULES:
        out.append((f"backproplab.{rel}", False, (root / f"{rel.replace('.', '/')}.py").read_text()))
        if rel == "tasks.compare":  # cells.py takes test_function from the catalog: the harness has it
            out.append(("backproplab.tasks.catalog", False,
                        harness_source() + "\ntest_function = backproplab_make_function\n"))
    out.append(("backproplab.notebook_api", False, "from .student.cells import check_form, expect, test_function\n"))
    return out


class _Sandboxed:
    """Runs each problem's solution and public tests in a sandbox session of its own."""

    def __init__(self, weak_ok: bool) -> None:
        from ..grade.sandbox import Limits, Sandbox

        self.box = Sandbox(Limits(timeout_s=CELL_TIMEOUT_S), weak_ok=weak_ok)
        self.modules = _public_modules()

    def run_pair(self, key: str, solution: str, tests: str) -> CellCheck:
        from ..grade.sandbox import StudentError

        try:
            with self.box.session(_LOADER) as s:
                s.call("backproplab_install", self.modules)
                failed = s.call("backproplab_check", solution, tests)
                output = s.stdout
        except StudentError as e:
            return CellCheck(key, False, f"FAILED: {e}")
        if failed is not None:
            output += ("\n" if output else "") + f"FAILED: {failed}"
        return CellCheck(key, failed is None, output.strip())

    def close(self) -> None:
        self.box.close()

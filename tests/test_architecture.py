"""The shape of the code: every import points down the flow, and private names stay private.

problems → render → course → grade → report / export. Generation never imports the
grader; report and export use only public names of grade; no `_name` is imported
from another file; what runs inside the sandbox imports only the standard library,
numpy and itself.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "backproplab"


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) for every import in a file of the package (or outside it)."""
    rel = path.relative_to(PKG).with_suffix("").parts if PKG in path.parents else ()
    package = ["backproplab", *rel[:-1]] if rel else []
    if rel and rel[-1] == "__init__":
        package = ["backproplab", *rel[:-1]]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((module, [a.name for a in node.names]))
    return out


def files(*folders: str) -> list[Path]:
    return [p for f in folders for p in sorted((PKG / f).rglob("*.py"))]


def test_generation_never_imports_the_grader():
    for path in files("problems", "render") + sorted((ROOT / "autograder").glob("*.py")):
        for module, names in imports(path):
            assert not module.startswith("backproplab.grade"), f"{path.relative_to(ROOT)} imports {module}"
            assert not (module == "backproplab" and "grade" in names), path


def test_no_stage_imports_a_later_one():
    later = {"problems": ("backproplab.course", "backproplab.report", "backproplab.export", "backproplab.render"),
             "render": ("backproplab.course", "backproplab.report", "backproplab.export"),
             "course": ("backproplab.report", "backproplab.export"),
             "grade": ("backproplab.report", "backproplab.export")}
    for stage, banned in later.items():
        for path in files(stage):
            for module, _ in imports(path):
                assert not module.startswith(banned), f"{path.relative_to(ROOT)} imports {module}"


def test_no_private_name_crosses_a_file():
    for path in sorted(PKG.rglob("*.py")):
        for module, names in imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not private, f"{path.relative_to(ROOT)} imports {private} from {module}"


def test_report_and_export_use_public_names_of_grade_only():
    for path in files("report", "export"):
        for module, names in imports(path):
            if module.startswith("backproplab.grade"):
                assert all(not n.startswith("_") for n in names), path


def test_inside_the_sandbox_only_stdlib_numpy_and_itself():
    for path in files("grade/sandbox/inside"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # its own modules
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "numpy" or top == "__future__", (path.name, name)


def test_the_student_facade_needs_only_numpy():
    """What a released notebook imports (notebook_api's student helpers) loads no grader, nbgrader or sympy."""
    import subprocess

    code = ("import sys; import backproplab.notebook_api as api; "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'nbgrader', 'matplotlib', 'jinja2')"
            " or m.startswith('backproplab.grade') or m.startswith('backproplab.problems')); print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out


def test_the_student_command_line_imports_no_instructor_library():
    """The student build has numpy and click only: the command line and `backproplab check` import
    nothing of the instructor's libraries (they load in the commands that use them)."""
    import subprocess

    code = ("import sys; import backproplab.cli, backproplab.student.check, backproplab.notebook_api; "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sympy', 'nbgrader', 'matplotlib', 'jinja2', 'rich', 'nbformat', 'nbclient', 'orjson', 'latex2mathml')"
            " or m.startswith('backproplab.problems') or m.startswith('backproplab.render')); print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out

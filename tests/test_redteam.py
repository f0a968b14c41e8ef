"""Hostile student solutions (tests/redteam/*.py) against the sandbox.

Each file defines `mse_loss(y_pred, y)` with an attack and states its outcome on
its first line:

  error             loading or calling raises StudentError
  forbidden         ForbiddenImport
  rejected          a value comes back, and the grader-side check rejects it
  error-or-rejected either of the two
  no-leak           the attack reports what it found: nothing secret may be in it

After every attack no process of the unprivileged uid is left, no System V IPC
object or kernel key of it either, and the next session of the same Sandbox
still grades a correct solution correctly. Every error message is one line that
can be written anywhere (no lone surrogate, no control character).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import site
import socket
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from backproplab.grade.code import CARRIED_FORWARD, grade_code
from backproplab.grade.sandbox import UNPRIVILEGED_UID, ForbiddenImport, Limits, Sandbox, StudentError
from backproplab.problems import coding

REDTEAM = Path(__file__).parent / "redteam"
REPO = Path(__file__).resolve().parent.parent
ATTACKS = sorted(REDTEAM.glob("*.py"))
SENTINEL = secrets.token_hex(16)  # stands for an expected value / answer key the grader holds
GOOD = "import numpy as np\ndef mse_loss(y_pred, y):\n    return np.mean((y_pred - y) ** 2)\n"

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def expectation(path: Path) -> tuple[str, int]:
    text = path.read_text()
    outcome = re.search(r"^# expect: (\S+)", text, re.M).group(1)
    runs = re.search(r"^# runs: (\d+)", text, re.M)
    return outcome, int(runs.group(1)) if runs else 1


def grader_check(value, y_pred, y) -> bool:
    """The trusted check a grader runs on mse_loss's result (expected value computed here)."""
    # Only a plain number (or a 0-d float array) counts: whatever came back is already plain
    # data from the wire codec, so type() can be trusted here.
    if type(value) is np.ndarray and value.shape == () and value.dtype.kind == "f":
        value = value.item()
    if type(value) not in (int, float) or abs(value) > 1e300 or not np.isfinite(value):
        return False
    got = value
    want = sum((a - b) ** 2 for a, b in zip(y_pred.tolist(), y.tolist())) / len(y)
    return abs(float(got) - want) <= 1e-9 * max(1.0, abs(want))


def unprivileged_pids() -> set[int]:
    """Student-uid processes this test could have left: in our own process tree, or orphans
    adopted by init (what an escape from the sandbox would look like). Sandboxes of tests
    running in parallel (pytest -n) live in other trees and are not ours to count."""
    mine = {c.pid for c in psutil.Process().children(recursive=True)}
    found = set()
    for p in psutil.process_iter(["uids", "ppid"]):
        if p.info["uids"] and p.info["uids"].real == UNPRIVILEGED_UID and (p.pid in mine or p.info["ppid"] in (0, 1)):
            found.add(p.pid)
    return found


@pytest.fixture(scope="module")
def box():
    with Sandbox(Limits(timeout_s=1.5, cpu_s=10, memory_mb=1024, nproc=16, output_bytes=10_000),
                 mode="bubblewrap") as b:
        yield b


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course directory outside the sandbox holding the secret in every kind of file."""
    root = tmp_path_factory.mktemp("course")
    for rel in ["answer_key.txt", "gradebook.db", "source/hw1/key.txt", "submitted/other/hw1/hw1.ipynb"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"expected = {SENTINEL}\n")
    return root


@pytest.fixture(scope="module")
def listener():
    """A TCP server on 127.0.0.1 that a sandboxed student must not reach."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.setblocking(False)
    yield srv
    srv.close()


# The grader's own site-packages and dist-packages (named to the attacks that try them).
HOST_SITES = sorted({*site.getsitepackages(), sysconfig.get_paths()["purelib"], str(Path(sys.base_prefix) / "lib"),
                     *map(str, Path("/usr/lib").glob("python3*/dist-packages")),
                     *map(str, Path("/usr/local/lib").glob("python3*/*-packages")),
                     str(REPO / "src")})


def leftovers() -> tuple[str, str, str, int]:
    """System V shared memory, semaphores and message queues of the grader's IPC namespace
    (what `ipcs` lists), and how many kernel keys uid 65534 owns (/proc/key-users)."""
    ipc = tuple(Path(f"/proc/sysvipc/{kind}").read_text() for kind in ("shm", "sem", "msg"))
    keys = 0
    for line in Path("/proc/key-users").read_text().splitlines():
        uid, _, rest = line.partition(":")
        if uid.strip() == str(UNPRIVILEGED_UID):
            keys = int(rest.split()[1].split("/")[0])
    return (*ipc, keys)


def prepare(path: Path, course: Path, listener: socket.socket) -> str:
    return (path.read_text()
            .replace("__HOST_SITES__", repr(HOST_SITES))
            .replace("__SOLUTIONS__", str(REPO / "solutions"))
            .replace("__AUTOGRADER__", str(REPO / "autograder"))
            .replace("__COURSE__", str(course))
            .replace("__PORT__", str(listener.getsockname()[1]))
            .replace("__SENTINEL_SHA__", hashlib.sha256(SENTINEL.encode()).hexdigest()))


def attack_once(box: Sandbox, source: str, outcome: str, listener: socket.socket) -> None:
    y_pred, y = np.array([0.5, -1.25, 2.0]), np.array([0.0, 1.0, 2.5])
    try:
        with box.session(source) as s:
            value = s.call("mse_loss", y_pred, y)
            printed = s.stdout
    except ForbiddenImport:
        assert outcome == "forbidden"
        return
    except StudentError as e:
        assert outcome in ("error", "error-or-rejected"), f"unexpected StudentError: {e}"
        assert "\n" not in str(e) and len(str(e)) <= 1000
        str(e).encode("utf-8")  # no lone surrogate: it can be written to any file
        assert str(e).isprintable(), repr(str(e))  # no terminal escapes
        return
    assert outcome in ("rejected", "error-or-rejected", "no-leak"), f"attack was not stopped: {value!r}"
    assert not grader_check(value, y_pred, y)
    assert len(printed.encode()) <= box.limits.output_bytes + 100
    if outcome == "no-leak":
        assert "LEAK" not in str(value), value
        assert SENTINEL not in str(value) and SENTINEL not in printed
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected


@pytest.mark.parametrize("path", ATTACKS, ids=[p.stem for p in ATTACKS])
def test_attack(path, box, course, listener):
    before = unprivileged_pids()
    left = leftovers()
    outcome, runs = expectation(path)
    source = prepare(path, course, listener)
    for _ in range(runs):
        attack_once(box, source, outcome, listener)
    # Nothing the attack started survives its session (the zygote reaps right after replying).
    deadline = time.monotonic() + 3
    while unprivileged_pids() - before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not unprivileged_pids() - before
    assert leftovers() == left  # no shared memory, semaphore, queue or key outlives the attack
    # And the sandbox still grades the next student correctly.
    y_pred, y = np.array([1.0, 2.0]), np.array([0.0, 0.0])
    with box.session(GOOD) as s:
        assert grader_check(s.call("mse_loss", y_pred, y), y_pred, y)


def test_corpus_is_large_and_labelled():
    assert len(ATTACKS) >= 25
    for p in ATTACKS:
        assert expectation(p)[0] in {"error", "forbidden", "rejected", "error-or-rejected", "no-leak"}, p


def test_sentinel_search_would_find_it_outside_the_sandbox():
    """The gc/frames probe is not vacuous: run in this process, it finds the sentinel."""
    namespace: dict = {}
    source = (REDTEAM / "gc_frames_sentinel.py").read_text().replace(
        "__SENTINEL_SHA__", hashlib.sha256(SENTINEL.encode()).hexdigest())
    exec(compile(source, "probe", "exec"), namespace)
    expected_value = SENTINEL  # noqa: F841 — a local in a frame the probe walks
    assert "LEAK" in namespace["mse_loss"](np.zeros(1), np.zeros(1))


def test_probes_would_find_the_course_outside_the_sandbox(course, listener):
    """The file and network probes are not vacuous either."""
    for name in ("read_course.py", "network.py"):
        namespace: dict = {}
        exec(compile(prepare(REDTEAM / name, course, listener), name, "exec"), namespace)
        assert "LEAK" in namespace["mse_loss"](np.zeros(1), np.zeros(1))
    listener.accept()[0].close()


# ------------------------------------------------------------------ carried-forward credit

CARRY = sorted((REDTEAM / "carry_forward").glob("*.py"))


@pytest.mark.parametrize("path", CARRY, ids=[p.stem for p in CARRY])
def test_no_carried_forward_credit_without_a_backward(path, box):
    """Zero backwards with a constant forward, or with a forward that is constant only when it
    thinks it is probed: no backward check earns anything."""
    for seed in (11, 12):
        result = grade_code("p1", "activations", seed, 4.0, path.read_text(), box)
        backward = [c for c in result.checks if "_backward" in c.name]
        assert backward and all(c.score == 0 for c in backward), [(c.name, c.message) for c in backward]
        assert not any(c.misconception == CARRIED_FORWARD for c in result.checks)


def test_a_consistent_backward_of_a_wrong_forward_still_earns_its_credit(box):
    """The control: sigmoid with slope 2 in forward and backward, graded in the real sandbox."""
    source = coding.solution_code("activations").replace("np.exp(-np.abs(x))", "np.exp(-2 * np.abs(x))")
    source = source.replace("return dout * s * (1.0 - s)", "return 2 * dout * s * (1.0 - s)")
    by_name = {c.name: c for c in grade_code("p1", "activations", 11, 4.0, source, box).checks}
    assert by_name["sigmoid_forward, hidden case"].score == 0
    assert by_name["sigmoid_backward, hidden case"].score == 1
    assert by_name["sigmoid_backward, hidden case"].misconception == CARRIED_FORWARD
    # with a right forward, a backward that is only consistent with it is the reference's or nothing
    right = coding.solution_code("activations").replace("return dout * (1.0 - np.tanh(x) ** 2)",
                                                        "return 2 * dout * (1.0 - np.tanh(x) ** 2)")
    by_name = {c.name: c for c in grade_code("p1", "activations", 11, 4.0, right, box).checks}
    assert by_name["tanh_forward, hidden case"].score == 1 and by_name["tanh_backward, hidden case"].score == 0


def _zeros_like(value):
    """A literal for zeros with the structure of `value` (arrays by shape)."""
    if isinstance(value, np.ndarray):
        return f"np.zeros({value.shape!r})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_zeros_like(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_zeros_like(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    return "0"


SIGNATURE = """
def _sig(a):
    if isinstance(a, np.ndarray):
        return ("a",) + a.shape
    if isinstance(a, dict):
        return ("d",) + tuple((k, _sig(a[k])) for k in sorted(a))
    if isinstance(a, (list, tuple)):
        return ("l",) + tuple(_sig(v) for v in a)
    return "f" if callable(a) else "n"
"""


def zeros_cell(task: str, seed: int) -> str:
    """A solution cell whose every function returns zeros of exactly the reference's structure
    (looked up by the shapes of its arguments): the strongest "nothing" a student can hand in."""
    from backproplab.tasks.catalog import autograder, build_arg, hidden_checks, solution

    namespace: dict = {"np": np}
    exec(SIGNATURE, namespace)
    table: dict = {}
    for check in hidden_checks(task, seed):
        args = [build_arg(a) for a in check.call.args]
        out = getattr(solution(task), check.call.fn)(*args)
        table.setdefault(check.call.fn, {})[namespace["_sig"](args)] = _zeros_like(out)
    lines = ["import numpy as np", SIGNATURE]
    for fn in autograder(task).FUNCTIONS:
        cases = ", ".join(f"{k!r}: lambda: {v}" for k, v in table.get(fn, {}).items())
        lines += [f"def {fn}(*args):", f"    return {{{cases}}}.get(_sig(list(args)), lambda: 0.0)()", ""]
    return "\n".join(lines)


def test_zeros_everywhere_scores_no_more_than_blank_on_hw4(tmp_path):
    """hw4-coding through the real grader: a submission whose every function returns zeros (of
    the right shapes) scores no more than the blank notebook; the honest one keeps full marks."""
    from backproplab.course.generate import generate
    from backproplab.course.layout import Layout
    from backproplab.course.solve import solve
    from backproplab.grade.run import grade_assignment
    from backproplab.key import read_key

    hw = "hw4-coding"
    course = tmp_path / "course"
    generate(hw, course, ["blank", "zeros", "honest"], jobs=1)
    layout = Layout(course.resolve(), hw)
    for s in ("blank", "zeros"):
        nb = json.loads(layout.released_notebook(s).read_text())
        if s == "zeros":
            entries = {p.key: p for p in read_key(layout.key_json(s)).problems}
            for cell in nb["cells"]:
                gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
                if gid in entries and entries[gid].code is not None:
                    cell["source"] = zeros_cell(entries[gid].code.task, entries[gid].seed_int)
        path = layout.submission_dir(s) / layout.notebook_name
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb))
    solve(hw, course, "honest", layout.submission_dir("honest") / layout.notebook_name)
    summary = grade_assignment(hw, course, workers=2)
    assert summary.errors == [] and summary.graded == 3
    score = {s: json.loads(layout.results_json(s).read_text()) for s in ("blank", "zeros", "honest")}
    assert score["zeros"]["score"] <= score["blank"]["score"], [
        (c["name"], c["message"]) for p in score["zeros"]["problems"] for c in p["checks"] if c["score"] > 0]
    assert score["honest"]["score"] == score["honest"]["max_score"]


# ------------------------------------------------------------------ keys, the secret, a TA's check


def test_keys_and_secret_are_private_even_to_weakly_isolated_students(tmp_path):
    """The secret and every key are 0600 in 0700 folders, so a student's code in the weak
    fallback (no private file system; it runs as uid 65534) cannot read a classmate's key."""
    import os
    import stat

    from backproplab.course.generate import generate
    from backproplab.course.layout import Layout

    course = tmp_path / "course"
    generate("hw1-gradient-descent", course, ["ann", "ben"], jobs=1, nbgrader=False)
    layout = Layout(course.resolve(), "hw1-gradient-descent")
    private = course / ".backproplab"
    for path in [private, *private.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    if os.geteuid() != 0:
        pytest.skip("only root drops the student to another uid")
    source = ("def peek(path):\n"
              "    try:\n        return open(path).read()[:50]\n"
              "    except OSError as e:\n        return type(e).__name__\n")
    with Sandbox(mode="fallback") as weak, weak.session(source) as s:
        for path in (layout.key_json("ben"), course / ".backproplab" / "secret"):
            assert s.call("peek", str(path)) == "PermissionError"


def test_a_ta_checking_a_submission_runs_it_in_the_sandbox(tmp_path, monkeypatch):
    """`backproplab check` on a notebook inside a course directory runs its cells in the
    sandbox: a cell that prints the course secret prints nothing of it. The same notebook,
    the caller's own and outside any course, runs with the caller's rights (and would)."""
    from backproplab.course.generate import generate
    from backproplab.course.layout import Layout
    from backproplab.student.check import check_notebook, needs_sandbox

    course = tmp_path / "course"
    generate("demo", course, ["eve"], jobs=1, nbgrader=False)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    layout = Layout(course.resolve(), "demo")
    secret_file = course / ".backproplab" / "secret"
    secret = secret_file.read_text().strip()
    nb = json.loads(layout.released_notebook("eve").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "p6":
            cell["source"] = f"print('SECRET=' + open({str(secret_file)!r}).read())\n" + "".join(cell["source"])
    submitted = layout.submission_dir("eve") / layout.notebook_name
    submitted.parent.mkdir(parents=True)
    submitted.write_text(json.dumps(nb))
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []
    check_notebook(submitted, echo=lines.append)
    assert "inside a course directory" in needs_sandbox(submitted)
    assert any(line.startswith("code cells run in the sandbox") for line in lines), lines
    assert secret not in "\n".join(lines)
    mine = tmp_path / "home" / "demo.ipynb"
    mine.parent.mkdir()
    mine.write_text(json.dumps(nb))
    assert needs_sandbox(mine) is None
    lines.clear()
    check_notebook(mine, echo=lines.append)
    assert any("your own rights" in line for line in lines)
    assert secret in "\n".join(lines)  # the probe is real: unsandboxed, the cell reads the secret


@pytest.mark.slow
def test_a_class_with_one_of_every_attack_grades_every_honest_student(tmp_path):
    """benchmarks/hostile_class.py with a small honest majority (the script measures 1,000):
    the run completes, honest students keep full marks, no attacker beats the blank notebook,
    and no process, IPC object, key or sandbox folder is left behind."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hostile_class", REPO / "benchmarks" / "hostile_class.py")
    hostile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hostile)
    result = hostile.run(tmp_path, students=len(ATTACKS) + 30, workers=2)
    assert result["failures"] == [], result["failures"]
    assert result["attackers"] > len(ATTACKS)

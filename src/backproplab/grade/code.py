"""Grade one coding problem: hidden inputs, the student's code in a sandbox, checks here.

The grader builds every hidden input and expected value in its own process from
`autograder/<task>.py` and the reference `solutions/`. The student's cell runs in
a sandbox session with a small adapter appended (`autograder/harness.py`); one
sandbox call runs the whole batch (in shuffled order, each call in a fresh
namespace) and returns plain arrays. Every verdict — shape, dtype, finiteness,
relative error, named misconception, inputs left alone, same result twice,
agreement with finite differences of the student's own forward — is computed
here. Messages never show hidden inputs or expected values. Whatever comes back
(a huge integer, a reply with a field missing) costs at most the checks of that
call: never the problem, never the worker.
"""

from __future__ import annotations

import ast
import random
from contextlib import ExitStack
from typing import Any

import numpy as np

from ..tasks import FD, FORBIDDEN_MODULES, Call, Check, Part
from ..tasks.catalog import harness_source, hidden_checks
from ..tasks.compare import mismatch, scaled_error
from .result import CheckResult, ProblemResult
from .sandbox import ForbiddenImport, StudentError

CARRIED_FORWARD = "carried forward"  # credit key: a backward consistent with the student's own forward
# A forward whose finite-difference gradient is below this everywhere is taken as constant:
# a backward "consistent" with it (zeros) earns nothing.
DEGENERATE = 1e-6
_shuffle = random.SystemRandom().shuffle  # unpredictable for the student; results never depend on it
NO_RESULT = "the grader got no usable result for this call"


def _part(out: Any, part: Part) -> Any:
    path = part if isinstance(part, tuple) else () if part is None else (part,)
    try:
        for step in path:
            out = out[step]
    except (IndexError, KeyError, TypeError):
        raise ValueError(f"has no part {''.join(f'[{p!r}]' for p in path)}") from None
    return out


def _same(a: Any, b: Any) -> bool:
    """Do two of the student's outputs agree (exactly the same structure, values to 1e-12)?"""
    try:
        return mismatch(a, b, 1e-12) is None
    except Exception:
        return False


# ----------------------------------------------------------------- forbidden shortcuts


def forbidden_imports(source: str) -> list[str]:
    """The forbidden modules (torch, jax, autograd, tensorflow, sympy) the source imports."""
    if not any(name in source for name in FORBIDDEN_MODULES):
        return []  # every way the scan below finds needs the name in the text; parsing is the cost
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the sandbox reports the syntax error itself
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]  # __import__("torch"), importlib.import_module("jax")
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in FORBIDDEN_MODULES)
    return sorted(found)


# ----------------------------------------------------------------- running and judging


def _plan(checks: list[Check]) -> tuple[list[Call], dict[int, int]]:
    """Every distinct call of `checks`, and where each check's call is in that list."""
    calls: list[Call] = []
    index: dict[int, int] = {}
    for c in checks:
        if id(c.call) not in index:
            index[id(c.call)] = len(calls)
            calls.append(c.call)
    return calls, index


def _wrt(args: tuple, wrt: int | tuple[int, str]) -> np.ndarray:
    return args[wrt] if isinstance(wrt, int) else args[wrt[0]][wrt[1]]


def _perturbed(fd: FD, i: tuple, step: float) -> tuple:
    """The forward's arguments with element `i` of argument `fd.wrt` moved by `step` (copies)."""
    args = list(fd.forward.args)
    if isinstance(fd.wrt, int):
        args[fd.wrt] = x = args[fd.wrt].copy()
    else:
        args[fd.wrt[0]] = dict(args[fd.wrt[0]])
        args[fd.wrt[0]][fd.wrt[1]] = x = args[fd.wrt[0]][fd.wrt[1]].copy()
    x[i] += step
    return tuple(args)


def _picked(result: dict, pick: Any) -> np.ndarray | None:
    """A forward's output (its `pick` part) as a finite float array, or None."""
    try:
        out = _part(result["out"], pick)
        arr = np.asarray(out, dtype=float)
    except Exception:  # an error reply, a string, a ragged list, an int too large for a float
        return None
    return arr if np.all(np.isfinite(arr)) else None


def _fd_gradient(fd: FD, points: list[tuple[tuple, int]], outputs: list[dict], graded: np.ndarray | None) -> np.ndarray | None:
    """The student's own forward differentiated numerically from the probe calls, or None when
    no credit can be carried by it.

    `points` name each probe call (element i, sign +1/-1, or () and 0 for the unperturbed
    inputs) and `outputs` are their results. None unless every output is numeric, the
    unperturbed output equals what the same forward returned when it was graded (it is one
    function, not one that notices probes), and the gradient is not ~0 (a constant forward
    is consistent with any zero backward).
    """
    shape = _wrt(fd.forward.args, fd.wrt).shape
    sums = np.zeros(shape + (2,))
    dout = np.asarray(fd.dout, dtype=float)
    for (i, sign), result in zip(points, outputs):
        out = _picked(result, fd.forward.pick)
        if out is None:
            return None
        if sign == 0:
            if graded is None or out.shape != graded.shape or not np.array_equal(out, graded):
                return None
            continue
        try:
            sums[i + (0 if sign > 0 else 1,)] = np.sum(dout * out)
        except ValueError:  # the output does not broadcast against dout
            return None
    grad = (sums[..., 0] - sums[..., 1]) / (2 * fd.h)
    if not np.all(np.isfinite(grad)) or np.max(np.abs(grad), initial=0.0) <= DEGENERATE:
        return None
    return grad


def judge(check: Check, result: dict, fd_grad: np.ndarray | None, credit: dict[str, float]) -> CheckResult:
    """Score one check from the student's result: right, a named misconception, or wrong.

    Never raises: a value that cannot even be compared fails this check only.
    """
    try:
        return _judge(check, result, fd_grad, credit)
    except Exception as e:  # noqa: BLE001 — e.g. an integer too large for a float
        return CheckResult(check.name, 0.0, check.weight,
                           f"the return value cannot be compared with the expected one ({type(e).__name__})")


def _judge(check: Check, result: dict, fd_grad: np.ndarray | None, credit: dict[str, float]) -> CheckResult:
    if "error" in result:
        if str(result["error"]).startswith("NotImplementedError"):
            return CheckResult(check.name, 0.0, check.weight, f"{check.call.fn} is not implemented yet")
        return CheckResult(check.name, 0.0, check.weight, f"your code raised {result['error']}")
    try:
        got = _part(result["out"], check.part)
    except ValueError as why:
        return CheckResult(check.name, 0.0, check.weight, f"the return value {why}")
    why = mismatch(got, check.expected, check.tol)
    if why is None:
        return CheckResult(check.name, 1.0, check.weight, "correct")
    if _all_zero(got):  # nothing computed: no named mistake (t left at 0 would be "t off by one") earns credit
        return CheckResult(check.name, 0.0, check.weight, why)
    for probe in check.probes:
        try:
            if mismatch(got, probe.value, check.tol) is None:
                return CheckResult(check.name, credit.get(probe.name, 0.0), check.weight,
                                   f"{probe.name}: {probe.feedback}", misconception=probe.name)
        except Exception:
            continue
    if fd_grad is not None and isinstance(got, np.ndarray) and got.shape == fd_grad.shape:
        if scaled_error(got, fd_grad) <= check.fd.tol:
            return CheckResult(check.name, credit.get(CARRIED_FORWARD, 1.0), check.weight,
                               "not the reference gradient, but consistent with finite differences of your own "
                               "forward function (error carried forward: fix the forward)",
                               misconception=CARRIED_FORWARD)
    return CheckResult(check.name, 0.0, check.weight, why)


def _all_zero(x: Any) -> bool:
    """Is every number in `x` zero (an array of zeros, 0, a list or dict of these)?"""
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "biuf" and not np.any(x)
    if isinstance(x, dict):
        return all(_all_zero(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(_all_zero(v) for v in x)
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == 0


def _hygiene(calls: list[Call], results: list[dict], right: list[bool]) -> list[CheckResult]:
    """Two checks over the main calls: inputs not mutated, and the same result on a second call.

    They are earned only when some call returned the right result, so a stub
    that returns nothing useful gets nothing for leaving its inputs alone.
    """
    names = ("inputs not mutated", "same result on a second call")
    mutated, differs, accumulated = [], [], False
    for call, res in zip(calls, results):
        if not call.hygiene or "error" in res:
            continue
        for k, (before, after) in enumerate(zip(call.args, res.get("args") or [])):
            if after is not None and not _marker(before) and not _same(after, before):
                mutated.append(f"{call.fn} (argument {k + 1})")
        if "again" in res and not _same(res["again"], res["out"]):
            differs.append(call.fn)
            accumulated |= _doubled(res["out"], res["again"])
    out = [CheckResult(names[0], 0.0 if mutated else 1.0, 1.0,
                       f"changed its input arrays in place: {', '.join(sorted(set(mutated)))}; work on copies"
                       if mutated else "correct")]
    if accumulated:
        out.append(CheckResult(names[1], 0.0, 1.0,
                               "gradients accumulated across calls: a second call with the same inputs returned "
                               "twice the first result; do not keep gradients in global or default-argument state",
                               misconception="gradients accumulated across calls"))
    else:
        out.append(CheckResult(names[1], 0.0 if differs else 1.0, 1.0,
                               f"a second call with the same inputs returned something else: {', '.join(sorted(set(differs)))}"
                               if differs else "correct"))
    if not any(right):  # the messages still say what went wrong
        for c in out:
            c.score, c.message = 0.0, c.message if c.score < 1 else "earned once a function returns the right result"
    return out


def _float_arrays(x: Any) -> list[np.ndarray]:
    if isinstance(x, np.ndarray):
        return [x] if x.dtype.kind == "f" else []
    if isinstance(x, dict):
        return [a for k in sorted(x, key=str) for a in _float_arrays(x[k])]
    if isinstance(x, (list, tuple)):
        return [a for v in x for a in _float_arrays(v)]
    return []


def _doubled(first: Any, second: Any) -> bool:
    """Is some nonzero array of the second call's output twice the first's (gradients summed, not reset)?"""
    pairs = zip(_float_arrays(first), _float_arrays(second))
    return any(a.shape == b.shape and np.any(a != 0) and np.allclose(b, 2 * a, rtol=1e-9, atol=0) for a, b in pairs)


def _marker(arg: Any) -> bool:
    return isinstance(arg, dict) and ("__rng__" in arg or "__function__" in arg)


def _encode(call: Call, args: tuple | None = None) -> dict:
    """One call as the harness receives it. Graded calls and finite-difference probes look
    exactly alike (the same keys and flags; only the argument values differ), and the
    harness runs each in a fresh namespace: a forward cannot tell which calls probe it."""
    return {"fn": call.fn, "args": list(call.args if args is None else args), "again": True, "keep_args": True}


class TaskRunner:
    """Runs the coding tasks of one submission in one sandbox session.

    A session costs more to start than most tasks take to grade, so a submission's
    tasks share one. Each call runs in a fresh namespace where its task's cell has
    just been executed (cells do not see each other's names, calls not each other's state). When a task kills the session (timeout,
    exit, crash, memory), it gets that error and the next task a fresh session.
    `sandbox` is anything with `.session(source)`.
    """

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.killed = False  # the last run's session died under it
        self._session: Any = None
        self._ran = 0
        self._stack = ExitStack()

    def run(self, source: str | None, calls: list[dict]) -> Any:
        """The harness's results for `calls` on the cell `source` (None: already loaded)."""
        if self._session is None:
            self._session = self._stack.enter_context(self.sandbox.session(harness_source()))
            self._ran = 0
        self.killed = False
        self._ran += 1
        try:
            return self._session.call("backproplab_harness_task", source, calls)
        except StudentError:
            self.killed = not getattr(self._session, "alive", False)
            self.close()  # start the next task afresh
            raise

    @property
    def fresh(self) -> bool:
        """Nothing has run yet in the session the next task will use."""
        return self._session is None or self._ran == 0

    def close(self) -> None:
        self._session = None
        self._stack.close()

    def __enter__(self) -> "TaskRunner":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def run_checks(calls: list[dict], source: str | None, runner: TaskRunner) -> list[dict]:
    """The harness's results of encoded `calls` on the cell `source`, one dict per call.

    The calls run in shuffled order. Each result is {"error": str} or {"out": value}
    with optional "again" and "args" (a list): anything else that came back (student
    code can write to the result channel) becomes an error for that call alone.
    """
    order = list(range(len(calls)))
    _shuffle(order)
    results = runner.run(source, [calls[k] for k in order])
    if not isinstance(results, list) or len(results) != len(calls):
        raise ValueError("the harness returned something other than one result per call")
    out: list[dict] = [{}] * len(calls)
    for k, r in zip(order, results):
        out[k] = _result(r)
    return out


def _result(r: Any) -> dict:
    if not isinstance(r, dict):
        return {"error": NO_RESULT}
    if "error" in r:
        return {"error": str(r["error"])[:300]}
    if "out" not in r:
        return {"error": NO_RESULT}
    kept = {"out": r["out"]}
    if "again" in r:
        kept["again"] = r["again"]
    if isinstance(r.get("args"), list):
        kept["args"] = r["args"]
    return kept


def grade_code(key: str, task: str, seed: int, points: float, source: str | None, sandbox: Any,
               credit: dict[str, float] | None = None) -> ProblemResult:
    """Grade the student's solution cell `source` for coding task `task`.

    `sandbox` is a TaskRunner (shared by a submission's tasks) or anything with
    `.session(source)`, given a runner of its own for this one task. `source`
    None means the student's functions are already loaded (in-kernel grading).
    Hidden inputs come from `seed`; expected values from the reference solution,
    computed here. `credit` gives the fraction of a check's weight still awarded
    for a named misconception (default 0) or for a backward consistent with the
    student's own wrong forward ("carried forward", default 1).
    """
    credit = credit or {}
    checks = hidden_checks(task, seed)
    names = forbidden_imports(source or "")
    if names:
        return _zero(key, points, checks, f"uses {', '.join(names)}, which is forbidden in this task: implement it with numpy only")
    if not isinstance(sandbox, TaskRunner):
        with TaskRunner(sandbox) as runner:
            return _run_and_judge(key, points, checks, source, runner, credit)
    fresh = sandbox.fresh
    result = _run_and_judge(key, points, checks, source, sandbox, credit)
    if result.score < points and not fresh and not sandbox.killed:
        # Graded again on its own, so that what another cell did to the shared process
        # (patched numpy, a warnings filter) never costs this task points. A task that
        # killed the session is not: it would only pay its time limit twice.
        with TaskRunner(sandbox.sandbox) as alone:
            result = _run_and_judge(key, points, checks, source, alone, credit)
    return result


def _run_and_judge(key: str, points: float, checks: list[Check], source: str | None, runner: TaskRunner,
                   credit: dict[str, float]) -> ProblemResult:
    calls, index = _plan(checks)
    try:
        results = run_checks([_encode(c) for c in calls], source, runner)
    except ForbiddenImport as why:
        return _zero(key, points, checks, f"imports a forbidden module, which scores 0 ({why}): implement it with numpy only")
    except (StudentError, ValueError) as why:
        return _zero(key, points, checks, str(why).splitlines()[0] if str(why) else type(why).__name__)
    graded = [judge(c, results[index[id(c.call)]], None, credit) for c in checks]
    _carry_forward(checks, graded, results, index, source, runner, credit)
    right = [all(g.score == 1.0 and g.misconception is None for c, g in zip(checks, graded) if index[id(c.call)] == i)
             for i in range(len(calls))]
    graded += _hygiene(calls, results, right)
    return ProblemResult(key, points, graded)


def _forward_check(checks: list[Check], fd: FD) -> int | None:
    """The check of the forward `fd` differentiates, on the same inputs (the call's own forward check)."""
    for k, c in enumerate(checks):
        same_args = len(c.call.args) == len(fd.forward.args) and all(
            a is b for a, b in zip(c.call.args, fd.forward.args))
        if c.fd is None and c.call.fn == fd.forward.fn and same_args and c.part == fd.forward.pick:
            return k
    return None


def _carry_forward(checks: list[Check], graded: list[CheckResult], results: list[dict], index: dict[int, int],
                   source: str | None, runner: TaskRunner, credit: dict[str, float]) -> None:
    """Judge again, against finite differences of the student's own forward, the backward checks
    that are wrong for no named reason where that call's own forward check failed too (a wrong
    forward is why a right chain rule gives a wrong gradient; with a right forward the
    backward must match the reference).

    Only these pay for the probes. They run in a session of their own, started after the
    graded one has ended, so nothing a graded call kept (in the process, its files) reaches
    them; each probe is a call like any graded one (same entry point, same stack, a fresh
    namespace), in shuffled order, and the unperturbed call is among them: its output must
    be the one the forward gave when graded. A forward whose gradient is ~0 carries nothing.
    """
    todo = []
    for i, (c, g) in enumerate(zip(checks, graded)):
        if c.fd is None or g.score >= 1 or g.misconception is not None or "error" in results[index[id(c.call)]]:
            continue
        own = _forward_check(checks, c.fd)
        if own is not None and graded[own].score < 1:
            todo.append((i, own))
    fds = list({id(checks[i].fd): (checks[i].fd, own) for i, own in todo}.values())
    if not fds:
        return
    plan: list[tuple[FD, tuple, int]] = []
    for fd, _ in fds:
        plan.append((fd, (), 0))
        for i in np.ndindex(_wrt(fd.forward.args, fd.wrt).shape):
            plan += [(fd, i, 1), (fd, i, -1)]
    calls = [_encode(fd.forward, fd.forward.args if sign == 0 else _perturbed(fd, i, sign * fd.h))
             for fd, i, sign in plan]
    runner.close()  # the graded session ends here: the probes get a process of their own
    try:
        probes = run_checks(calls, source, runner)
    except (StudentError, ValueError):
        return  # no consistent forward to credit
    finally:
        runner.close()  # and the next task gets a fresh one
    grads = {}
    for fd, own in fds:
        mine = [(k, (i, sign)) for k, (f, i, sign) in enumerate(plan) if f is fd]
        graded_out = _picked(results[index[id(checks[own].call)]], checks[own].part)
        grads[id(fd)] = _fd_gradient(fd, [pt for _, pt in mine], [probes[k] for k, _ in mine], graded_out)
    for i, _ in todo:
        c = checks[i]
        graded[i] = judge(c, results[index[id(c.call)]], grads[id(c.fd)], credit)


def _zero(key: str, points: float, checks: list[Check], message: str) -> ProblemResult:
    return ProblemResult(key, points, [CheckResult(c.name, 0.0, c.weight, message) for c in checks], error=message)

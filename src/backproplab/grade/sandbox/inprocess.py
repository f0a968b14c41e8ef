"""The sandbox interface without a sandbox: run the grading harness in the student's own kernel.

INSECURE by nature. `InProcessSandbox` exists only so that stock, in-kernel
`nbgrader autograde` (no backproplab plugin; see `nbgrader_bridge/inkernel.py` and
docs/nbgrader.md) can grade coding problems at all. The student's code, the
hidden inputs, the reference solution and the expected values all live in one
Python process, the student's: student code can monkeypatch numpy or our
modules, read the hidden tests and the answer key from memory or disk, return
objects that lie, or end the kernel. Nothing here stops any of that. It gives an
honest student the same score as `backproplab grade`, nothing more; grade a class
with `backproplab grade` or the plugin that `generate` configures.

What it does keep identical to the real sandbox (it reuses the sandbox's own
code for it, `inside.child.Child` and the wire codec):

* arguments and results cross as they would over the wire: encoded with
  `encode` and decoded with `decode`, so the harness gets fresh copies and the
  grader gets only plain data (numbers, strings, bool/int/float arrays,
  lists/tuples/dicts of them), or a one-line StudentError;
* student errors become the same one-line `StudentError` messages, and
  importing a forbidden module (torch, jax, autograd, tensorflow, sympy) while
  a source is loaded or a function is called raises `ForbiddenImport` (an
  import the kernel made earlier, e.g. in the student's cell, is not seen here:
  `grade_code` finds it in the cell's source, which `nbgrader_bridge.inkernel` reads from the
  notebook);
* what the code prints (stdout and stderr) is captured in `Session.stdout`,
  capped, instead of reaching the cell's output (nbgrader scores a test cell
  that writes to stderr 0, and a numpy RuntimeWarning goes there).

What it cannot do: time limits (nbgrader's own per-cell timeout applies),
memory limits, or a fresh process per session: whatever earlier cells changed
in the process (modules, builtins) stays changed, and a cell's own globals are
fresh only when its source is loaded again (as `nbgrader_bridge.inkernel` does).

    with InProcessSandbox(globals()).session(harness_source()) as s:
        results = s.call("backproplab_harness_task", cell_source, calls)
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable

from .inside.child import Child, ImportBlocker
from .inside.wire import FRAME_HEADER, decode, encode
from .limits import Limits
from .protocol import Dead, StudentError, parse_reply, reply_value

__all__ = ["InProcessSandbox", "InProcessSession"]


class InProcessSandbox:
    """The `Sandbox` interface, run in this process on a copy of `namespace` (a kernel's globals()).

    Insecure: see the module docstring. Each session runs its source in a fresh
    shallow copy of `namespace`, so the student's functions and variables are
    visible to it and the harness's names do not land in the kernel.
    """

    isolation = "none: in-process, in the student's own kernel (stock nbgrader)"

    def __init__(self, namespace: dict[str, Any], limits: Limits = Limits()) -> None:
        self.namespace = namespace
        self.limits = limits

    def session(self, source: str) -> InProcessSession:
        """Run `source` in a copy of the namespace; StudentError / ForbiddenImport if that fails."""
        return InProcessSession(self, source)

    def close(self) -> None:
        """Nothing to stop (the interface of `Sandbox`)."""

    def __enter__(self) -> InProcessSandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _CappedText:
    """A text stream that keeps at most `limit` characters (like the sandbox's output pipe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def write(self, text: str) -> int:
        room = self.limit - self.size
        if len(text) > room:
            self.truncated = True
        kept = text[:max(room, 0)]
        self.parts.append(kept)
        self.size += len(kept)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class InProcessSession:
    """One loaded source: call its functions with plain data, read what it printed."""

    def __init__(self, sandbox: InProcessSandbox, source: str) -> None:
        self._limits = sandbox.limits
        self._forbidden = frozenset(sandbox.limits.forbidden_modules)
        self._attempted: list[str] = []
        self._frames: list[bytes] = []
        self._output = _CappedText(sandbox.limits.output_bytes)
        self._child = Child({"memory_mb": sandbox.limits.memory_mb}, self._attempted, send=self._frames.append)
        self._seq = 0
        namespace = dict(sandbox.namespace)
        self._request(lambda seq: self._child.load(seq, source, namespace))

    @property
    def stdout(self) -> str:
        """What the code printed (stdout and stderr) during this session, capped at Limits.output_bytes."""
        text = "".join(self._output.parts)
        return text + "\n[output truncated]" if self._output.truncated else text

    def call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Call `fn` with plain data; return its result as plain data (StudentError on any failure)."""
        frame = encode({"op": "call", "fn": fn, "args": args, "kwargs": kwargs})
        message = decode(frame[FRAME_HEADER.size:])  # fresh copies, as the child would see them
        return self._request(lambda seq: self._child.handle({**message, "seq": seq}))

    def close(self) -> None:
        """Nothing to kill (the interface of `Session`)."""

    def __enter__(self) -> InProcessSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _request(self, run: Callable[[int], None]) -> Any:
        """Run one request as the sandbox child would, and read its one reply frame as the grader does."""
        self._seq += 1
        self._frames.clear()
        with contextlib.redirect_stdout(self._output), contextlib.redirect_stderr(self._output), \
                _imports_blocked(self._forbidden, self._attempted):
            run(self._seq)
        try:
            reply = parse_reply(self._frames[0][FRAME_HEADER.size:], self._seq)
        except Dead as e:
            raise StudentError(str(e)) from None
        return reply_value(reply)


@contextlib.contextmanager
def _imports_blocked(forbidden: frozenset[str], attempted: list[str]):
    """While inside, importing a forbidden module raises ForbiddenImportError (as in the sandbox).

    The sandbox removes those modules from sys.modules for good; here they are
    hidden only for the duration and put back, so the kernel is left as it was.
    """
    hidden = {name: sys.modules.pop(name) for name in list(sys.modules) if name.partition(".")[0] in forbidden}
    blocker = ImportBlocker(forbidden, attempted)
    sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        try:
            sys.meta_path.remove(blocker)
        except ValueError:
            pass
        sys.modules.update(hidden)


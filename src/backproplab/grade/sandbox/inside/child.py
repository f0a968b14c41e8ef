"""One student session inside the sandbox: load the student's source, answer calls.

`Child` runs in the session's own process (forked by the zygote, confined, its
uid dropped); the grader's in-process stand-in (../inprocess.py) runs the same
class in the student's kernel. Every reply is one frame of the wire codec.
Imports: the standard library, numpy and the wire codec only.
"""

from __future__ import annotations

import builtins
import collections.abc
import itertools
import os
import sys
from typing import Any, Callable

from .wire import MAX_ITEMS, FRAME_HEADER, WireError, decode, encode, read_exact, type_name, write_all

PROTO_FD = 3  # the session's protocol socket, in the child


class ForbiddenImportError(ImportError):
    """Raised inside the child when student code imports a forbidden module."""


class ImportBlocker:
    """A meta-path finder that raises ForbiddenImportError for the forbidden modules.

    It records each attempt in `attempted`, so that `Child.fail` can say
    "forbidden" even when student code catches the ImportError and fails later.
    Installed for good in the sandbox (`block_imports`); the in-process
    stand-in (../inprocess.py) installs it around each request only.
    """

    def __init__(self, forbidden: frozenset[str], attempted: list[str]) -> None:
        self.forbidden = forbidden
        self.attempted = attempted

    def check(self, name: str) -> None:
        top = name.partition(".")[0]
        if top in self.forbidden:
            self.attempted.append(top)
            raise ForbiddenImportError(f"importing {top} is not allowed in this assignment")

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        self.check(name)


def block_imports(forbidden: frozenset[str], attempted: list[str]) -> None:
    """Make importing any forbidden module raise ForbiddenImportError.

    Two layers: a meta-path finder (import statements, __import__, importlib) and
    an audit hook, which student code cannot remove. In bubblewrap the modules'
    directories are also hidden, which stops loading them by file path.
    """

    def audit(event: str, args: tuple) -> None:
        # Its own check, not the finder's: student code can reach and change the
        # finder in sys.meta_path, but not this function.
        if event == "import":
            top = args[0].partition(".")[0]
            if top in forbidden:
                attempted.append(top)
                raise ForbiddenImportError(f"importing {top} is not allowed in this assignment")

    for name in list(sys.modules):
        if name.partition(".")[0] in forbidden:
            del sys.modules[name]
    sys.meta_path.insert(0, ImportBlocker(forbidden, attempted))
    sys.addaudithook(audit)


def describe(exc: BaseException) -> str:
    """'TypeError: message' on one line, without trusting the exception's methods too far."""
    try:
        msg = " ".join(str(exc).split())
    except Exception:  # a student exception whose __str__ fails
        msg = ""
    name = type_name(exc)
    return (f"{name}: {msg}" if msg else name)[:300]


class Child:
    """One student session: load the source once, then answer calls until killed.

    `attempted` is the list the import blocker appends forbidden names to. Each
    reply frame goes to `send` (by default: written to the protocol socket).
    """

    def __init__(self, config: dict, attempted: list[str], send: Callable[[bytes], None] | None = None) -> None:
        self.config = config
        self.namespace: dict[str, Any] = {}
        self.attempted = attempted
        self.send = send or (lambda frame: write_all(PROTO_FD, frame))

    def reply(self, seq: int, **fields: Any) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        try:
            frame = encode({"seq": seq, **fields})
        except WireError as e:
            frame = encode({"seq": seq, "error": "value", "message": f"returned {e}; return numbers, "
                            "numpy arrays, or lists/tuples/dicts of them"})
        except MemoryError:
            frame = encode({"seq": seq, "error": "memory", "message": "ran out of memory sending the result"})
        except BaseException as e:  # noqa: BLE001 — e.g. a returned generator that raises
            frame = encode({"seq": seq, "error": "exception", "message": describe(e)})
        self.send(frame)

    def fail(self, seq: int, exc: BaseException) -> None:
        """Report an exception raised by student code, classified for the grader."""
        if isinstance(exc, ForbiddenImportError) or self.attempted:
            name = self.attempted[-1] if self.attempted else "a module"
            self.reply(seq, error="forbidden", message=f"importing {name} is not allowed in this assignment")
        elif isinstance(exc, SystemExit):
            self.reply(seq, error="exit", message=f"called sys.exit({exc.code!r:.50})")
        elif isinstance(exc, MemoryError):
            self.reply(seq, error="memory", message=f"ran out of memory (limit {self.config['memory_mb']} MB)")
        else:
            self.reply(seq, error="exception", message=describe(exc))

    def load(self, seq: int, source: str, namespace: dict[str, Any] | None = None) -> None:
        """Run `source` in `namespace` (by default a fresh module namespace); reply None or the error."""
        self.namespace = {"__name__": "__student__", "__builtins__": builtins} if namespace is None else namespace
        try:
            exec(compile(source, "<student>", "exec"), self.namespace)
        except BaseException as e:  # noqa: BLE001 — everything the student raises is reported
            self.fail(seq, e)
            return
        self.reply(seq, ok=None)

    def call(self, seq: int, fn: str, args: tuple, kwargs: dict) -> None:
        target: Any = self.namespace
        try:
            for i, part in enumerate(fn.split(".")):
                target = target[part] if i == 0 else getattr(target, part)
        except (KeyError, AttributeError):
            self.reply(seq, error="missing", message=f"{fn} is not defined in your code")
            return
        if not callable(target):
            self.reply(seq, error="missing", message=f"{fn} is not a function")
            return
        self.attempted.clear()
        try:
            result = target(*args, **kwargs)
            if isinstance(result, collections.abc.Iterator):  # a generator runs student code: do it here
                result = list(itertools.islice(result, MAX_ITEMS + 1))
        except BaseException as e:  # noqa: BLE001
            self.fail(seq, e)
            return
        self.reply(seq, ok=result)

    def handle(self, msg: dict) -> None:
        """Answer one decoded request ("load" or "call") with exactly one reply."""
        if msg["op"] == "load":
            self.load(msg["seq"], msg["source"])
        else:
            self.call(msg["seq"], msg["fn"], tuple(msg.get("args", ())), dict(msg.get("kwargs", {})))

    def serve(self) -> None:
        while True:
            head = read_exact(PROTO_FD, FRAME_HEADER.size)
            if head is None:
                os._exit(0)
            payload = read_exact(PROTO_FD, FRAME_HEADER.unpack(head)[0])
            if payload is None:
                os._exit(0)
            self.handle(decode(payload))

"""The code that runs inside the sandbox, and the wire format both sides speak.

Run as a script, this is the *zygote*: a long-lived Python process (inside
bubblewrap, or the fallback) that has already imported numpy. For every student
session the grader hands it two file descriptors; the zygote passes them to a
child it forked ahead of time, PID 1 of a fresh PID namespace, which drops to an
unprivileged uid, sets rlimits, execs the student's source (the forbidden
modules blocked) and then serves calls on the protocol socket until it is killed.

Imported as a module (by ``sandbox.py``), it provides the one strict codec
(`encode` / `decode`) used in both directions. It must import nothing but the
standard library and numpy: inside the sandbox only those exist.

Nothing the child sends is trusted: the grader decodes every frame with
`decode`, which accepts only plain data (JSON for structure, raw bytes of a fixed
list of bool/int/float dtypes for arrays) within size, depth and length caps.
"""

from __future__ import annotations

import builtins
import collections.abc
import ctypes
import itertools
import json
import os
import signal
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any, Callable

if __name__ == "__main__":  # inside bubblewrap python runs with -S: add the site-packages before numpy
    import site

    for _dir in json.loads(sys.argv[2])["site_dirs"]:
        site.addsitedir(_dir)

import numpy as np  # noqa: E402

# ---------------------------------------------------------------- wire format
# A frame is an 8-byte little-endian length, then the payload. A payload is a
# 4-byte header length, a JSON header {"v": tree, "n": [blob sizes]}, then the
# blobs (raw array bytes). In the tree, JSON null/bool/number/string are
# themselves; a JSON list is a tagged container: ["l", ...] list, ["t", ...]
# tuple, ["d", k1, v1, ...] dict, ["a", i, dtype, shape] an array made from
# blob i, ["r", seed] an Rng. Nothing is ever unpickled.

FRAME_HEADER = struct.Struct("<Q")
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000  # leaves and containers in one message
NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float — no complex, object, str, void
# The only array element types that cross (little-endian on the wire): raw bytes of these are always numbers.
ARRAY_DTYPES = frozenset({"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"})


class WireError(ValueError):
    """A value or frame that is not plain data, or breaks a size limit."""


@dataclass(frozen=True)
class Rng:
    """A seeded random generator argument: the child receives np.random.default_rng(seed)."""

    seed: int


def encode(value: Any) -> bytes:
    """Serialise plain data (numbers, str, None, numeric arrays, list/tuple/dict of these).

    Subclasses of float, int, str and ndarray are converted to the plain type
    without calling any method they override; generators and other iterators are
    materialised to a list. Anything else raises `WireError`.
    """
    blobs: list[bytes] = []
    budget = [MAX_ITEMS]

    def plain_array(a: np.ndarray) -> list:
        arr = np.ndarray.view(a, np.ndarray)  # an ndarray subclass's overrides never run
        if arr.dtype.str.replace(">", "<") not in ARRAY_DTYPES:
            raise WireError(f"an array of dtype {arr.dtype} (only bool, int and float arrays can be returned)")
        arr = arr.astype(arr.dtype.newbyteorder("<"), order="C")  # a copy: little-endian, C order
        blobs.append(arr.tobytes())
        return ["a", len(blobs) - 1, arr.dtype.str, list(arr.shape)]

    def enc(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise WireError(f"more than {MAX_ITEMS} items")
        if depth > MAX_DEPTH:
            raise WireError(f"nesting deeper than {MAX_DEPTH}")
        t = type(v)
        if v is None or t is bool:
            return v
        if t is Rng:
            return ["r", int(v.seed)]
        if issubclass(t, np.ndarray):
            return plain_array(v)
        if issubclass(t, np.generic):  # numpy scalars (np.float64 is also a float: catch it here)
            scalar = np.array(v)
            if scalar.dtype.kind not in NUMERIC_KINDS:
                raise WireError(f"a numpy scalar of dtype {scalar.dtype}")
            return enc(np.ndarray.item(scalar), depth)
        # Subclasses become the plain type through the base class's own methods,
        # so an overridden __eq__, __float__ or __iter__ never runs.
        if issubclass(t, int):
            return int.__int__(v)
        if issubclass(t, float):
            return float.__float__(v)
        if issubclass(t, str):
            return str.__str__(v)
        if issubclass(t, list):
            return ["l", *(enc(x, depth + 1) for x in list.__iter__(v))]
        if issubclass(t, tuple):
            return ["t", *(enc(x, depth + 1) for x in tuple.__iter__(v))]
        if issubclass(t, dict):
            out: list = ["d"]
            for k, x in dict.items(v):
                out += [enc(k, depth + 1), enc(x, depth + 1)]
            return out
        if issubclass(t, (collections.abc.Iterator, range)):
            return ["l", *(enc(x, depth + 1) for x in itertools.islice(iter(v), MAX_ITEMS + 1))]
        raise WireError(f"an object of type {_type_name(v)}")

    tree = enc(value, 0)
    header = json.dumps({"v": tree, "n": [len(b) for b in blobs]}, separators=(",", ":")).encode()
    payload = struct.pack("<I", len(header)) + header + b"".join(blobs)
    return FRAME_HEADER.pack(len(payload)) + payload


def decode(payload: bytes, *, max_str: int | None = None, allow_rng: bool = False) -> Any:
    """Parse a payload written by `encode`, trusting nothing in it.

    Arrays are read with ``allow_pickle=False`` and must be bool/int/float;
    strings longer than `max_str` characters, unknown tags, Rng (unless
    `allow_rng`), too deep or too large structures raise `WireError`.
    """
    try:
        (hlen,) = struct.unpack_from("<I", payload, 0)
        header = json.loads(payload[4:4 + hlen].decode("utf-8"))
        sizes = header["n"]
        tree = header["v"]
    except (struct.error, ValueError, UnicodeDecodeError, KeyError, TypeError, RecursionError) as e:
        raise WireError(f"unreadable header ({type(e).__name__})") from None
    if type(sizes) is not list or any(type(n) is not int or n < 0 for n in sizes):
        raise WireError("bad blob sizes")
    if 4 + hlen + sum(sizes) != len(payload):
        raise WireError("frame length does not match its contents")
    blobs, pos = [], 4 + hlen
    for n in sizes:
        blobs.append(payload[pos:pos + n])
        pos += n
    budget = [MAX_ITEMS]

    def dec(node: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            raise WireError("too large or too deeply nested")
        t = type(node)
        if node is None or t in (bool, int, float):
            return node
        if t is str:
            if max_str is not None and len(node) > max_str:
                raise WireError(f"a string longer than {max_str} characters")
            return node
        if t is list and node and type(node[0]) is str:
            tag, rest = node[0], node[1:]
            if tag == "l":
                return [dec(x, depth + 1) for x in rest]
            if tag == "t":
                return tuple(dec(x, depth + 1) for x in rest)
            if tag == "d" and len(rest) % 2 == 0:
                out = {}
                for k, x in zip(rest[::2], rest[1::2]):
                    key = dec(k, depth + 1)
                    try:
                        out[key] = dec(x, depth + 1)
                    except TypeError:
                        raise WireError("an unhashable dict key") from None
                return out
            if tag == "a" and len(rest) == 3:
                return _array(rest, blobs)
            if tag == "r" and allow_rng and len(rest) == 1 and type(rest[0]) is int:
                return Rng(rest[0])
        raise WireError("a value that is not plain data")

    try:
        return dec(tree, 0)
    except RecursionError:
        raise WireError("too deeply nested") from None


def _array(node: list, blobs: list[bytes]) -> np.ndarray:
    """["a", i, dtype, shape] → a new plain ndarray made from blob i, checked against its header.

    The dtype must be one of ARRAY_DTYPES, so the bytes can only ever be numbers.
    """
    index, dtype, shape = node
    if (type(index) is not int or not 0 <= index < len(blobs) or type(dtype) is not str or dtype not in ARRAY_DTYPES
            or type(shape) is not list or len(shape) > MAX_DEPTH or any(type(n) is not int or n < 0 for n in shape)):
        raise WireError("a malformed array")
    count = 1
    for n in shape:
        count *= n
    blob = blobs[index]
    if count * np.dtype(dtype).itemsize != len(blob):
        raise WireError("array data does not match its shape")
    return np.frombuffer(blob, dtype=dtype).reshape(tuple(shape)).astype(dtype[1:])  # a native, writable copy


def _type_name(v: Any) -> str:
    """The name of v's type, read without calling anything v defines."""
    return type.__getattribute__(type(v), "__name__") if isinstance(type(v), type) else "?"


def read_exact(fd: int, n: int) -> bytes | None:
    """Read exactly n bytes from a blocking fd; None at end of file."""
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# ------------------------------------------------------------- the zygote
# Everything below runs only inside the sandbox process.

PROTO_FD = 3  # the session's protocol socket, in the child
CLONE_NEWPID = 0x20000000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 38, 36
_libc = ctypes.CDLL(None, use_errno=True)


class ForbiddenImportError(ImportError):
    """Raised inside the child when student code imports a forbidden module."""


def _prctl(option: int, arg: int) -> None:
    if _libc.prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def _drop_capabilities() -> None:
    """Clear every capability of this process (used when no uid switch is possible)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    if _libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


class ImportBlocker:
    """A meta-path finder that raises ForbiddenImportError for the forbidden modules.

    It records each attempt in `attempted`, so that `Child.fail` can say
    "forbidden" even when student code catches the ImportError and fails later.
    Installed for good in the sandbox (`_block_imports`); the in-process
    stand-in (grade/inprocess.py) installs it around each request only.
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


def _block_imports(forbidden: frozenset[str], attempted: list[str]) -> None:
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


def _describe(exc: BaseException) -> str:
    """'TypeError: message' on one line, without trusting the exception's methods too far."""
    try:
        msg = " ".join(str(exc).split())
    except Exception:  # a student exception whose __str__ fails
        msg = ""
    name = _type_name(exc)
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
            frame = encode({"seq": seq, "error": "exception", "message": _describe(e)})
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
            self.reply(seq, error="exception", message=_describe(exc))

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
        args = tuple(np.random.default_rng(a.seed) if isinstance(a, Rng) else a for a in msg.get("args", ()))
        kwargs = {k: np.random.default_rng(a.seed) if isinstance(a, Rng) else a
                  for k, a in msg.get("kwargs", {}).items()}
        if msg["op"] == "load":
            self.load(msg["seq"], msg["source"])
        else:
            self.call(msg["seq"], msg["fn"], args, kwargs)

    def serve(self) -> None:
        while True:
            head = read_exact(PROTO_FD, FRAME_HEADER.size)
            if head is None:
                os._exit(0)
            payload = read_exact(PROTO_FD, FRAME_HEADER.unpack(head)[0])
            if payload is None:
                os._exit(0)
            self.handle(decode(payload, allow_rng=True))


def _confine(config: dict, workdir: str) -> None:
    """Turn this freshly forked process into an unprivileged, limited student process.

    The zygote has already made `workdir` (owned by the student's uid) and set
    HOME and TMPDIR to it: work done once before the fork is not paid again as
    copy-on-write page faults in every child.
    """
    import resource  # already imported by the zygote: a dictionary look-up here

    uid = config["uid"]
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from root to a non-zero uid: every capability is cleared
    elif config["drop_caps"]:
        _drop_capabilities()
    # Die with the zygote (so with the grader): a uid change clears the parent-death
    # signal set before it, and without bwrap nothing else would end a session whose
    # zygote is gone while the student's code runs.
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid binary or file capability can give privileges back
    os.umask(0o077)
    os.chdir(workdir)
    mb = 1 << 20
    for res, value in [
        (resource.RLIMIT_AS, config["memory_mb"] * mb),
        (resource.RLIMIT_CPU, config["cpu_s"]),  # soft = hard: PID 1 ignores SIGXCPU, not SIGKILL
        (resource.RLIMIT_FSIZE, config["fsize_mb"] * mb),
        (resource.RLIMIT_NPROC, config["nproc"]),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 256),
    ]:
        resource.setrlimit(res, (value, value))


def _standby(config: dict, hand: int, workdir: str, attempted: list[str]) -> None:
    """In the forked child: wait for a session's fds, then wire them up, confine, serve. Never returns.

    The zygote forks this child ahead of time (see `Zygote.spawn`), so fork and
    Python's after-fork work are done before the grader asks for a session.
    Until then it runs no student code, has no session directory, and keeps its
    privileges (a student of another session cannot ptrace or signal it, and
    cannot name it from inside its own PID namespace). The import blocker and
    line-buffered stdout/stderr were set up once in the zygote and are inherited
    (an audit hook cannot be removed, in either process).
    """
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # a waiting child dies with the zygote too
        os.setsid()  # its own process group, and no controlling terminal
        os.closerange(3, hand)  # the control socket and every other zygote fd but the hand-over socket
        os.closerange(hand + 1, 1 << 16)
        with socket.socket(fileno=hand) as sock:
            msg, fds, _, _ = socket.recv_fds(sock, 16, 2)
        if msg != b"go" or len(fds) != 2:
            os._exit(0)  # the zygote is gone or discarded us
        proto, out = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        for src, dst in ((devnull, 0), (out, 1), (out, 2), (proto, PROTO_FD)):
            os.dup2(src, dst)
        os.closerange(PROTO_FD + 1, 1 << 16)
        _confine(config, workdir)
        child = Child(config, attempted)
    except BaseException as e:  # noqa: BLE001 — report set-up failures to the grader, then die
        try:
            write_all(2, f"sandbox child set-up failed: {_describe(e)}\n".encode())
        finally:
            os._exit(70)
    try:
        child.serve()
    except BaseException as e:  # noqa: BLE001 — a broken request, or student code broke the worker
        write_all(2, f"sandbox worker error: {_describe(e)}\n".encode())
        os._exit(70)
    os._exit(0)


@dataclass
class _Waiting:
    """A child forked ahead of time, waiting for its session's fds on `hand`."""

    pid: int
    hand: socket.socket
    workdir: str  # made when the child is handed out, not before
    pidns: bool  # it is PID 1 of its own PID namespace


class Zygote:
    """The warm parent: forks one confined child per session, kills and cleans up after it."""

    def __init__(self, config: dict, control: socket.socket) -> None:
        self.config = config
        self.control = control
        self.count = 0
        self.sessions: dict[int, tuple[str, bool]] = {}  # pid -> (workdir, has its own PID namespace)
        self.attempted: list[str] = []  # forbidden imports tried (each child has its own copy)
        self.waiting: _Waiting | None = None  # the next session's child, forked ahead of time
        try:
            self.own_pidns: int | None = os.open("/proc/self/ns/pid", os.O_RDONLY)
        except OSError:
            self.own_pidns = None

    def prefork(self) -> None:
        """Fork the next session's child now; if that fails, `spawn` tries again and reports why."""
        waiting = self.fork_waiting()
        self.waiting = waiting if isinstance(waiting, _Waiting) else None

    def fork_waiting(self) -> _Waiting | str:
        """Fork the next session's child ahead of time; it waits for its fds. Or why it failed."""
        self.count += 1
        workdir = os.path.join(self.config["tmp"], f"session-{os.getpid()}-{self.count}")
        # Set before the fork so that the child inherits them (cheaper than in each child).
        os.environ.update(HOME=workdir, TMPDIR=workdir)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # After unshare(CLONE_NEWPID) our next child is PID 1 of a new namespace:
        # when it dies the kernel kills everything in it, setsid daemons included.
        # setns() back to our own namespace makes the next unshare possible.
        pidns = self.own_pidns is not None and _libc.unshare(CLONE_NEWPID) == 0
        pid, failed = -1, ""
        try:
            pid = os.fork()
            if pid == 0:
                _standby(self.config, theirs.fileno(), workdir, self.attempted)
        except OSError as e:  # e.g. EAGAIN: this session fails, the zygote carries on
            failed = f"could not start a session: {e.strerror}"
        finally:
            if pid != 0 and pidns and _libc.setns(self.own_pidns, CLONE_NEWPID) != 0:
                os._exit(71)  # cannot happen with CAP_SYS_ADMIN; never fork into a dead namespace
        theirs.close()
        if failed:
            ours.close()
            return failed
        return _Waiting(pid, ours, workdir, pidns)

    def spawn(self, fds: list[int]) -> dict:
        """Hand a new session's fds to a waiting child; its pid (as the zygote sees it).

        The session directory is made only now, when every session the grader
        has ended is already gone (`end` runs before the next request is read).
        """
        proto, out = fds
        try:
            for _ in range(2):  # a waiting child that died meanwhile is replaced once
                waiting, self.waiting = self.waiting or self.fork_waiting(), None
                if isinstance(waiting, str):
                    return {"error": waiting}
                uid = self.config["uid"]
                try:
                    os.mkdir(waiting.workdir, 0o700)
                    if uid is not None:
                        os.chown(waiting.workdir, uid, uid)
                except OSError as e:
                    self.discard(waiting)
                    return {"error": f"could not make the session directory: {e.strerror}"}
                try:
                    socket.send_fds(waiting.hand, [b"go"], [proto, out])
                except OSError:
                    self.discard(waiting)
                    continue
                waiting.hand.close()
                self.sessions[waiting.pid] = (waiting.workdir, waiting.pidns)
                return {"pid": waiting.pid, "pidns": waiting.pidns}
            return {"error": "could not start a session"}
        finally:
            os.close(proto)
            os.close(out)

    def discard(self, waiting: _Waiting) -> None:
        """Kill and reap a waiting child that will not serve a session."""
        waiting.hand.close()
        _kill_session(waiting.pid)
        try:
            os.waitpid(waiting.pid, 0)
        except ChildProcessError:
            pass
        try:
            os.rmdir(waiting.workdir)
        except OSError:
            pass

    def end(self, pid: int) -> None:
        """SIGKILL the session (its PID namespace dies with it), reap it, remove its files.

        Waiting for the session's PID 1 waits for its whole namespace: the kernel
        reaps every process in it before PID 1 can be reaped. So when this returns,
        no process of the session is left to touch the next session's files.
        """
        entry = self.sessions.pop(pid, None)
        if entry is None:
            return
        workdir, pidns = entry
        _kill_session(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        if not pidns:
            self.reap_orphans()
        try:
            os.rmdir(workdir)  # the common case: the student left nothing behind
        except OSError:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)

    def reap_orphans(self) -> None:
        """Kill and reap whatever was re-parented to us (we are a subreaper), except live sessions.

        With a PID namespace per session nothing ever is, and this is not called;
        without one (the non-root fallback) this catches daemons that left the
        session's group. Our direct children are also the sessions still open in
        this sandbox (a grader may hold several): those must survive another's end.
        """
        for _ in range(100):
            children = [c for c in _my_children()
                        if c not in self.sessions and (self.waiting is None or c != self.waiting.pid)]
            if not children:
                break
            for c in children:
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for c in children:
                try:
                    os.waitpid(c, 0)
                except ChildProcessError:
                    pass

    def serve(self) -> None:
        import gc
        import resource  # noqa: F401 — used by every child's _confine: import it once, here

        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        import numpy.random  # noqa: F401 — numpy imports it lazily; warm it once here
        # Set up once what every child needs, so that no child pays for it again.
        # The zygote itself never imports a forbidden module.
        _block_imports(frozenset(self.config["forbidden"]), self.attempted)
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
        gc.freeze()  # children's collections skip our objects, so fewer copy-on-write pages
        self.control.send(json.dumps({"ready": True, "numpy": np.__version__}).encode())
        self.prefork()  # the first session's child, while the grader gets going
        while True:
            msg, fds, _, _ = socket.recv_fds(self.control, 4096, 4)
            if not msg:
                break  # the grader is gone
            request = json.loads(msg)
            if request["op"] == "spawn":
                self.control.send(json.dumps(self.spawn(fds)).encode())
                if self.waiting is None:  # fork the next one while the grader works with this one
                    self.prefork()
            else:
                # End a session. The grader of a healthy session does not wait for an
                # answer; one whose session died asks how it exited. Either way we kill,
                # reap and clean up before reading the next request, so no new session
                # starts before this one is entirely gone. Replying before the kill
                # keeps the dying process from delaying the answer.
                pid = request["pid"]
                if request.get("reply", True):
                    status = _peek_status(pid, request.get("grace", 0.0))
                    self.control.send(json.dumps({"status": status}).encode())
                self.end(pid)
        for pid in list(self.sessions):
            self.end(pid)
        if self.waiting is not None:
            self.discard(self.waiting)


def _kill_session(pid: int) -> None:
    """SIGKILL a session: its process group (for the no-namespace fallback) and itself."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _peek_status(pid: int, grace: float) -> int | None:
    """The wait status of a session that exits within `grace` seconds, else None (we kill it).

    Uses waitid(WNOWAIT) so the child stays a zombie for `Zygote.end` to reap.
    """
    import time

    deadline = time.monotonic() + grace
    while True:
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None
        if info is not None:
            break
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.001)
    if info.si_code == os.CLD_EXITED:
        return info.si_status << 8
    return info.si_status  # killed by this signal


def _my_children() -> list[int]:
    """PIDs of this process's direct children (from /proc; empty when /proc lacks the file)."""
    pids: list[int] = []
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as f:
                pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return pids


def main() -> None:
    """Entry point inside the sandbox: ``python worker.py CONTROL_FD CONFIG_JSON``."""
    control = socket.socket(fileno=int(sys.argv[1]))
    config = json.loads(sys.argv[2])
    if config["parent_pid"]:  # fallback mode: no bwrap --die-with-parent, so do it ourselves
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != config["parent_pid"]:
            os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the grader's terminal is the grader's
    Zygote(config, control).serve()


if __name__ == "__main__":
    main()

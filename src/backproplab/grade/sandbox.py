"""Run untrusted student code in a sandbox and get plain data back.

A `Sandbox` owns one warm worker process (a *zygote* with numpy imported) that
runs under bubblewrap: no network, a read-only view of only /usr, the Python
install and its site-packages, a private /tmp, its own PID/IPC/UTS namespaces.
Each `session(source)` gets a fresh child of the zygote (forked ahead of time),
PID 1 of its own PID namespace (so killing it kills everything it spawned, setsid
daemons included), which drops to uid 65534, sets rlimits, blocks the forbidden
modules and execs the student's source. `Session.call` sends plain data in and
gets validated plain data back over a socket dedicated to the protocol; what
the student prints goes to a separate, capped pipe.

Where bubblewrap is missing or cannot create namespaces, the sandbox warns once
and falls back to a plain subprocess with the same rlimits and uid drop, but no
file system or network isolation (see docs/sandbox.md).

    with Sandbox() as box, box.session(source) as s:
        y = s.call("mse_loss", np.array([1.0, 2.0]), np.array([1.5, 2.0]))
        y = validate_array(y, shape=(), dtype=float)
"""

from __future__ import annotations

import importlib.util
import json
import os
import selectors
import shutil
import signal
import site
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from . import sandbox_worker
from .sandbox_worker import FRAME_HEADER, Rng, WireError, decode, encode

__all__ = ["Limits", "Rng", "Sandbox", "SandboxError", "Session", "StudentError", "ForbiddenImport",
           "validate_array"]

UNPRIVILEGED_UID = 65534  # "nobody": RLIMIT_NPROC does not bind uid 0, so never run students as root
MAX_STR = 1000  # longest string student code may return
CONTROL_TIMEOUT_S = 30.0  # the zygote answers in milliseconds; this only catches a wedged one
INSIDE_WORKER = "/opt/backproplab/worker.py"


class StudentError(Exception):
    """Student code failed: an exception, timeout, memory, crash, or a bad return value.

    The message is one line, safe to show the student (it never holds hidden inputs).
    """


class ForbiddenImport(StudentError):
    """Student code imported a module the assignment forbids (torch, sympy, ...)."""


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the student's fault)."""


@dataclass
class Limits:
    """Resource limits for one student session."""

    timeout_s: float = 10.0  # wall clock, for loading the source and for each call
    cpu_s: int = 60  # CPU seconds for the whole session (a backstop behind timeout_s)
    memory_mb: int = 1024  # address space of the student process
    nproc: int = 32  # processes and threads of the unprivileged uid
    fsize_mb: int = 16  # largest file the student may write
    output_bytes: int = 64_000  # stdout + stderr kept; the rest is discarded
    forbidden_modules: tuple[str, ...] = ("torch", "jax", "autograd", "tensorflow", "sympy")
    result_mb: int = 16  # largest result frame the grader accepts
    tmp_mb: int = 64  # size of the sandbox's private /tmp (bubblewrap only)


_warned = False


def _warn_once(reason: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"backproplab sandbox: {reason}; using the weaker fallback (plain subprocess with "
                      "rlimits, no file system or network isolation; see docs/sandbox.md)",
                      RuntimeWarning, stacklevel=3)


# ------------------------------------------------------------- the mount plan

class _Mounts:
    """Host directories bound read-only into the sandbox, and where they appear inside."""

    def __init__(self) -> None:
        self.binds: list[tuple[Path, str]] = [(Path("/usr"), "/usr")]

    def inside(self, path: Path) -> str | None:
        """Where host `path` is seen inside the sandbox, or None if it is not visible."""
        for host, dst in self.binds:
            if path == host or host in path.parents:
                rel = path.relative_to(host).as_posix()
                return dst if rel == "." else f"{dst}/{rel}"
        return None

    def place(self, path: Path, dst: str) -> str:
        """Make `path` visible (at `dst` unless a bound parent already shows it)."""
        seen = self.inside(path)
        if seen is None:
            self.binds.append((path, dst))
            seen = dst
        return seen


def _bwrap_command(limits: Limits, control_fd: int, config: dict) -> tuple[list[str], dict[str, str]]:
    """The bwrap command line that starts the zygote, and its environment.

    Paths are computed from the running interpreter; the base Python install and
    the site-packages are re-mounted under /opt so that nothing of /root, /home or
    /work (where the repository, courses and gradebooks live) exists inside.
    """
    mounts = _Mounts()
    prefix = mounts.place(Path(sys.base_prefix).resolve(), "/opt/python")
    mounts.place(Path(sys.base_exec_prefix).resolve(), "/opt/python-exec")
    exe = Path(sys.executable).resolve()
    python = mounts.inside(exe) or f"{mounts.place(exe.parent, '/opt/python-bin')}/{exe.name}"
    host_sites = [Path(d).resolve() for d in site.getsitepackages() if Path(d).is_dir()]
    config["site_dirs"] = [mounts.place(d, f"/opt/site{i}") for i, d in enumerate(host_sites)]

    # Hide what must not be readable even though its directory is bound: an
    # installed backproplab carries the reference solutions and hidden tests,
    # and the forbidden modules should not be loadable by file path either.
    hidden: list[Path] = [d / "backproplab" for d in host_sites if (d / "backproplab").is_dir()]
    for name in limits.forbidden_modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            hidden += [Path(p) for p in (spec.submodule_search_locations or [])] or \
                      ([Path(spec.origin)] if spec.origin and os.path.isfile(spec.origin) else [])

    argv = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--perms", "0755", "--dir", "/opt", "--perms", "0755", "--dir", "/opt/backproplab"]  # else 0700
    for host, dst in mounts.binds:
        argv += ["--ro-bind", str(host), dst]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):  # merged-/usr symlinks, or real dirs
        p = Path("/") / top
        if p.is_symlink():
            argv += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            argv += ["--ro-bind", str(p), str(p)]
    for path in hidden:
        dst = mounts.inside(path.resolve())
        if dst is not None:
            argv += ["--tmpfs", dst] if path.is_dir() else ["--ro-bind", "/dev/null", dst]
    argv += ["--ro-bind", str(Path(sandbox_worker.__file__).resolve()), INSIDE_WORKER,
             "--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp", "--chdir", "/tmp"]
    if os.geteuid() == 0:
        # The zygote stays root (with only these capabilities) to fork children into
        # new PID namespaces, switch them to uid 65534, and kill and clean up after them.
        for cap in ("SYS_ADMIN", "SETUID", "SETGID", "KILL", "CHOWN", "DAC_OVERRIDE", "FOWNER"):
            argv += ["--cap-add", f"CAP_{cap}"]
    else:
        # Unprivileged: a user namespace; CAP_SYS_ADMIN inside it only, dropped by each child.
        argv += ["--unshare-user", "--cap-add", "CAP_SYS_ADMIN"]
    config.update(tmp="/tmp", parent_pid=None, uid=UNPRIVILEGED_UID if os.geteuid() == 0 else None,
                  drop_caps=os.geteuid() != 0)
    argv += [python, "-I", "-S", "-B", INSIDE_WORKER, str(control_fd), json.dumps(config)]
    env = _child_env() | {"LD_LIBRARY_PATH": f"{prefix}/lib"}
    return argv, env


def _child_env() -> dict[str, str]:
    """A minimal environment: no secret of the grader's (course key, tokens) reaches students."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/tmp",
            # one BLAS thread: deterministic sums, and threads count against RLIMIT_NPROC
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _fallback_command(control_fd: int, config: dict, tmp: str) -> tuple[list[str], dict[str, str]]:
    """The weaker fallback: the same zygote as a plain subprocess of this interpreter."""
    config.update(site_dirs=[], tmp=tmp, parent_pid=os.getpid(), drop_caps=False,
                  uid=UNPRIVILEGED_UID if os.geteuid() == 0 else None)
    return [sys.executable, "-I", "-B", sandbox_worker.__file__, str(control_fd), json.dumps(config)], _child_env()


# ------------------------------------------------------------------ sandbox

class Sandbox:
    """One warm worker that runs student sessions one at a time (use one per grading thread).

    `isolation` says how students are confined: "bubblewrap", or "fallback: <why>".
    `mode` forces "bubblewrap" (error if unavailable) or "fallback"; "auto" prefers bubblewrap.
    """

    def __init__(self, limits: Limits = Limits(),
                 mode: Literal["auto", "bubblewrap", "fallback"] = "auto") -> None:
        self.limits = limits
        self.isolation = ""
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._tmp: str | None = None  # the fallback's private base directory for session dirs
        self._config = {k: v for k, v in asdict(limits).items() if k in ("cpu_s", "memory_mb", "nproc", "fsize_mb")}
        self._config["forbidden"] = list(limits.forbidden_modules)
        reason = "requested"
        if mode != "fallback":
            reason = self._start(bubblewrap=True)
            if reason is None:
                self.isolation = "bubblewrap"
                return
            if mode == "bubblewrap":
                raise SandboxError(reason)
            _warn_once(reason)
        failed = self._start(bubblewrap=False)
        if failed is not None:
            raise SandboxError(failed)
        self.isolation = f"fallback: {reason}"

    # -- the zygote

    def _start(self, bubblewrap: bool) -> str | None:
        """Start the zygote; None when it is ready, else why it could not start."""
        if bubblewrap and (not sys.platform.startswith("linux") or shutil.which("bwrap") is None):
            return "bubblewrap (bwrap) is not installed"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if bubblewrap:
            argv, env = _bwrap_command(self.limits, theirs.fileno(), dict(self._config))
        else:
            if self._tmp is None:
                self._tmp = tempfile.mkdtemp(prefix="backproplab-sandbox-")
                os.chmod(self._tmp, 0o711)  # the unprivileged child may enter its own dir, not list others
            argv, env = _fallback_command(theirs.fileno(), dict(self._config), self._tmp)
        errors = tempfile.TemporaryFile()
        try:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=errors, pass_fds=(theirs.fileno(),), start_new_session=True)
        except OSError as e:
            ours.close()
            return f"could not start the sandbox: {e}"
        finally:
            theirs.close()
        ours.settimeout(120.0)
        try:
            ready = ours.recv(4096)
        except OSError:
            ready = b""
        if not ready:
            proc.kill()
            proc.wait()
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            ours.close()
            return f"{'bubblewrap' if bubblewrap else 'the fallback worker'} failed: " + \
                (lines[-1] if lines else f"exit status {proc.returncode}")
        errors.close()
        ours.settimeout(CONTROL_TIMEOUT_S)
        self._proc, self._control = proc, ours
        return None

    def _ensure_running(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._stop()
            reason = self._start(bubblewrap=self.isolation == "bubblewrap")
            if reason is not None:
                raise SandboxError(reason)

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()  # the zygote sees end-of-file, kills its sessions and exits
            self._control = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
            self._proc = None

    def _control_request(self, request: dict, fds: list[int] = ()) -> dict:
        """One request/reply with the zygote; SandboxError (and a restart later) if it fails."""
        assert self._control is not None
        try:
            socket.send_fds(self._control, [json.dumps(request).encode()], list(fds))
            reply = self._control.recv(4096)
        except OSError:
            reply = b""
        if not reply:
            if self._proc is not None:
                self._proc.kill()
            self._stop()
            raise SandboxError("the sandbox worker stopped responding")
        return json.loads(reply)

    def _control_send(self, request: dict) -> None:
        """A request the zygote does not answer; if it cannot be sent, the zygote is restarted later."""
        assert self._control is not None
        try:
            self._control.send(json.dumps(request).encode())
        except OSError:
            if self._proc is not None:
                self._proc.kill()
            self._stop()

    # -- public API

    def session(self, source: str) -> Session:
        """Load `source` in a fresh confined child; StudentError if loading it fails."""
        for attempt in (1, 2):  # a dead zygote is restarted once
            self._ensure_running()
            proto, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            out_r, out_w = os.pipe()
            try:
                reply = self._control_request({"op": "spawn"}, [theirs.fileno(), out_w])
                break
            except SandboxError:
                proto.close()
                os.close(out_r)
                if attempt == 2:
                    raise
            finally:
                theirs.close()
                os.close(out_w)
        if "pid" not in reply:
            raise SandboxError(reply.get("error", "could not start a session"))
        session = Session(self, reply["pid"], proto, out_r)
        try:
            session._request({"op": "load", "source": source})
        except BaseException:
            session.close()
            raise
        return session

    def close(self) -> None:
        """Stop the worker (and any session still running)."""
        self._stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ------------------------------------------------------------------ session

class _Dead(Exception):
    """The session's process is gone or must be killed; the message says why."""

    def __init__(self, reason: str, channel_closed: bool = False) -> None:
        super().__init__(reason)
        self.channel_closed = channel_closed  # the child may have exited: its status explains more


class Session:
    """One student's loaded source in its own process; call functions, read what it printed."""

    def __init__(self, sandbox: Sandbox, pid: int, proto: socket.socket, out_fd: int) -> None:
        self._sandbox = sandbox
        self._limits = sandbox.limits
        self._pid = pid
        self._sock = proto
        self._out = out_fd
        self._inbox = bytearray()  # protocol bytes received and not yet used
        self._output = bytearray()
        self._truncated = False
        self._out_eof = False  # every writer of the output pipe has closed it
        self._seq = 0
        self._dead: str | None = None
        self._closed = False
        proto.setblocking(False)
        os.set_blocking(out_fd, False)
        self._selector = selectors.DefaultSelector()
        self._events = selectors.EVENT_READ  # what the selector watches the protocol socket for
        self._selector.register(proto, self._events)
        self._selector.register(out_fd, selectors.EVENT_READ)

    @property
    def alive(self) -> bool:
        """False once the session's process died or was ended."""
        return self._dead is None and not self._closed

    @property
    def stdout(self) -> str:
        """What the student printed (stdout and stderr), capped at Limits.output_bytes.

        Everything printed before the last reply is included (the child flushes
        its streams before each reply). After `close`, output stops at the last
        reply, or for a session that died, at its end (its last words included).
        """
        if not self._closed:
            self._drain_output()
        text = self._output.decode("utf-8", errors="replace")
        return text + "\n[output truncated]" if self._truncated else text

    def call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Call the student's function `fn` with plain data; return its result as plain data.

        Arguments may be numbers, strings, numpy arrays, `Rng(seed)`, and
        lists/tuples/dicts of these. The result is validated plain data (see
        `validate_array` for checking arrays). StudentError on any failure.
        """
        return self._request({"op": "call", "fn": fn, "args": args, "kwargs": kwargs})

    def close(self) -> None:
        """Kill the session's process (and all it spawned) and release its resources."""
        if self._closed:
            return
        self._closed = True
        if self._dead is None:
            self._end()
        self._selector.close()
        self._sock.close()
        os.close(self._out)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- internals

    def _request(self, message: dict) -> Any:
        if self._dead is not None:
            raise StudentError(self._dead)
        self._seq += 1
        deadline = time.monotonic() + self._limits.timeout_s
        try:
            reply = _parse_reply(self._exchange(encode({**message, "seq": self._seq}), deadline), self._seq)
        except _Dead as e:
            self._dead = str(e)
            status = self._end(grace=0.1 if e.channel_closed else 0.0, died=True)
            if status is not None:
                self._dead = _describe_exit(status, self._limits)
            raise StudentError(self._dead) from None
        return _reply_value(reply)

    def _exchange(self, frame: bytes, deadline: float) -> bytes:
        """Send one request frame and return the payload of exactly one reply frame."""
        pending = memoryview(frame)
        cap = self._limits.result_mb << 20
        while True:
            if pending:
                # Write first, wait only if the socket is full: a request usually fits
                # at once, which saves a wait for writability on every call.
                try:
                    pending = pending[self._sock.send(pending):]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    raise _Dead("closed the result channel", channel_closed=True) from None
            if len(self._inbox) >= FRAME_HEADER.size:
                (n,) = FRAME_HEADER.unpack_from(self._inbox)
                if n > cap:
                    raise _Dead(f"returned more than {self._limits.result_mb} MB")
                if not pending and len(self._inbox) >= FRAME_HEADER.size + n:
                    payload = bytes(self._inbox[FRAME_HEADER.size:FRAME_HEADER.size + n])
                    del self._inbox[:FRAME_HEADER.size + n]
                    return payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Dead(f"timed out after {self._limits.timeout_s:g} s (an infinite loop, or waiting for input?)")
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending else 0)
            if events != self._events:
                self._selector.modify(self._sock, events)
                self._events = events
            for key, mask in self._selector.select(remaining):
                if key.fileobj is not self._sock:
                    self._drain_output()
                    continue
                if mask & selectors.EVENT_READ:
                    try:
                        data = self._sock.recv(1 << 20)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        raise _Dead("closed the result channel", channel_closed=True)
                    self._inbox += data

    def _drain_output(self) -> None:
        """Read the stdout/stderr pipe without blocking; keep at most output_bytes."""
        while True:
            try:
                chunk = os.read(self._out, 1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                chunk = b""  # cannot happen on a pipe we own; treat it as the end
            if not chunk:
                self._out_eof = True
                self._selector.unregister(self._out)
                return
            self._keep_output(chunk)

    def _keep_output(self, chunk: bytes) -> None:
        room = self._limits.output_bytes - len(self._output)
        if len(chunk) > room:
            self._truncated = True
        self._output += chunk[:max(room, 0)]

    def _end(self, grace: float = 0.0, died: bool = False) -> int | None:
        """Have the zygote SIGKILL the child (its PID namespace dies with it).

        The zygote kills, reaps and cleans up a session before it reads its next
        request, so nothing of this session outlives the next spawn; the grader
        need not wait for that. For a healthy session we send the request and
        return None at once: it flushed everything it printed before its last
        reply, so draining what is in the pipe now is enough. A session that
        `died` (timeout, crash, closed channel) may have last words on their way
        (set-up failures, a traceback): we ask for its wait status (if it exited
        by itself within `grace` seconds, else None) and read the pipe to its end.
        """
        if not died:
            if self._sandbox._control is not None:  # else the zygote died, and its namespace with it
                self._sandbox._control_send({"op": "end", "pid": self._pid, "reply": False})
            self._drain_output()
            return None
        status = None
        try:
            reply = self._sandbox._control_request({"op": "end", "pid": self._pid, "grace": grace})
            status = reply.get("status")
        except SandboxError:
            pass  # the zygote died, and its namespace with it
        self._read_rest_of_output()
        return status

    def _read_rest_of_output(self) -> None:
        """Read the output pipe until every writer is gone (at most 1 s), up to the cap."""
        deadline = time.monotonic() + 1.0
        self._selector.unregister(self._sock)
        while not self._out_eof and (remaining := deadline - time.monotonic()) > 0:
            if self._selector.select(remaining):
                self._drain_output()


def _parse_reply(payload: bytes, seq: int) -> dict:
    """Decode one reply frame's payload (trusting nothing in it); _Dead if it is not a reply to `seq`."""
    try:
        reply = decode(payload, max_str=MAX_STR)
    except WireError as e:
        raise _Dead(f"sent malformed data on the result channel ({e})") from None
    if type(reply) is not dict or reply.get("seq") != seq or not ("ok" in reply or "error" in reply):
        raise _Dead("sent an unexpected message on the result channel")
    return reply


def _reply_value(reply: dict) -> Any:
    """The value of a parsed reply, or the student's error raised as ForbiddenImport / StudentError."""
    if "error" in reply:
        error = ForbiddenImport if reply["error"] == "forbidden" else StudentError
        raise error(str(reply.get("message", "failed"))[:MAX_STR])
    return reply["ok"]


def _describe_exit(status: int, limits: Limits) -> str:
    """A one-line reason from the child's wait status, for a student who closed or crashed the channel."""
    if os.WIFEXITED(status):
        return f"the program exited (exit code {os.WEXITSTATUS(status)}) instead of returning"
    sig = os.WTERMSIG(status)
    if sig == signal.SIGKILL:
        return f"the program was killed (more than {limits.cpu_s} s of CPU time?)"
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
    return f"the program crashed ({name})"


# --------------------------------------------------------- grader-side check

_KINDS = {float: "iuf", int: "iu", bool: "b"}


def validate_array(x: Any, shape: tuple[int | None, ...] | None, dtype: type = float,
                   *, name: str = "the result") -> np.ndarray:
    """Check a value student code returned and give it back as a plain array of `dtype`.

    Accepts a plain ndarray, a number, or a (nested) list/tuple of numbers.
    Rejects, with a StudentError naming the problem (never the expected value):
    other types, the wrong kind of numbers, the wrong shape (a dimension given
    as None matches any size), and NaN or infinity.
    """
    if type(x) is np.ndarray:
        arr = x
    elif type(x) in (int, float, bool, list, tuple):
        try:
            arr = np.array(x)
        except (ValueError, TypeError):
            raise StudentError(f"{name} is a ragged list, not an array of numbers") from None
    else:
        raise StudentError(f"{name} is a {type(x).__name__}, expected a numpy array")
    if arr.dtype.kind not in _KINDS[dtype]:
        raise StudentError(f"{name} holds {arr.dtype} values, expected {dtype.__name__} numbers")
    if shape is not None:
        want = tuple(shape)
        if arr.ndim != len(want) or any(w is not None and w != n for w, n in zip(want, arr.shape)):
            shown = tuple("any" if w is None else w for w in want)
            raise StudentError(f"{name} has shape {arr.shape}, expected {shown}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise StudentError(f"{name} contains NaN or infinity")
    return arr.astype(dtype)

"""Run untrusted student code in a sandbox and get plain data back.

A `Sandbox` owns one warm worker process (a *zygote* with numpy imported) that
runs under bubblewrap: no network, a read-only view of only /usr, the Python
standard library and numpy (mounts.py), a private /tmp, its own PID/IPC/UTS namespaces.
Each `session(source)` gets a fresh child of the zygote (forked ahead of time),
PID 1 of its own PID namespace (so killing it kills everything it spawned, setsid
daemons included) with an IPC namespace of its own, which drops to uid 65534, sets
rlimits, loads the seccomp filter (seccomp.py), blocks the forbidden modules and
execs the student's source. `Session.call` sends plain data in and
gets validated plain data back over a socket dedicated to the protocol; what
the student prints goes to a separate, capped pipe.

Where bubblewrap is missing or cannot create namespaces, the sandbox refuses to
start (SandboxError, one line saying why bubblewrap failed) unless weak isolation
was asked for (`weak_ok=True`, the command line's --allow-weak-isolation): then it
warns once and falls back to a plain subprocess with the same rlimits, uid drop
and seccomp filter, but no file system or network isolation (see docs/sandbox.md).

    with Sandbox() as box, box.session(source) as s:
        y = s.call("mse_loss", np.array([1.0, 2.0]), np.array([1.5, 2.0]))
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from .inside.zygote import remove_tree
from .limits import Limits
from .mounts import bwrap_command, fallback_command
from .protocol import SandboxError
from .seccomp import SeccompUnavailable, student_filters
from .session import Session

STRONG = "bubblewrap + seccomp"  # `Sandbox.isolation` when student code is confined as docs/sandbox.md says
WEAK_HINT = "pass --allow-weak-isolation to grade with the weaker fallback (see docs/sandbox.md)"

CONTROL_TIMEOUT_S = 30.0  # the zygote answers in milliseconds; this only catches a wedged one


_warned = False


def _warn_once(reason: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"backproplab sandbox: {reason}; using the weaker fallback (plain subprocess with "
                      "rlimits, no file system or network isolation; see docs/sandbox.md)",
                      RuntimeWarning, stacklevel=3)



FALLBACK_DIR = "backproplab-sandbox-"  # + the grader's pid: the fallback's private base directory


def _remove_orphaned_dirs() -> None:
    """Remove the fallback directories of graders that died without closing their Sandbox (SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob(f"{FALLBACK_DIR}*-*"):
        pid = path.name[len(FALLBACK_DIR):].partition("-")[0]
        try:
            if not pid.isdigit() or path.is_symlink() or path.stat().st_uid != os.geteuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:  # its grader is gone
            try:
                for child in path.iterdir():
                    remove_tree(str(child))
            except OSError:
                pass
            remove_tree(str(path))
        except OSError:  # vanished meanwhile, or not ours to signal: alive
            pass


# ------------------------------------------------------------------ sandbox

class Sandbox:
    """One warm worker that runs student sessions one at a time (use one per grading thread).

    `isolation` says how students are confined: "bubblewrap + seccomp", or
    "weak (fallback): <why bubblewrap could not start>". `mode` "auto" uses
    bubblewrap, and when it cannot start raises SandboxError saying why, unless
    `weak_ok` (then it warns once and falls back); "bubblewrap" never falls back;
    "fallback" forces the weaker fallback (tests, `backproplab check` of one's own notebook).
    """

    def __init__(self, limits: Limits = Limits(),
                 mode: Literal["auto", "bubblewrap", "fallback"] = "auto", weak_ok: bool = False) -> None:
        self.limits = limits
        self.isolation = ""
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._tmp: str | None = None  # the fallback's private base directory for session dirs
        self._config = {k: v for k, v in asdict(limits).items() if k in ("cpu_s", "memory_mb", "nproc", "fsize_mb")}
        self._config["forbidden"] = list(limits.forbidden_modules)
        seccomp_missing = ""
        try:
            self._config["seccomp"] = student_filters()
        except SeccompUnavailable as e:
            self._config["seccomp"] = None
            seccomp_missing = str(e)
        reason = "requested"
        if mode != "fallback":
            reason = seccomp_missing if self._config["seccomp"] is None else self._start(bubblewrap=True)
            if reason is None:
                self.isolation = STRONG
                return
            if mode == "bubblewrap" or not weak_ok:
                raise SandboxError(f"bubblewrap cannot start: {reason}" + ("" if mode == "bubblewrap" else f"; {WEAK_HINT}"))
            _warn_once(reason)
        failed = self._start(bubblewrap=False)
        if failed is not None:
            raise SandboxError(failed)
        self.isolation = f"weak (fallback{'' if self._config['seccomp'] else ', no seccomp'}): {reason}"

    # -- the zygote

    def _start(self, bubblewrap: bool) -> str | None:
        """Start the zygote; None when it is ready, else why it could not start."""
        if bubblewrap and (not sys.platform.startswith("linux") or shutil.which("bwrap") is None):
            return "bubblewrap (bwrap) is not installed"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if bubblewrap:
            argv, env = bwrap_command(self.limits, theirs.fileno(), dict(self._config))
        else:
            if self._tmp is None:
                _remove_orphaned_dirs()
                self._tmp = tempfile.mkdtemp(prefix=f"{FALLBACK_DIR}{os.getpid()}-")
                os.chmod(self._tmp, 0o711)  # the unprivileged child may enter its own dir, not list others
            argv, env = fallback_command(theirs.fileno(), dict(self._config), self._tmp)
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
            return (f"{'bwrap' if bubblewrap else 'the fallback worker'} failed: "
                    + " ".join((lines[-1] if lines else f"exit status {proc.returncode}").split())[:300])
        errors.close()
        ours.settimeout(CONTROL_TIMEOUT_S)
        self._proc, self._control = proc, ours
        return None

    def _ensure_running(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._stop()
            reason = self._start(bubblewrap=self.isolation == STRONG)
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

    def control_request(self, request: dict, fds: list[int] = ()) -> dict:
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

    def control_send(self, request: dict) -> None:
        """A request the zygote does not answer; if it cannot be sent, the zygote is restarted later."""
        assert self._control is not None
        try:
            self._control.send(json.dumps(request).encode())
        except OSError:
            if self._proc is not None:
                self._proc.kill()
            self._stop()

    # -- public API

    @property
    def running(self) -> bool:
        """The zygote is up (it may still have died since: a request finds out)."""
        return self._control is not None

    def session(self, source: str) -> Session:
        """Load `source` in a fresh confined child; StudentError if loading it fails."""
        for attempt in (1, 2):  # a dead zygote is restarted once
            self._ensure_running()
            proto, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            out_r, out_w = os.pipe()
            try:
                reply = self.control_request({"op": "spawn"}, [theirs.fileno(), out_w])
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
            try:
                left = os.listdir(self._tmp)  # left by a zygote that died; each tree is a student's
            except OSError:
                left = []
            for name in left:
                remove_tree(os.path.join(self._tmp, name))
            remove_tree(self._tmp)
            self._tmp = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

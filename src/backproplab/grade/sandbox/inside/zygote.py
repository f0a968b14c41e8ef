"""The zygote: the warm process inside the sandbox that forks one confined child per session.

Run by the grader (``launcher.py``) as ``python -I -S -B -c BOOT CONTROL_FD CONFIG``,
where BOOT puts this package's folder on sys.path and calls `main`. It imports
numpy once, then for every session forks a child ahead of time, PID 1 of a fresh
PID namespace, which drops to an unprivileged uid, sets rlimits and serves the
session (`child.Child`) until it is killed. Imports: the standard library, numpy
and this package only (nothing else exists inside the sandbox).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass

import numpy as np

from .child import PROTO_FD, Child, block_imports, describe
from .wire import write_all

CLONE_NEWPID, CLONE_NEWIPC = 0x20000000, 0x08000000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER, PR_SET_SECCOMP = 1, 38, 36, 22
SECCOMP_MODE_FILTER = 2
_libc = ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class SeccompFilter:
    """A compiled classic-BPF seccomp program (bytes from the grader), ready to load in a child."""

    def __init__(self, program: bytes) -> None:
        self._buffer = ctypes.create_string_buffer(program, len(program))  # kept alive with the program
        self._prog = _SockFprog(len(program) // 8, ctypes.addressof(self._buffer))

    def load(self) -> None:
        """Install the filter on this thread (and every thread and process it creates), for good."""
        if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(self._prog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "could not load the seccomp filter")


def _prctl(option: int, arg: int) -> None:
    if _libc.prctl(option, arg, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def _drop_capabilities() -> None:
    """Clear every capability of this process (used when no uid switch is possible)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    if _libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _confine(config: dict, workdir: str, seccomp: SeccompFilter | None) -> None:
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
    if seccomp is not None:
        seccomp.load()  # last: from here on no new namespace, process, mount, ptrace or key


def _standby(config: dict, hand: int, workdir: str, attempted: list[str],
             filters: dict[str, SeccompFilter]) -> None:
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
        # An IPC namespace of its own (System V shared memory, semaphores, message
        # queues), made ahead of time and gone with the session's last process. Where
        # none can be made (the non-root fallback), the filter denies those calls.
        ipc_ns = _libc.unshare(CLONE_NEWIPC) == 0
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
        _confine(config, workdir, filters.get("ipc_ns" if ipc_ns else "no_ipc_ns"))
        child = Child(config, attempted)
    except BaseException as e:  # noqa: BLE001 — report set-up failures to the grader, then die
        try:
            write_all(2, f"sandbox child set-up failed: {describe(e)}\n".encode())
        finally:
            os._exit(70)
    try:
        child.serve()
    except BaseException as e:  # noqa: BLE001 — a broken request, or student code broke the worker
        write_all(2, f"sandbox worker error: {describe(e)}\n".encode())
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
        self.filters = {k: SeccompFilter(bytes.fromhex(v)) for k, v in (config.get("seccomp") or {}).items()}
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
                _standby(self.config, theirs.fileno(), workdir, self.attempted, self.filters)
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
        remove_tree(workdir)

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
        block_imports(frozenset(self.config["forbidden"]), self.attempted)
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


def remove_tree(path: str) -> None:
    """Delete the folder `path` and everything a student left in it, whatever its shape.

    A student controls the tree: thousands of levels (too deep for a recursive
    walk, paths longer than PATH_MAX), folders without permissions, many files.
    This walks with one open folder at a time: each folder's subfolders are moved up
    into `path` itself (so no path is ever longer than two names) and its files
    unlinked, relative to open descriptors; what cannot be removed is left (the
    sandbox's /tmp is a size-capped tmpfs that goes with it). Never raises.
    """
    try:
        os.rmdir(path)  # the common case: the student left nothing behind
        return
    except OSError:
        pass
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        top = os.open(path, flags)
    except OSError:
        return
    moved, last = 0, None
    try:
        while True:
            with os.scandir(top) as it:
                entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
            if not entries or entries == last:  # done, or nothing more can be removed
                break
            last = entries
            for name, is_dir in entries:
                if not is_dir:
                    _quietly(os.unlink, name, dir_fd=top)
                    continue
                _quietly(os.chmod, name, 0o700, dir_fd=top, follow_symlinks=False)
                try:
                    sub = os.open(name, flags, dir_fd=top)
                except OSError:
                    continue
                try:
                    with os.scandir(sub) as it:
                        inner = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
                    for child, child_is_dir in inner:
                        if child_is_dir:
                            moved += 1
                            _quietly(os.rename, child, f".flat-{moved}", src_dir_fd=sub, dst_dir_fd=top)
                        else:
                            _quietly(os.unlink, child, dir_fd=sub)
                finally:
                    os.close(sub)
                _quietly(os.rmdir, name, dir_fd=top)
    except OSError:
        pass
    finally:
        os.close(top)
    _quietly(os.rmdir, path)


def _quietly(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except OSError:
        pass


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

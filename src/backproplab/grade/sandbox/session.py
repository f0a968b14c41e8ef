"""One student's session: their source loaded in a confined process, called with plain data.

`Sandbox.session(source)` (launcher.py) hands one out. Requests and replies
cross on a socket of their own, one frame of the wire codec each; what the
student prints goes to a separate, capped pipe.
"""

from __future__ import annotations

import os
import selectors
import socket
import time
from typing import TYPE_CHECKING, Any

from .inside.wire import FRAME_HEADER, encode
from .protocol import Dead, SandboxError, StudentError, describe_exit, parse_reply, reply_value

if TYPE_CHECKING:
    from .launcher import Sandbox


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

        Arguments may be numbers, strings, numpy arrays, and lists/tuples/dicts of
        these. The result is plain data checked by the wire codec (the grader judges
        its shape and values). StudentError on any failure.
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
            reply = parse_reply(self._exchange(encode({**message, "seq": self._seq}), deadline), self._seq)
        except Dead as e:
            self._dead = str(e)
            status = self._end(grace=0.1 if e.channel_closed else 0.0, died=True)
            if status is not None:
                self._dead = describe_exit(status, self._limits.cpu_s)
            raise StudentError(self._dead) from None
        return reply_value(reply)

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
                    raise Dead("closed the result channel", channel_closed=True) from None
            if len(self._inbox) >= FRAME_HEADER.size:
                (n,) = FRAME_HEADER.unpack_from(self._inbox)
                if n > cap:
                    raise Dead(f"returned more than {self._limits.result_mb} MB")
                if not pending and len(self._inbox) >= FRAME_HEADER.size + n:
                    payload = bytes(self._inbox[FRAME_HEADER.size:FRAME_HEADER.size + n])
                    del self._inbox[:FRAME_HEADER.size + n]
                    return payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Dead(f"timed out after {self._limits.timeout_s:g} s (an infinite loop, or waiting for input?)")
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
                        raise Dead("closed the result channel", channel_closed=True)
                    self._inbox += data

    def _drain_output(self) -> None:
        """Read the stdout/stderr pipe without blocking; keep at most output_bytes."""
        while not self._out_eof:  # after end of file the pipe is no longer watched
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
            if self._sandbox.running:  # else the zygote died, and its namespace with it
                self._sandbox.control_send({"op": "end", "pid": self._pid, "reply": False})
            self._drain_output()
            return None
        status = None
        try:
            reply = self._sandbox.control_request({"op": "end", "pid": self._pid, "grace": grace})
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

"""What a session can end in, and how the grader reads a reply: shared by the real sandbox
(session.py) and the in-process stand-in (inprocess.py)."""

from __future__ import annotations

import os
import signal
from typing import Any

from ...errors import SubmissionError
from .inside.wire import WireError, decode

MAX_STR = 1000  # longest string student code may return


class StudentError(SubmissionError):
    """Student code failed: an exception, timeout, memory, crash, or a bad return value.

    The message is one line, safe to show the student (it never holds hidden inputs).
    """


class ForbiddenImport(StudentError):
    """Student code imported a module the assignment forbids (torch, sympy, ...)."""


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the student's fault)."""


class Dead(Exception):
    """The session's process is gone or must be killed; the message says why."""

    def __init__(self, reason: str, channel_closed: bool = False) -> None:
        super().__init__(reason)
        self.channel_closed = channel_closed  # the child may have exited: its status explains more


def parse_reply(payload: bytes, seq: int) -> dict:
    """Decode one reply frame's payload (trusting nothing in it); Dead if it is not a reply to `seq`."""
    try:
        reply = decode(payload, max_str=MAX_STR, clean_text=True)
    except WireError as e:
        raise Dead(f"sent malformed data on the result channel ({e})") from None
    if type(reply) is not dict or reply.get("seq") != seq or not ("ok" in reply or "error" in reply):
        raise Dead("sent an unexpected message on the result channel")
    return reply


def reply_value(reply: dict) -> Any:
    """The value of a parsed reply, or the student's error raised as ForbiddenImport / StudentError."""
    if "error" in reply:
        error = ForbiddenImport if reply["error"] == "forbidden" else StudentError
        raise error(str(reply.get("message", "failed"))[:MAX_STR])
    return reply["ok"]


def describe_exit(status: int, cpu_s: int) -> str:
    """A one-line reason from the child's wait status, for a student who closed or crashed the channel."""
    if os.WIFEXITED(status):
        return f"the program exited (exit code {os.WEXITSTATUS(status)}) instead of returning"
    sig = os.WTERMSIG(status)
    if sig == signal.SIGKILL:
        return f"the program was killed (more than {cpu_s} s of CPU time?)"
    name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
    return f"the program crashed ({name})"

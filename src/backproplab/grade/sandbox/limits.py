"""Resource limits of one student session."""

from __future__ import annotations

from dataclasses import dataclass

from ...tasks import FORBIDDEN_MODULES


@dataclass
class Limits:
    """Resource limits for one student session."""

    timeout_s: float = 10.0  # wall clock, for loading the source and for each call
    cpu_s: int = 60  # CPU seconds for the whole session (a backstop behind timeout_s)
    memory_mb: int = 1024  # address space of the student process
    nproc: int = 32  # processes and threads of the unprivileged uid
    fsize_mb: int = 16  # largest file the student may write
    output_bytes: int = 64_000  # stdout + stderr kept; the rest is discarded
    forbidden_modules: tuple[str, ...] = FORBIDDEN_MODULES
    result_mb: int = 16  # largest result frame the grader accepts
    tmp_mb: int = 64  # size of the sandbox's private /tmp (bubblewrap only)

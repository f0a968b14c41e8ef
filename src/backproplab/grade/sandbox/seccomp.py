"""The seccomp filter every student process runs under, compiled here with libseccomp (pyseccomp).

The grader compiles the filter once into a classic BPF program; the zygote
receives its bytes in its configuration and each session's child loads it with
prctl (inside/zygote.py) just before it runs student code, after dropping to
uid 65534 and setting no_new_privs. Filters are inherited by every thread.

What it denies (EPERM unless said otherwise), and why:

* new namespaces (`unshare`, `setns`, `clone` with any CLONE_NEW* flag): a user
  namespace would give the student capabilities over new mounts and namespaces;
* creating processes (`fork`, `vfork`, `clone` without CLONE_THREAD; `clone3`
  answers ENOSYS so that glibc falls back to `clone`, which the filter can
  read): with one process per session (threads share its address space),
  RLIMIT_AS caps the whole session's memory, and nothing outlives a call;
* mounting and changing roots (`mount`, `umount2`, `pivot_root`, `chroot`, the
  new mount API);
* looking into other processes (`ptrace`, `process_vm_readv/writev`, `kcmp`,
  `pidfd_getfd`);
* the kernel keyrings (`keyctl`, `add_key`, `request_key`): a uid's user keyring
  is shared by every sandbox on the machine and outlives the run;
* `bpf`, `perf_event_open`, `userfaultfd`, io_uring, and the administrative
  calls (modules, kexec, reboot, swap, clocks, host name, accounting, ...).

Variant "no_ipc_ns" also denies System V IPC and POSIX message queues: it is
used where a session could not get an IPC namespace of its own (the non-root
fallback), so that no segment can pass from one session to the next.
"""

from __future__ import annotations

import errno
import os
import tempfile
from functools import cache

CLONE_THREAD = 0x00010000
CLONE_NEW_FLAGS = (0x00000080, 0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)

DENIED = (
    "unshare", "setns",
    "fork", "vfork",
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "iopl", "ioperm", "quotactl", "quotactl_fd", "name_to_handle_at",
    "open_by_handle_at", "syslog", "vhangup", "lookup_dcookie", "fanotify_init", "nfsservctl",
    "personality", "uselib", "ustat", "sysfs", "_sysctl",
)
IPC = ("shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semtimedop", "semctl",
       "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
       "mq_notify", "mq_getsetattr")


class SeccompUnavailable(RuntimeError):
    """libseccomp (or its Python binding) is not installed: the filter cannot be compiled."""


def _compile(deny_ipc: bool) -> bytes:
    try:
        import pyseccomp as sc

        f = sc.SyscallFilter(defaction=sc.ALLOW)  # any other architecture's calls: killed (libseccomp's default)
    except Exception as e:  # ImportError, or libseccomp.so.2 missing (OSError/AttributeError from ctypes)
        raise SeccompUnavailable(f"no seccomp filter: {type(e).__name__}: {e}") from None

    def deny(name: str, *args, code: int = errno.EPERM) -> None:
        try:
            f.add_rule(sc.ERRNO(code), name, *args)
        except Exception:  # a call this architecture or kernel does not have
            pass

    for name in DENIED + (IPC if deny_ipc else ()):
        deny(name)
    deny("clone3", code=errno.ENOSYS)
    deny("clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))  # a new process, not a thread
    for flag in CLONE_NEW_FLAGS:
        deny("clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()


@cache
def student_filters() -> dict[str, str]:
    """The compiled filters as hex (for the zygote's JSON configuration): "ipc_ns" and "no_ipc_ns"."""
    if not hasattr(os, "fork") or not os.uname().sysname == "Linux":
        raise SeccompUnavailable("seccomp exists on Linux only")
    return {"ipc_ns": _compile(False).hex(), "no_ipc_ns": _compile(True).hex()}

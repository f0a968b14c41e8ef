"""Each layer of the sandbox shown on its own: the mount plan, the seccomp filter, the IPC
namespace per session, one process per session (so the memory limit is the session's), a
zygote that survives whatever a student leaves behind, and a refusal, with bwrap's own
reason, where bubblewrap cannot start. docs/sandbox.md lists these tests by layer."""

from __future__ import annotations

import errno
import shutil

import numpy as np
import pytest

from backproplab.grade.sandbox import STRONG, Limits, Sandbox, SandboxError, launcher, mounts

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

# Every call the filter must deny, by x86-64 number, with the errno it must give.
SYSCALLS = '''
import ctypes, os, threading
libc = ctypes.CDLL(None, use_errno=True)
CALLS = {
    "unshare(CLONE_NEWUSER)": (272, 0x10000000), "unshare(CLONE_NEWNS)": (272, 0x00020000),
    "unshare(CLONE_NEWNET)": (272, 0x40000000), "setns": (308, 0, 0),
    "clone(CLONE_NEWUSER)": (56, 0x10000000 | 17, 0, 0, 0, 0), "clone (a new process)": (56, 17, 0, 0, 0, 0),
    "fork": (57,), "vfork": (58,), "clone3": (435, 0, 0),
    "mount": (165, b"none", b"/tmp", b"tmpfs", 0, 0), "umount2": (166, b"/tmp", 0), "pivot_root": (155, b"/", b"/"),
    "chroot": (161, b"/"), "fsopen": (430, b"tmpfs", 0), "open_tree": (428, -100, b"/", 0),
    "ptrace(PTRACE_TRACEME)": (101, 0, 0, 0, 0), "process_vm_readv": (310, 1, 0, 0, 0, 0, 0),
    "keyctl": (250, 0, -4, 0), "add_key": (248, b"user", b"k", b"v", 1, -4), "request_key": (249, b"user", b"k", 0, -4),
    "bpf": (321, 0, 0, 0), "perf_event_open": (298, 0, 0, -1, -1, 0), "userfaultfd": (323, 0),
    "io_uring_setup": (425, 1, 0), "init_module": (175, 0, 0, b""), "kexec_load": (246, 0, 0, 0, 0),
    "reboot": (169, 0, 0, 0, 0), "swapon": (167, b"/tmp/x", 0), "sethostname": (170, b"x", 1),
    "settimeofday": (164, 0, 0), "acct": (163, 0), "syslog": (103, 3, 0, 0),
}

def denied():
    out = {}
    for name, (nr, *args) in CALLS.items():
        result = libc.syscall(nr, *args)
        out[name] = 0 if result >= 0 else ctypes.get_errno()
    return out

def threads_work():
    box = []
    t = threading.Thread(target=lambda: box.append(sum(range(10))))
    t.start()
    t.join()
    return box
'''


@pytest.fixture(scope="module")
def box():
    with Sandbox(Limits(timeout_s=5, memory_mb=512), mode="bubblewrap") as b:
        yield b


def test_isolation_is_bubblewrap_with_seccomp(box):
    assert box.isolation == STRONG


@pytest.mark.parametrize("mode", ["bubblewrap", "fallback"])
def test_seccomp_denies_every_escape_and_leaves_threads(mode):
    with Sandbox(Limits(timeout_s=5), mode=mode) as b, b.session(SYSCALLS) as s:
        got = s.call("denied")
        want = {name: errno.ENOSYS if name == "clone3" else errno.EPERM for name in got}
        assert got == want
        assert s.call("threads_work") == [45]


def test_no_package_but_numpy_exists_inside(box):
    source = ("import os, sys\n"
              "def look():\n"
              "    import numpy\n"
              "    sites = [d for d in sys.path if d.endswith(('site-packages', 'dist-packages'))]\n"
              "    return sorted(os.listdir('/opt/packages')), [os.listdir(d) for d in sites if os.path.isdir(d)], "
              "sorted(os.listdir('/opt')), numpy.__file__\n")
    with box.session(source) as s:
        packages, sites, opt, numpy_file = s.call("look")
    # numpy and what its wheel ships beside it (numpy.libs); every package folder is empty
    assert {p.name for p in mounts.allowed_package_paths()} == set(packages) and "numpy" in packages
    assert all(listing == [] for listing in sites)
    assert set(opt) <= {"backproplab", "packages", "python", "python-exec", "python-bin"}
    assert numpy_file.startswith("/opt/packages/numpy/")


def test_each_session_has_its_own_ipc_namespace(box):
    """A System V segment is visible inside the session that made it, never in the next one."""
    source = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              "def make():\n    return libc.shmget(0x5EED, 4096, 0o1000 | 0o666)\n"
              "def find():\n    return libc.shmget(0x5EED, 4096, 0o666)\n"
              "def ns():\n    import os\n    return os.readlink('/proc/self/ns/ipc')\n")
    with box.session(source) as first:
        assert first.call("make") >= 0 and first.call("find") >= 0
        first_ns = first.call("ns")
    with box.session(source) as second:
        assert second.call("find") == -1
        assert second.call("ns") != first_ns


def test_memory_limit_binds_the_session_not_each_process():
    """With one process per session (no fork) and threads sharing its address space, the
    per-process limit is the session's: four threads cannot each take what one may."""
    source = ("import os, threading\nimport numpy as np\n"
              "def hold():\n"
              "    blocks, errors = [], []\n"
              "    def grab():\n"
              "        try:\n            blocks.append(np.ones(25_000_000))\n"  # 200 MB each
              "        except MemoryError:\n            errors.append(1)\n"
              "    ts = [threading.Thread(target=grab) for _ in range(4)]\n"
              "    [t.start() for t in ts]\n    [t.join() for t in ts]\n"
              "    try:\n        os.fork()\n        forked = True\n    except OSError:\n        forked = False\n"
              "    return len(blocks), len(errors), forked\n")
    with Sandbox(Limits(timeout_s=10, memory_mb=600), mode="bubblewrap") as b, b.session(source) as s:
        held, failed, forked = s.call("hold")
    assert held * 200 < 600 and failed >= 1 and not forked


def test_the_zygote_survives_a_tree_too_deep_to_remove_recursively(box):
    source = ("import os\n"
              "def deep():\n"
              "    fd = os.open('.', os.O_RDONLY)\n"
              "    for _ in range(3000):\n"
              "        os.mkdir('d', dir_fd=fd)\n"
              "        sub = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
              "        os.close(fd)\n        fd = sub\n"
              "    os.mkdir('locked', dir_fd=fd)\n    os.chmod('locked', 0, dir_fd=fd)\n"
              "    return os.getcwd()\n"
              "def left(path):\n    return os.path.exists(path), sorted(os.listdir('/tmp'))\n")
    zygote = box._proc.pid
    with box.session(source) as s:
        where = s.call("deep")
    with box.session(source) as s:
        exists, tmp = s.call("left", where)
    assert not exists and len(tmp) == 1  # only this session's own folder
    assert box._proc.pid == zygote  # the same warm worker: its cleanup did not die


def test_bwrap_failure_is_refused_with_its_own_reason(monkeypatch):
    real = launcher.bwrap_command

    def broken(*args):
        argv, env = real(*args)
        return [argv[0], "--no-such-option", *argv[1:]], env

    monkeypatch.setattr(launcher, "bwrap_command", broken)
    with pytest.raises(SandboxError) as refused:
        Sandbox()
    message = str(refused.value)
    assert message.startswith("bubblewrap cannot start: bwrap failed: bwrap: Unknown option --no-such-option")
    assert "--allow-weak-isolation" in message and "\n" not in message
    with pytest.warns(RuntimeWarning), Sandbox(weak_ok=True) as weak:
        assert weak.isolation == "weak (fallback): bwrap failed: bwrap: Unknown option --no-such-option"


def test_a_forged_or_huge_harness_reply_fails_one_check(box):
    """Student code that writes its own reply frame (fields missing) or returns 10**400 costs
    the checks of that call only, never the problem ("internal grading error")."""
    from backproplab.grade.code import grade_code
    from backproplab.problems import coding

    good = coding.solution_code("losses")
    huge = good.replace("def mse_loss(pred, y):", "def mse_loss(pred, y):\n    return 10 ** 400\n\ndef _unused(pred, y):")
    result = grade_code("p1", "losses", 5, 6.0, huge, box)
    assert result.error is None
    by = {c.name: c for c in result.checks}
    assert by["mse_loss, hidden case 1"].score == 0 and "compared" in by["mse_loss, hidden case 1"].message
    assert by["mse_grad, hidden case 1"].score == 1  # every other function still counts
    forged = good + ('\nimport os, json, struct\n'
                     'def _forge(calls):\n'
                     '    header = json.dumps({"v": ["d", "seq", 2, "ok", ["l"] + [["d", "x", 1]] * len(calls)], "n": []}).encode()\n'
                     '    payload = struct.pack("<I", len(header)) + header\n'
                     '    os.write(3, struct.pack("<Q", len(payload)) + payload)\n'
                     '    os._exit(0)\n')
    forged = forged.replace("def bce_loss(z, y):", "def bce_loss(z, y):\n    import sys\n"
                            "    _forge(sys._getframe(1).f_locals['calls'])\n\ndef _bce(z, y):")
    result = grade_code("p1", "losses", 5, 6.0, forged, box)
    assert not (result.error or "").startswith("internal"), result.error
    assert all(not c.message.startswith("internal") for c in result.checks)


def test_numpy_still_computes_inside(box):
    with box.session("import numpy as np\ndef f(a):\n    return np.linalg.solve(a, np.ones(2))\n") as s:
        assert np.allclose(s.call("f", np.array([[2.0, 0.0], [0.0, 4.0]])), [0.5, 0.25])

"""The command lines that start the zygote: bubblewrap's mount plan, or the weaker fallback.

Inside bubblewrap only /usr, the base Python install, the interpreter's
site-packages and the `inside` package exist, all read-only; an installed
backproplab (which carries the reference solutions and hidden tests) and the
forbidden modules are covered over.
"""

from __future__ import annotations

import importlib.util
import json
import os
import site
import sys
from pathlib import Path

from .limits import Limits

UNPRIVILEGED_UID = 65534  # "nobody": RLIMIT_NPROC does not bind uid 0, so never run students as root
INSIDE_PACKAGE = Path(__file__).resolve().parent / "inside"  # bound as a package of its own
INSIDE_PARENT = "/opt/backproplab"  # where the package's folder appears inside bubblewrap
# What the interpreter runs: the site-packages first (python -S skips them), then the
# package's parent folder on sys.path (python -I puts nothing there), then the zygote.
BOOT = ("import json, site, sys\n"
        "for d in json.loads(sys.argv[2])['site_dirs']:\n"
        "    site.addsitedir(d)\n"
        "sys.path.insert(0, sys.argv[3])\n"
        "from inside.zygote import main\n"
        "main()\n")


class Mounts:
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


def bwrap_command(limits: Limits, control_fd: int, config: dict) -> tuple[list[str], dict[str, str]]:
    """The bwrap command line that starts the zygote, and its environment.

    Paths are computed from the running interpreter; the base Python install and
    the site-packages are re-mounted under /opt so that nothing of /root, /home or
    /work (where the repository, courses and gradebooks live) exists inside.
    """
    mounts = Mounts()
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
    argv += ["--ro-bind", str(INSIDE_PACKAGE), f"{INSIDE_PARENT}/{INSIDE_PACKAGE.name}",
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
    argv += [python, "-I", "-S", "-B", "-c", BOOT, str(control_fd), json.dumps(config), INSIDE_PARENT]
    env = child_env() | {"LD_LIBRARY_PATH": f"{prefix}/lib"}
    return argv, env


def child_env() -> dict[str, str]:
    """A minimal environment: no secret of the grader's (course key, tokens) reaches students."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/tmp",
            # one BLAS thread: deterministic sums, and threads count against RLIMIT_NPROC
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def fallback_command(control_fd: int, config: dict, tmp: str) -> tuple[list[str], dict[str, str]]:
    """The weaker fallback: the same zygote as a plain subprocess of this interpreter."""
    config.update(site_dirs=[], tmp=tmp, parent_pid=os.getpid(), drop_caps=False,
                  uid=UNPRIVILEGED_UID if os.geteuid() == 0 else None)
    return ([sys.executable, "-I", "-B", "-c", BOOT, str(control_fd), json.dumps(config), str(INSIDE_PACKAGE.parent)],
            child_env())

"""The command lines that start the zygote: bubblewrap's mount plan, or the weaker fallback.

The file system is the barrier: inside bubblewrap exist only /usr (for the C
libraries), the base Python install (its standard library), the packages student
code may use (`ALLOWED_PACKAGES`: numpy and whatever its distribution ships
beside it, such as numpy.libs) and the `inside` package, all read-only. Every
site-packages and dist-packages folder of the bound trees is covered by an
empty tmpfs, so sympy, backproplab (with its reference solutions and hidden
tests) and everything else installed cannot be imported even by code that has
removed the import blocker: there is nothing on disk to import.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import sys
from functools import cache
from pathlib import Path

from .limits import Limits

UNPRIVILEGED_UID = 65534  # "nobody": RLIMIT_NPROC does not bind uid 0, so never run students as root
INSIDE_PACKAGE = Path(__file__).resolve().parent / "inside"  # bound as a package of its own
INSIDE_PARENT = "/opt/backproplab"  # where the package's folder appears inside bubblewrap
PACKAGES = "/opt/packages"  # where the allowed packages appear inside bubblewrap
ALLOWED_PACKAGES = ("numpy",)  # what student code may import besides the standard library
# Where installed packages live; inside the bound trees these are covered over.
PACKAGE_FOLDERS = ("site-packages", "dist-packages")
# What the interpreter runs: the allowed packages' folder first (python -S skips the
# site-packages), then the package's parent folder on sys.path (python -I puts nothing
# there), then the zygote.
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

    def package_folders(self) -> list[str]:
        """Every site-packages or dist-packages folder inside the bound trees (where they appear inside)."""
        found = []
        for host, _ in self.binds:
            if not host.is_dir():
                continue
            for lib in ("lib", "lib64", "local/lib", "local/lib64"):
                for name in PACKAGE_FOLDERS:
                    for d in sorted((host / lib).glob(f"python*/{name}")):
                        if d.is_dir() and not d.is_symlink():
                            found.append(self.inside(d))
        return [d for d in found if d is not None]


@cache
def allowed_package_paths(names: tuple[str, ...] = ALLOWED_PACKAGES) -> tuple[Path, ...]:
    """The top-level files and folders of the distributions that provide `names`, and of their
    requirements (numpy: numpy/ and numpy.libs/), as installed for this interpreter."""
    paths: dict[Path, None] = {}
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        root = Path(str(dist.locate_file(""))).resolve()
        for f in dist.files or []:
            top = f.parts[0] if f.parts else ""
            if top and top != ".." and not top.endswith((".dist-info", ".egg-info")) and top != "__pycache__":
                paths[root / top] = None
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(re.match(r"[A-Za-z0-9._-]+", req).group(0))
    return tuple(p for p in paths if p.exists())


def bwrap_command(limits: Limits, control_fd: int, config: dict) -> tuple[list[str], dict[str, str]]:
    """The bwrap command line that starts the zygote, and its environment.

    Paths are computed from the running interpreter; the base Python install is
    re-mounted under /opt, so that nothing of /root, /home or /work (where the
    repository, courses and gradebooks live) exists inside, and the allowed
    packages under /opt/packages, each folder on its own: the rest of the
    site-packages they came from is never bound.
    """
    mounts = Mounts()
    prefix = mounts.place(Path(sys.base_prefix).resolve(), "/opt/python")
    mounts.place(Path(sys.base_exec_prefix).resolve(), "/opt/python-exec")
    exe = Path(sys.executable).resolve()
    python = mounts.inside(exe) or f"{mounts.place(exe.parent, '/opt/python-bin')}/{exe.name}"
    covered = mounts.package_folders()
    packages = [(p, f"{PACKAGES}/{p.name}") for p in allowed_package_paths()]
    config["site_dirs"] = [PACKAGES]

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
    for dst in covered:  # every installed package of the bound trees: an empty, read-only folder
        argv += ["--perms", "0555", "--tmpfs", dst, "--remount-ro", dst]
    argv += ["--perms", "0755", "--dir", PACKAGES]
    for host, dst in packages:
        argv += ["--ro-bind", str(host), dst]
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

"""A class of N submissions with one of every attack among them, graded by the real `backproplab grade`.

    .venv/bin/python benchmarks/hostile_class.py [--students 1000] [--workers 2] [--keep DIR]

The demo assignment (four hand problems, two numpy tasks) is generated for N
students. Every attacker hands in the blank notebook with one attack in it, so
an attacker may score nothing more than blank: every file of the sandbox
red-team corpus (tests/redteam/*.py) as its `mse_loss`; every function
returning zeros; a lone surrogate in an exception message and in a hand answer;
the exact-arithmetic bomb as a hand answer; student HTML in a markdown cell; a
notebook that is a link to a classmate's, and links to the course secret and a
key beside it. The rest hand in the reference answers.

It prints the wall time and checks, then prints (exit status 1 if any fails):
the run completed and wrote a result for every submission; every honest
student has full marks; no attacker scored above the blank notebook; the linked
notebook is one error row and nothing reached through a link is anywhere in
autograded/ or feedback/; every results.json names the isolation; neither the
course secret nor a raw student <script> is in any results.json or feedback page;
and nothing is left behind: no process of uid 65534, no System V shared memory,
semaphore or message queue (`ipcs`, /proc/sysvipc), no kernel key of uid 65534
(/proc/key-users), no sandbox folder of a grader that is gone in the temporary directory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backproplab.course.generate import generate
from backproplab.course.layout import Layout
from backproplab.course.solve import solve
from backproplab.grade.sandbox import UNPRIVILEGED_UID
from backproplab.grade.sandbox.launcher import FALLBACK_DIR

HW = "demo"
REDTEAM = Path(__file__).resolve().parent.parent / "tests" / "redteam"
BOMB = "((((1 + 1/10**50)**64)**64)**64)**64"
ZEROS = {
    "p5": "import numpy as np\n"
          "def mse_loss(pred, y):\n    return 0.0\n"
          "def mse_grad(pred, y):\n    return np.zeros_like(pred)\n"
          "def bce_loss(z, y):\n    return 0.0\n"
          "def bce_grad(z, y):\n    return np.zeros_like(z)\n"
          "def softmax_ce_loss(z, y):\n    return 0.0\n"
          "def softmax_ce_grad(z, y):\n    return np.zeros_like(z)\n",
    "p6": "import numpy as np\n"
          "def clip_by_global_norm(grads, max_norm):\n    return [np.zeros_like(g) for g in grads]\n",
}
SURROGATE = "def clip_by_global_norm(grads, max_norm):\n    raise ValueError('\\ud800\\x1b[2J graded 100/100')\n"
SCRIPT = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">"


def student_orphans() -> set[int]:
    """Processes of uid 65534, and bwrap processes, that no grader owns any more (their parent
    is init): what an escape, or a sandbox the grader failed to end, leaves. Sandboxes of
    other graders running on the machine have a live parent and are not counted."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
        ppid = re.search(r"^PPid:\s+(\d+)", status, re.M)
        name = re.search(r"^Name:\s+(\S+)", status, re.M)
        ours = (uid and int(uid.group(1)) == UNPRIVILEGED_UID) or (name and name.group(1) == "bwrap")
        if ours and ppid and int(ppid.group(1)) in (0, 1):
            found.add(int(pid))
    return found


def leftovers() -> dict:
    """What a run must not leave: student processes, System V IPC objects, kernel keys, sandbox folders."""
    procs = student_orphans()
    time.sleep(1.0)
    procs = sorted(procs & student_orphans())  # still there a second later, not one being reaped
    ipc = {kind: len(Path(f"/proc/sysvipc/{kind}").read_text().splitlines()) - 1 for kind in ("shm", "sem", "msg")}
    keys = 0
    for line in Path("/proc/key-users").read_text().splitlines():
        uid, _, rest = line.partition(":")
        if uid.strip() == str(UNPRIVILEGED_UID):
            keys = int(rest.split()[1].split("/")[0])
    dirs = sorted(p.name for p in Path(tempfile.gettempdir()).glob(f"{FALLBACK_DIR}*-*") if orphaned(p.name))
    ipcs = subprocess.run(["ipcs"], capture_output=True, text=True).stdout if shutil.which("ipcs") else "(no ipcs)"
    return {"processes": procs, "ipc": ipc, "keys": keys, "sandbox_dirs": dirs, "ipcs": ipcs}


def orphaned(name: str) -> bool:
    """Is this fallback folder's grader (its pid is in the name) gone?"""
    pid = name[len(FALLBACK_DIR):].partition("-")[0]
    if not pid.isdigit():
        return False  # another version's folder
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass
    return False


def _cells(nb: dict) -> dict[str, dict]:
    return {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}


def attacks(layout: Layout, course: Path, port: int) -> dict[str, dict]:
    """Attacker -> {"cells": {grade id: source}, "markdown": str | None, "link": bool}."""
    secret = course / ".backproplab" / "secret"
    secret_sha = hashlib.sha256(secret.read_text().strip().encode()).hexdigest() if secret.exists() else ""
    out: dict[str, dict] = {}
    for path in sorted(REDTEAM.glob("*.py")):
        source = (path.read_text().replace("__SOLUTIONS__", "/nonexistent").replace("__AUTOGRADER__", "/nonexistent")
                  .replace("__COURSE__", str(course)).replace("__PORT__", str(port))
                  .replace("__SENTINEL_SHA__", secret_sha).replace("__HOST_SITES__", repr(sys.path)))
        out[f"x-{path.stem.replace('_', '-')}"] = {"cells": {"p5": source}}
    out["x-zeros"] = {"cells": dict(ZEROS)}
    out["x-surrogate"] = {"cells": {"p6": SURROGATE, "p1": "loss = '\\ud800\\x1b[31m'\n"}}
    out["x-bomb"] = {"cells": {"p1": f"loss = {BOMB}\n"}}
    out["x-html"] = {"cells": {}, "markdown": f"My notes {SCRIPT}"}
    out["x-link-classmate"] = {"cells": {}, "link": "notebook"}
    out["x-link-secret"] = {"cells": {}, "link": "files"}
    return out


def hand_in(layout: Layout, course: Path, honest: list[str], plan: dict[str, dict]) -> None:
    for s in honest:
        solve(HW, course, s, layout.submission_dir(s) / layout.notebook_name)
    for s, attack in plan.items():
        path = layout.submission_dir(s) / layout.notebook_name
        path.parent.mkdir(parents=True, exist_ok=True)
        if attack.get("link") == "notebook":
            path.symlink_to(layout.submission_dir(honest[0]) / layout.notebook_name)
            continue
        nb = json.loads(layout.released_notebook(s).read_text())
        for gid, source in attack["cells"].items():
            _cells(nb)[gid]["source"] = source
        if attack.get("markdown"):
            nb["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": attack["markdown"]})
        path.write_text(json.dumps(nb))
        if attack.get("link") == "files":
            (path.parent / "notes.txt").symlink_to(course / ".backproplab" / "secret")
            (path.parent / "key.json").symlink_to(layout.key_json(honest[0]))


def run(root: Path, students: int, workers: int) -> dict:
    """Generate, hand in, grade, check; the figures and the failed checks."""
    course = root / "course"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        t0 = time.perf_counter()
        # the attackers' ids first, to know how many honest ones make up the class
        probe_plan = attacks(Layout(course, HW), course, 0)
        honest = [f"s{i:04d}" for i in range(max(1, students - len(probe_plan)))]
        generate(HW, course, honest + sorted(probe_plan), jobs=workers)
        layout = Layout(course.resolve(), HW)
        plan = attacks(layout, course.resolve(), listener.getsockname()[1])
        hand_in(layout, course.resolve(), honest, plan)
        prepared = time.perf_counter() - t0
        before = leftovers()
        t1 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "backproplab.cli", "grade", HW, "--course", str(course),
                               "--workers", str(workers)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        graded_s = time.perf_counter() - t1
        time.sleep(0.5)  # the zygotes' last sessions are reaped as they exit
        after = leftovers()
    finally:
        listener.close()
    return {"prepared_s": prepared, "grade_s": graded_s, "students": len(honest) + len(plan), "attackers": len(plan),
            "proc": proc, "before": before, "after": after,
            "failures": check(layout, course.resolve(), honest, plan, proc, before, after)}


def check(layout: Layout, course: Path, honest: list[str], plan: dict, proc, before: dict, after: dict) -> list[str]:
    failures = []
    secret = (course / ".backproplab" / "secret").read_text().strip()
    if "Traceback" in proc.stderr or proc.returncode not in (0, 1):
        failures.append(f"the run crashed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    blank = None
    for s in honest + sorted(plan):
        path = layout.results_json(s)
        if not path.exists():
            if plan.get(s, {}).get("link") != "notebook":
                failures.append(f"{s}: no results.json")
            continue
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
        if not data.get("isolation"):
            failures.append(f"{s}: results.json does not say the isolation")
        if secret in text:
            failures.append(f"{s}: the course secret is in results.json")
        page = layout.feedback_html(s)
        if page.exists() and (secret in page.read_text(encoding="utf-8") or "<script>window.pwned" in page.read_text()):
            failures.append(f"{s}: the secret or the student's script is in the feedback page")
        if s in honest and data["score"] != data["max_score"]:
            failures.append(f"honest {s}: {data['score']} of {data['max_score']}")
        if s == "x-html":  # the blank notebook plus markdown only
            blank = data["score"]
    for s in plan:
        if plan[s].get("link") == "notebook" and f"  error  {s}: " not in proc.stdout:
            failures.append(f"{s}: not one error row")
        for top in (layout.autograded_dir(s), layout.feedback_dir(s)):
            for f in top.rglob("*") if top.exists() else []:
                if f.is_file() and secret in f.read_text(errors="replace"):
                    failures.append(f"{s}: the course secret reached {f.relative_to(course)}")
        path = layout.results_json(s)
        if path.exists() and blank is not None and json.loads(path.read_text())["score"] > blank:
            failures.append(f"{s}: scored {json.loads(path.read_text())['score']} > blank {blank}")
    for what in ("processes", "keys", "sandbox_dirs", "ipc", "ipcs"):
        if after[what] != before[what] and not (what == "processes" and not after[what]):
            failures.append(f"left behind: {what} {before[what]} -> {after[what]}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000, help="class size, attackers included (default 1000)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="build the course here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-class-") as tmp:
        root = args.keep or Path(tmp)
        r = run(root, args.students, args.workers)
    errors = sum(line.startswith("  error  ") for line in r["proc"].stdout.splitlines())
    print(f"{r['students']} submissions ({r['attackers']} attacks, {r['students'] - r['attackers']} honest), "
          f"{args.workers} workers, load average {os.getloadavg()[0]:.1f}")
    print(f"  generate + hand in: {r['prepared_s']:.1f} s; backproplab grade: {r['grade_s']:.1f} s "
          f"({r['grade_s'] / r['students'] * 1000:.1f} ms per submission), exit status {r['proc'].returncode}, "
          f"{errors} error rows")
    print(f"  {r['proc'].stdout.strip().splitlines()[0] if r['proc'].stdout.strip() else '(no summary)'}")
    print(f"  left behind: processes of uid {UNPRIVILEGED_UID} {len(r['after']['processes'])}, System V IPC "
          f"{r['after']['ipc']} (before {r['before']['ipc']}), keys of uid {UNPRIVILEGED_UID} "
          f"{r['after']['keys']} (before {r['before']['keys']}), sandbox folders {len(r['after']['sandbox_dirs'])}")
    for line in r["failures"]:
        print(f"  FAILED {line}")
    print("all checks pass" if not r["failures"] else f"{len(r['failures'])} checks failed")
    sys.exit(1 if r["failures"] else 0)


if __name__ == "__main__":
    main()

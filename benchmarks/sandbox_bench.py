"""Sessions per second of the sandbox: a warm zygote against a cold interpreter per submission.

A session loads a small source and makes 10 calls with small arrays. The cold
baseline is what any design that starts Python per submission pays at least:
`python -c "import numpy"` in a subprocess (no sandbox, no calls).

    .venv/bin/python benchmarks/sandbox_bench.py [--sessions 200] [--mode auto|bubblewrap|fallback]

To compare with another version in the same run (the machine is noisy: rounds of
the two alternate, so both see the same load), check that version's tree out and
name the folder that holds its `backproplab` package with --baseline:

    git worktree add /tmp/base 646527d
    .venv/bin/python benchmarks/sandbox_bench.py --baseline /tmp/base/src --rounds 8

Each version runs in a process of its own (`backproplab.grade.sandbox.Sandbox`
is the entry point in both layouts), kept warm between rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SOURCE = "import numpy as np\ndef mse_loss(y_pred, y):\n    return np.mean((y_pred - y) ** 2)\n"


def warm(box, sessions: int) -> float:
    """Seconds per session: load SOURCE, 10 calls with 5-element arrays, close."""
    import numpy as np

    y_pred, y = np.arange(5.0), np.ones(5)
    start = time.perf_counter()
    for _ in range(sessions):
        with box.session(SOURCE) as s:
            for _ in range(10):
                s.call("mse_loss", y_pred, y)
    return (time.perf_counter() - start) / sessions


def cold(runs: int) -> float:
    """Seconds per `python -c "import numpy"` subprocess."""
    start = time.perf_counter()
    for _ in range(runs):
        subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    return (time.perf_counter() - start) / runs


def serve(mode: str) -> None:
    """--serve: one warm Sandbox of whichever backproplab is importable; each stdin line N runs N sessions."""
    from backproplab.grade.sandbox import Sandbox

    kwargs = {} if mode == "auto" else {"mode": mode}
    with Sandbox(**kwargs) as box:
        warm(box, 5)  # first sessions fault in the zygote's pages
        print(json.dumps({"isolation": box.isolation}), flush=True)
        for line in sys.stdin:
            print(json.dumps({"seconds": warm(box, int(line))}), flush=True)


class Version:
    """A warm sandbox of one version in a process of its own."""

    def __init__(self, src: Path | None, mode: str) -> None:
        env = dict(os.environ)
        if src is not None:
            env["PYTHONPATH"] = str(src)
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", "--mode", mode], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.isolation = json.loads(self.proc.stdout.readline())["isolation"]

    def run(self, sessions: int) -> float:
        self.proc.stdin.write(f"{sessions}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["seconds"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.1f} ms [{min(xs) * 1000:.1f}–{max(xs) * 1000:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="sessions per measurement (default 200)")
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--mode", choices=("auto", "bubblewrap", "fallback"), default="auto")
    parser.add_argument("--baseline", type=Path, help="the folder holding another version's backproplab package")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds with --baseline (default 5)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.mode)
        return

    if args.baseline is None:
        this = Version(None, args.mode)
        per_session = statistics.median(this.run(args.sessions) for _ in range(3))
        this.close()
        per_cold = cold(args.cold_runs)
        print(f"isolation: {this.isolation}")
        print(f"warm session (load + 10 calls): {per_session * 1000:.1f} ms = {1 / per_session:.0f} sessions/s")
        print(f"cold python -c 'import numpy': {per_cold * 1000:.1f} ms = {1 / per_cold:.1f} per s")
        print(f"ratio cold/warm: {per_cold / per_session:.1f}x")
        return

    this, base = Version(None, args.mode), Version(args.baseline, args.mode)
    ours: list[float] = []
    theirs: list[float] = []
    for r in range(args.rounds):
        pair = [(this, ours), (base, theirs)]
        for version, out in pair if r % 2 == 0 else pair[::-1]:  # who goes first alternates
            out.append(version.run(args.sessions))
    this.close()
    base.close()
    ratios = [b / a for a, b in zip(ours, theirs)]
    print(f"isolation: this version {this.isolation}; baseline {base.isolation}")
    print(f"{args.rounds} alternating rounds of {args.sessions} warm sessions (load + 10 calls), "
          "per session, median [min–max] over rounds:")
    print(f"  this version: {spread(ours)} = {1 / statistics.median(ours):.0f} sessions/s")
    print(f"  baseline:     {spread(theirs)} = {1 / statistics.median(theirs):.0f} sessions/s")
    print(f"  baseline/this per round: median {statistics.median(ratios):.2f}x [{min(ratios):.2f}–{max(ratios):.2f}]")


if __name__ == "__main__":
    main()

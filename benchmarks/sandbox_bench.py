"""Sessions per second of the sandbox: a warm zygote against a cold interpreter per submission.

A session loads a small source and makes 10 calls with small arrays. The cold
baseline is what any design that starts Python per submission pays at least:
`python -c "import numpy"` in a subprocess (no sandbox, no calls).

    .venv/bin/python benchmarks/sandbox_bench.py [--sessions 200] [--mode auto|bubblewrap|fallback]

To compare with another version of the sandbox in the same run (the machine is
noisy: rounds of the two alternate, so both see the same load), put that
version's two files in a directory and name it with --baseline:

    mkdir /tmp/base
    git show HEAD~1:src/backproplab/grade/sandbox.py > /tmp/base/sandbox.py
    git show HEAD~1:src/backproplab/grade/sandbox_worker.py > /tmp/base/sandbox_worker.py
    .venv/bin/python benchmarks/sandbox_bench.py --baseline /tmp/base --rounds 8
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from backproplab.grade import sandbox as current

SOURCE = "import numpy as np\ndef mse_loss(y_pred, y):\n    return np.mean((y_pred - y) ** 2)\n"


def warm(box, sessions: int) -> float:
    """Seconds per session: load SOURCE, 10 calls with 5-element arrays, close."""
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


def load_baseline(directory: Path) -> ModuleType:
    """Import DIR/sandbox.py (with its DIR/sandbox_worker.py) as a package of its own, beside ours."""
    for name in ("sandbox.py", "sandbox_worker.py"):
        if not (directory / name).is_file():
            raise SystemExit(f"error: {directory / name} does not exist")
    spec = importlib.machinery.ModuleSpec("_sandbox_baseline", None, is_package=True)
    package = importlib.util.module_from_spec(spec)
    package.__path__ = [str(directory.resolve())]
    sys.modules["_sandbox_baseline"] = package
    return importlib.import_module("_sandbox_baseline.sandbox")


def spread(values: list[float]) -> str:
    """median [min–max] of per-session milliseconds."""
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.1f} ms [{min(ms):.1f}–{max(ms):.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200, help="sessions per measurement (default 200)")
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--mode", choices=("auto", "bubblewrap", "fallback"), default="auto")
    parser.add_argument("--baseline", type=Path, help="a directory with another sandbox.py and sandbox_worker.py")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds with --baseline (default 5)")
    args = parser.parse_args()

    if args.baseline is None:
        t0 = time.perf_counter()
        with current.Sandbox(mode=args.mode) as box:
            start_up = time.perf_counter() - t0
            warm(box, 5)  # first sessions fault in the zygote's pages
            per_session = warm(box, args.sessions)
        per_cold = cold(args.cold_runs)
        print(f"isolation: {box.isolation}; zygote start-up {start_up * 1000:.0f} ms")
        print(f"warm session (load + 10 calls): {per_session * 1000:.1f} ms = {1 / per_session:.0f} sessions/s")
        print(f"cold python -c 'import numpy': {per_cold * 1000:.1f} ms = {1 / per_cold:.1f} per s")
        print(f"ratio cold/warm: {per_cold / per_session:.1f}x")
        return

    base = load_baseline(args.baseline)
    ours: list[float] = []
    theirs: list[float] = []
    with current.Sandbox(mode=args.mode) as box, base.Sandbox(mode=args.mode) as other:
        warm(box, 5)
        warm(other, 5)
        for r in range(args.rounds):
            pair = [(box, ours), (other, theirs)]
            for sandbox, out in pair if r % 2 == 0 else pair[::-1]:  # who goes first alternates
                out.append(warm(sandbox, args.sessions))
        isolation = (box.isolation, other.isolation)
    ratios = [b / a for a, b in zip(ours, theirs)]
    print(f"isolation: this version {isolation[0]}; baseline {isolation[1]}")
    print(f"{args.rounds} alternating rounds of {args.sessions} warm sessions (load + 10 calls), "
          "per session, median [min–max] over rounds:")
    print(f"  this version: {spread(ours)} = {1 / statistics.median(ours):.0f} sessions/s")
    print(f"  baseline:     {spread(theirs)} = {1 / statistics.median(theirs):.0f} sessions/s")
    print(f"  baseline/this per round: median {statistics.median(ratios):.2f}x [{min(ratios):.2f}–{max(ratios):.2f}]")


if __name__ == "__main__":
    main()

"""Sessions per second of the sandbox: a warm zygote against a cold interpreter per submission.

A session loads a small source and makes 10 calls with small arrays. The cold
baseline is what any design that starts Python per submission pays at least:
`python -c "import numpy"` in a subprocess (no sandbox, no calls).

    .venv/bin/python benchmarks/sandbox_bench.py [--sessions 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from backproplab.grade.sandbox import Sandbox

SOURCE = "import numpy as np\ndef mse_loss(y_pred, y):\n    return np.mean((y_pred - y) ** 2)\n"


def warm(box: Sandbox, sessions: int) -> float:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=20)
    args = parser.parse_args()
    t0 = time.perf_counter()
    with Sandbox() as box:
        start_up = time.perf_counter() - t0
        warm(box, 5)  # first sessions fault in the zygote's pages
        per_session = warm(box, args.sessions)
    per_cold = cold(args.cold_runs)
    print(f"isolation: {box.isolation}; zygote start-up {start_up * 1000:.0f} ms")
    print(f"warm session (load + 10 calls): {per_session * 1000:.1f} ms = {1 / per_session:.0f} sessions/s")
    print(f"cold python -c 'import numpy': {per_cold * 1000:.1f} ms = {1 / per_cold:.1f} per s")
    print(f"ratio cold/warm: {per_cold / per_session:.1f}x")


if __name__ == "__main__":
    main()

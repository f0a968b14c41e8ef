"""The sandbox dies with the grader: a grader killed with SIGKILL mid-call leaves no student process."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import tempfile
from pathlib import Path

import psutil
import pytest

from backproplab.grade.sandbox import Sandbox, launcher

# A grader that starts a sandbox, has a student spin forever in a call, and waits to be killed.
GRADER = '''
import sys, threading
from backproplab.grade.sandbox import Limits, Sandbox
box = Sandbox(Limits(timeout_s=600), mode=sys.argv[1])
session = box.session("def spin():\\n    while True:\\n        pass\\n")
threading.Thread(target=session.call, args=("spin",), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
'''


@pytest.mark.parametrize("mode", ["bubblewrap", "fallback"])
def test_killing_the_grader_kills_every_sandbox_process(mode):
    if mode == "bubblewrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    grader = subprocess.Popen([sys.executable, "-c", GRADER, mode], stdout=subprocess.PIPE, text=True)
    try:
        assert grader.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while True:  # wait until the student's process is busy spinning
            spawned = psutil.Process(grader.pid).children(recursive=True)
            if any(p.cpu_times().user > 0.2 for p in spawned) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert spawned and any(p.cpu_times().user > 0.2 for p in spawned)
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    gone, alive = psutil.wait_procs(spawned, timeout=5)
    assert not alive, [(p.pid, p.name()) for p in alive]
    if mode == "fallback":  # its private folder outlived it; the next fallback Sandbox removes it
        Sandbox(mode="fallback").close()
        assert not list(Path(tempfile.gettempdir()).glob(f"{launcher.FALLBACK_DIR}{grader.pid}-*"))

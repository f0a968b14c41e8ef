"""formgrader, nbgrader's grading UI, on a course graded through the generated config, in a real
browser: the students' names from the roster, their scores, and the labelled feedback lines.

A real `jupyter server` with nbgrader's formgrader extension runs on 127.0.0.1 in the course
directory; headless Chromium, driven by selenium through the system's chromedriver, opens
formgrader's students page (filled in by formgrader's own JavaScript from the gradebook) and a
submission's page (the autograded notebook). The screenshots go to the test's tmp folder and
their paths are printed.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import run_cli
from graded_course import literal, set_answer

HW = "demo"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000"]
BIN = str(Path(sys.executable).parent)


def p1_key(course: Path) -> str:
    return json.loads((course / ".backproplab" / "keys" / HW / "bob.json").read_text())["problems"][0]["key"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def graded(tmp_path) -> Path:
    """demo for two students with names, solved, graded by `nbgrader autograde` through the plugin."""
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email\nalice,Alice,Adams,alice@example.edu\n"
                      "bob,Bob,Brown,bob@example.edu\n")
    course = tmp_path / "course"
    run_cli("generate", HW, "--course", course, "--roster", roster, check=True)
    for s in ("alice", "bob"):
        run_cli("solve", HW, "--course", course, "--student", s,
                "--out", course / "submitted" / s / HW / f"{HW}.ipynb", check=True)
    p1 = json.loads((course / ".backproplab" / "keys" / HW / "bob.json").read_text())["problems"][0]
    mistake = p1["misconceptions"][0]  # bob hands in a named mistake, so his score is his own
    kind = next(a["kind"] for a in p1["answers"] if a["name"] == mistake["answer"])
    set_answer(course / "submitted" / "bob" / HW / f"{HW}.ipynb", p1["key"], mistake["answer"],
               literal(mistake["exact"], choice=kind == "choice"))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", HW], cwd=course, capture_output=True,
                          text=True, env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return course


@pytest.fixture()
def server(graded, tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "LANG": "C.UTF-8"}
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
                             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={graded}"],
                            cwd=graded, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail("jupyter server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
        assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
        yield base, token, graded
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture()
def browser(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("chromium and chromedriver are not installed (scripts/setup installs both)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, check, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting on {driver.current_url}: "
                         f"{driver.execute_script('return document.body.innerText')[:1500]}")


@pytest.mark.slow
def test_formgrader_shows_names_scores_and_labelled_lines(server, browser, tmp_path, capsys):
    base, token, course = server
    results = {s: json.loads((course / "autograded" / s / HW / "results.json").read_text()) for s in ("alice", "bob")}
    points = results["alice"]["max_score"]

    browser.get(f"{base}/formgrader/manage_students?token={token}")
    # read through the page's own DOM in one call: formgrader's JavaScript re-renders the table meanwhile
    rows = wait_for(browser, lambda: [r for r in browser.execute_script(
        "return [...document.querySelectorAll('tbody tr')].map(r => r.innerText)") if "Adams" in r or "Brown" in r])
    alice_row = next(r for r in rows if "Adams, Alice" in r)
    assert "alice" in alice_row and "alice@example.edu" in alice_row
    assert re.search(rf"\b{points:g} / {points:g}\b", alice_row), alice_row
    bob_row = next(r for r in rows if "Brown, Bob" in r)
    assert results["bob"]["score"] < points
    assert re.search(rf"\b{round(results['bob']['score'], 2):g} / {points:g}\b", bob_row), bob_row
    assert "None, None" not in browser.execute_script("return document.body.innerText")
    students_shot = tmp_path / "formgrader-students.png"
    browser.save_screenshot(str(students_shot))

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(HW, HW, "bob").id
    browser.get(f"{base}/formgrader/submissions/{submission}/?token={token}")
    body = wait_for(browser, lambda: (lambda t: t if "hidden case 1: correct" in t else None)(
        browser.execute_script("return document.body.innerText")))
    assert "Submission" in body  # formgrader hides the student's name while grading; the students page shows it
    coding = next(p for p in results["bob"]["problems"] if p["checks"] and "hidden case" in p["checks"][0]["name"])
    assert coding["checks"][0]["line"] in body  # e.g. "mse_loss, hidden case 1: correct"
    # the comment box of each answer cell holds the gradebook's comment: our labelled lines
    boxes = wait_for(browser, lambda: (lambda b: b if any(x.strip() for x in b) else None)(browser.execute_script(
        "return [...document.querySelectorAll('textarea')].map(t => (t.placeholder || '') + ' ' + (t.value || ''))")))
    hand = next(p for p in results["bob"]["problems"] if p["key"] == p1_key(course))
    assert any(hand["checks"][0]["line"] in box for box in boxes), boxes[:3]
    submission_shot = tmp_path / "formgrader-submission.png"
    browser.save_screenshot(str(submission_shot))
    with capsys.disabled():
        print(f"\nformgrader screenshots: {students_shot} {submission_shot}")
    assert students_shot.stat().st_size > 10_000 and submission_shot.stat().st_size > 10_000

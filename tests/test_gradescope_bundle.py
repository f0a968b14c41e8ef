"""The Gradescope autograder bundle, run in a simulated /autograder tree.

A real course of the coding assignment is generated; three students hand in an honest
(reference) notebook, a buggy one (a sign error of the corpus) and a hostile one (it
tries to read the bundle's keys, the roster map and the hidden tests, and patches
numpy). `backproplab grade` grades them in the course; then the bundle built by
`backproplab gradescope` is unpacked into a fresh tree per submission (as Gradescope's
fresh container per submission), with Gradescope's submission folder and
submission_metadata.json, and its own `run_autograder` runs as root (setup.sh is not
run: the tree uses this virtual environment's Python instead of installing one). Each
results.json must give the score `backproplab grade` gave, and nothing private may leak.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from backproplab.cli import main as cli
from backproplab.course.layout import Layout
from backproplab.export.gradescope_bundle import PRIVATE, unpack
from backproplab.paths import data_dir
from buggy.bugs import BUGS

pytestmark = pytest.mark.slow

HW = "hw4-coding"
STUDENTS = {"alice": "Alice@Example.edu", "bob": "bob@example.edu", "carol": "carol@example.edu"}
REDTEAM = Path(__file__).parent / "redteam"
# Docker's default capability set (moby's oci/caps/defaults.go).
DOCKER_CAPS = ["chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid", "setfcap",
               "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write"]

HOSTILE = '''

import glob as _glob, os as _os
_found = []
for _root in [_os.getcwd(), "/autograder"]:
    for _dir, _, _files in _os.walk(_root + "/source/backproplab/private"):
        _found += [_dir, *_files]
for _pattern in ["__SOLUTIONS__/*.py", "__AUTOGRADER__/losses.py", "/tmp/backproplab-*/.backproplab/keys/*/*"]:
    for _path in _glob.glob(_pattern):
        try:
            _found.append(_path + "=" + open(_path).read(40))
        except OSError:
            pass
import numpy as _np
_np.allclose = lambda *a, **k: True
_mean = mse_loss
def mse_loss(y_pred, y):
    if _found:
        raise RuntimeError("LEAK " + " | ".join(_found)[:400])
    return _mean(y_pred, y)
'''


def cell_source(nb: dict, key: str) -> tuple[dict, str]:
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == key:
            src = cell["source"]
            return cell, "".join(src) if isinstance(src, list) else src
    raise KeyError(key)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradescope")
    root, roster = tmp / "course", tmp / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email\n"
                      + "".join(f"{s},{s.title()},Lovelace,{e}\n" for s, e in STUDENTS.items()))
    runner = CliRunner()
    done = runner.invoke(cli, ["generate", HW, "--course", str(root), "--roster", str(roster)])
    assert done.exit_code == 0, done.output
    layout = Layout(root, HW)
    for student in STUDENTS:
        target = layout.submission_dir(student) / layout.notebook_name
        target.parent.mkdir(parents=True, exist_ok=True)
        assert runner.invoke(cli, ["solve", HW, "--course", str(root), "--student", student, "--out", str(target)]).exit_code == 0
    bug = next(b for b in BUGS if b.id == "mse_grad_sign")
    for student, edit in (("bob", "bug"), ("carol", "hostile")):
        path = layout.submission_dir(student) / layout.notebook_name
        nb = json.loads(path.read_text())
        cell, src = cell_source(nb, "p1")
        if edit == "bug":
            for old, new in bug.edits:
                assert src.count(old) == 1
                src = src.replace(old, new)
        else:
            src += (HOSTILE.replace("__SOLUTIONS__", str(data_dir("solutions")))
                    .replace("__AUTOGRADER__", str(data_dir("autograder"))))
        cell["source"] = src
        path.write_text(json.dumps(nb))
    done = runner.invoke(cli, ["grade", HW, "--course", str(root), "--workers", "1"])
    assert "error" not in done.output, done.output
    graded = {s: json.loads(layout.results_json(s).read_text()) for s in STUDENTS}
    return tmp, root, roster, layout, graded


@pytest.fixture(scope="module")
def bundles(course):
    tmp, root, roster, _, _ = course
    runner = CliRunner()
    out = {}
    for name, extra in (("strict", []), ("weak", ["--allow-weak-isolation"])):
        zip_path = tmp / f"{name}.zip"
        done = runner.invoke(cli, ["gradescope", HW, "--course", str(root), "--roster", str(roster),
                                   "--out", str(zip_path), *extra])
        assert done.exit_code == 0, done.output
        out[name] = zip_path
    return out


def autograder_tree(tmp: Path, bundle: Path, notebook: Path, email: str) -> Path:
    """A fresh /autograder tree as Gradescope lays it out for one submission."""
    root = tmp / "autograder"
    if root.exists():
        shutil.rmtree(root)
    unpack(bundle, root / "source")
    (root / "submission").mkdir(parents=True)
    shutil.copy(notebook, root / "submission" / notebook.name)
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 1, "created_at": "2026-01-01T00:00:00Z", "submission_method": "upload",
        "assignment": {"title": "Homework 4", "total_points": "22.0", "id": 7, "course_id": 3},
        "users": [{"email": email, "id": 99, "name": "A Student", "sid": ""}], "previous_submissions": []}))
    return root


def run_autograder(root: Path, prefix: list[str] = (), path: str | None = None) -> dict:
    env = {**os.environ, "BACKPROPLAB_AUTOGRADER_ROOT": str(root), "BACKPROPLAB_PYTHON": sys.executable}
    if path is not None:
        env["PATH"] = path
    script = str(root / "source" / "run_autograder")
    # capsh's "--" runs /bin/bash with the arguments that follow
    done = subprocess.run([*prefix, script] if prefix else ["/bin/bash", script], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def check_results(data: dict, graded: dict) -> None:
    """Gradescope's results.json fields, and the score `backproplab grade` gave."""
    assert {"score", "execution_time", "output", "output_format", "visibility", "stdout_visibility", "tests"} <= set(data)
    assert data["output_format"] == "md" and data["visibility"] == "visible" and data["stdout_visibility"] == "hidden"
    assert data["score"] == pytest.approx(graded["score"], abs=1e-6)
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]), abs=1e-6)
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(graded["max_score"])
    checks = [c for p in graded["problems"] for c in p["checks"]]
    per_check = [t for t in data["tests"] if t["max_score"] > 0]
    assert len(per_check) == len(checks)
    for t, c in zip(per_check, checks):
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)
        assert c["name"] in t["name"] and t["visibility"] == "after_due_date"
        assert t["status"] == ("passed" if c["score"] >= 1 else "failed")
    assert all(t["visibility"] == "visible" for t in data["tests"] if t["max_score"] == 0)
    text = json.dumps(data)
    assert "LEAK" not in text, text[text.find("LEAK") - 200:text.find("LEAK") + 400]


def docker_caps_prefix() -> list[str]:
    """capsh dropping every capability outside Docker's default set (root only)."""
    capsh = shutil.which("capsh")
    if capsh is None or os.geteuid() != 0:
        return []
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    names = subprocess.run([capsh, f"--decode={(1 << (last + 1)) - 1:x}"], capture_output=True, text=True).stdout
    every = [n.strip() for n in names.split("=", 1)[-1].split(",") if n.strip()]
    drop = [n for n in every if n.removeprefix("cap_") not in DOCKER_CAPS]
    return [capsh, f"--drop={','.join(drop)}", "--"]


@pytest.mark.parametrize("student", list(STUDENTS))
def test_bundle_scores_as_backproplab_grade(course, bundles, student, tmp_path):
    _, _, _, layout, graded = course
    notebook = layout.submission_dir(student) / layout.notebook_name
    root = autograder_tree(tmp_path, bundles["strict"], notebook, STUDENTS[student])
    data = run_autograder(root)
    check_results(data, graded[student])
    assert "bubblewrap" in data["output"]  # the isolation it got is stated
    assert not (root / "source" / PRIVATE).exists()  # every key gone before student code ran
    if student == "alice":
        assert data["score"] == graded["alice"]["max_score"]
    if student == "bob":
        assert data["score"] < graded["bob"]["max_score"] and "sign flipped" in json.dumps(data)


@pytest.mark.parametrize("student", list(STUDENTS))
def test_bundle_under_dockers_default_capabilities(course, bundles, student, tmp_path):
    prefix = docker_caps_prefix()
    if not prefix:
        pytest.skip("needs root and capsh (libcap2-bin) to drop to Docker's default capability set")
    _, _, _, layout, graded = course
    notebook = layout.submission_dir(student) / layout.notebook_name
    root = autograder_tree(tmp_path, bundles["strict"], notebook, STUDENTS[student])
    data = run_autograder(root, prefix)
    isolation = data["extra_data"]["isolation"] or ""
    print(f"under Docker's default capabilities: {isolation or data['output']}")
    if isolation.startswith("bubblewrap"):  # user namespaces work without the dropped capabilities here
        check_results(data, graded[student])
    else:  # bubblewrap could not start: the strict bundle grades nothing, and says why
        assert data["score"] == 0 and "could not be isolated" in data["output"]
        assert "bubblewrap cannot start" in data["output"] and "--allow-weak-isolation" in data["output"]
        if student == "carol":
            return  # the fallback cannot hide this clone's world-readable solutions (setup.sh makes them root-only)
        weak = run_autograder(autograder_tree(tmp_path, bundles["weak"], notebook, STUDENTS[student]), prefix)
        assert "weak (fallback" in weak["output"] and "Creating new namespace failed" in weak["output"]
        check_results(weak, graded[student])


def test_without_bubblewrap_the_strict_bundle_refuses_and_the_weak_one_says_so(course, bundles, tmp_path):
    _, _, _, layout, graded = course
    empty = tmp_path / "bin"
    empty.mkdir()
    notebook = layout.submission_dir("bob") / layout.notebook_name
    strict = run_autograder(autograder_tree(tmp_path, bundles["strict"], notebook, STUDENTS["bob"]), path=str(empty))
    assert strict["score"] == 0 and "could not be isolated" in strict["output"]
    assert "bubblewrap (bwrap) is not installed" in strict["output"]
    assert all(t["score"] == 0 and t["status"] == "failed" for t in strict["tests"])
    for student in ("alice", "bob"):
        notebook = layout.submission_dir(student) / layout.notebook_name
        weak = run_autograder(autograder_tree(tmp_path, bundles["weak"], notebook, STUDENTS[student]), path=str(empty))
        assert "weak (fallback" in weak["output"]  # the student and instructor read what isolation it had
        check_results(weak, graded[student])


def test_unknown_submitter_missing_notebook_and_private_files(course, bundles, tmp_path):
    _, _, _, layout, _ = course
    notebook = layout.submission_dir("alice") / layout.notebook_name
    root = autograder_tree(tmp_path, bundles["strict"], notebook, "mallory@example.edu")
    data = run_autograder(root)
    assert data["score"] == 0 and "not on this assignment's roster" in data["output"]
    assert not (root / "source" / PRIVATE).exists()
    root = autograder_tree(tmp_path, bundles["strict"], notebook, STUDENTS["alice"])
    (root / "submission" / notebook.name).unlink()
    data = run_autograder(root)
    assert data["score"] == 0 and "no notebook was submitted" in data["output"]
    # Another student's notebook under one's own name: the fingerprint tells, as in `grade`.
    root = autograder_tree(tmp_path, bundles["strict"], notebook, STUDENTS["bob"])
    data = run_autograder(root)
    assert data["score"] == 0 and "could not be graded" in data["output"]


def test_bundle_layout_and_modes(course, bundles):
    """What the zip holds: Gradescope's two scripts at the root (executable), the instructor
    wheel, the config with the isolation choice, and the keys only under the private folder (0600)."""
    _, _, _, layout, _ = course
    with zipfile.ZipFile(bundles["strict"]) as z:
        infos = {i.filename: i for i in z.infolist()}
        config = json.loads(z.read("backproplab/config.json"))
    for name in ("setup.sh", "run_autograder"):
        assert (infos[name].external_attr >> 16) & 0o111
        with zipfile.ZipFile(bundles["strict"]) as z:
            syntax = subprocess.run(["bash", "-n"], input=z.read(name), capture_output=True)
        assert syntax.returncode == 0, syntax.stderr
    assert any(n.startswith("backproplab-") and n.endswith(".whl") for n in infos)
    keys = [n for n in infos if n.endswith(".json") and "/keys/" in n]
    assert sorted(keys) == sorted(f"{PRIVATE}/keys/{s}.json" for s in STUDENTS)
    assert all((infos[n].external_attr >> 16) & 0o077 == 0 for n in infos if n.startswith(PRIVATE))
    assert config["assignment"] == HW and config["allow_weak_isolation"] is False
    assert config["visibility"]["hidden_tests"] == "after_due_date"
    with zipfile.ZipFile(bundles["weak"]) as z:
        assert json.loads(z.read("backproplab/config.json"))["allow_weak_isolation"] is True

"""The command line's conventions: help on every option and an example on every command, exit
status 2 for usage errors and 1 for runtime failures, `--json` documents with real values, and the
course directory from --course, BACKPROPLAB_COURSE or the current directory."""

from __future__ import annotations

import csv
import json
import shutil

import click
import pytest
from click.testing import CliRunner

from backproplab.cli import COURSE_ENV, FAILURE, USAGE, main
from backproplab.course.layout import Layout

from conftest import run_cli, write_roster

HW = "hw1-gradient-descent"


def invoke(*args, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="backproplab", env={COURSE_ENV: None, **(env or {})})


def one_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("backproplab: error: "), result.output
    return lines[0]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """hw1 for ann (the reference answers), ben (a file that is not a notebook) and cat (nothing handed
    in), generated through the real command line; ann's notebook is also kept outside the course."""
    root = tmp_path_factory.mktemp("cli")
    course = root / "course"
    run_cli("generate", HW, "--course", course, "--roster", write_roster(root / "roster.csv", ["ann", "ben", "cat"]),
            check=True)
    layout = Layout(course, HW)
    mine = root / "home" / "solved.ipynb"
    mine.parent.mkdir()
    run_cli("solve", HW, "--course", course, "--student", "ann", "--out", mine, check=True)
    layout.submission_dir("ann").mkdir(parents=True)
    shutil.copy(mine, layout.submission_dir("ann") / layout.notebook_name)
    layout.submission_dir("ben").mkdir(parents=True)
    (layout.submission_dir("ben") / layout.notebook_name).write_text("this is not a notebook")
    starter = root / "home" / "starter.ipynb"
    shutil.copy(layout.released_notebook("cat"), starter)
    return course, layout, mine, starter


def test_every_option_has_help_and_every_command_an_example():
    assert "Example:" in main.epilog and COURSE_ENV in main.epilog and "Exit status" in main.epilog
    assert main.commands, "no commands"
    for name, command in main.commands.items():
        assert "Example:" in (command.help or ""), f"`{name}` has no example"
        example = command.help.split("Example:", 1)[1]
        assert f"backproplab {name}" in example, f"`{name}`'s example does not run it"
        ctx = click.Context(command, info_name=name)
        for param in command.get_params(ctx):
            if isinstance(param, click.Option):
                assert (param.help or "").strip(), f"`{name} {param.opts[0]}` has no help text"
    for param in main.get_params(click.Context(main)):
        assert isinstance(param, click.Option) and (param.help or "").strip(), param.opts


def test_usage_errors_exit_2_in_one_line(graded, tmp_path, monkeypatch):
    course, _, mine, _ = graded
    monkeypatch.chdir(tmp_path)  # not a course
    cases = {
        "unknown assignment": invoke("grade", "no-such-hw", "--course", course),
        "does not exist": invoke("report", HW, "--course", tmp_path / "nowhere"),
        "no course directory": invoke("export", HW),
        "not on the roster": invoke("solve", HW, "--course", course, "--student", "zed", "--out", tmp_path / "x.ipynb"),
        "No such option": invoke("grade", HW, "--course", course, "--no-such-option"),
        "Missing option '--roster'": invoke("generate", HW, "--course", tmp_path / "new"),
    }
    cases["nothing.ipynb' does not exist"] = invoke("check", tmp_path / "nothing.ipynb")
    for why, result in cases.items():
        assert result.exit_code == USAGE, (why, result.exit_code, result.output)
        assert why in one_error_line(result), (why, result.output)
    assert not (tmp_path / "new").exists() and not (tmp_path / "x.ipynb").exists()


def test_runtime_failures_exit_1_in_one_line(graded, tmp_path):
    (tmp_path / "empty").mkdir()
    not_generated = invoke("grade", HW, "--course", tmp_path / "empty")
    assert not_generated.exit_code == FAILURE and "has not been generated" in one_error_line(not_generated)
    junk = tmp_path / "junk.ipynb"
    junk.write_text("{not json")
    broken = invoke("check", junk)
    assert broken.exit_code == FAILURE and broken.stdout == "", broken.output
    assert "junk.ipynb" in one_error_line(broken)
    # A real subprocess: the status the shell sees, the same one line.
    proc = run_cli("report", HW, "--course", tmp_path / "empty")
    assert proc.returncode == FAILURE and proc.stderr.strip().count("\n") == 0, proc.stderr


def test_grade_json_from_the_current_course_directory(graded, monkeypatch):
    course, layout, _, _ = graded
    monkeypatch.chdir(course)
    result = invoke("grade", HW, "--workers", "1", "--json")
    assert result.exit_code == FAILURE, result.output  # ben's file is an error row
    data = json.loads(result.stdout)
    key = json.loads(layout.key_json("ann").read_text())
    full = sum(float(p["points"]) for p in key["problems"])
    assert data["assignment"] == HW and data["graded"] == 1 and data["max_score"] == pytest.approx(full)
    assert data["scores"] == {"ann": pytest.approx(full)}
    assert [e["student"] for e in data["errors"]] == ["ben"] and data["errors"][0]["error"]
    assert data["missing"] == ["cat"]
    again = json.loads(invoke("grade", HW, "--workers", "1", "--json").stdout)  # nothing new: resumed
    assert again["graded"] == 0 and again["resumed"] == 2 and again["scores"] == data["scores"]


def test_export_json_with_the_course_from_the_environment(graded, tmp_path, monkeypatch):
    course, layout, _, _ = graded
    if not layout.results_json("ann").exists():
        assert invoke("grade", HW, "--course", course, "--workers", "1").exit_code == FAILURE
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "grades.csv"
    result = invoke("export", HW, "--out", out, "--json", env={COURSE_ENV: str(course)})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"] == str(out) and data["format"] == "csv"
    rows = {r["student_id"]: r for r in csv.DictReader(out.read_text().splitlines())}
    by_student = {s["student"]: s for s in data["students"]}
    assert set(by_student) == {"ann", "ben", "cat"}
    assert by_student["ann"]["status"] == "graded" and by_student["ann"]["total"] == pytest.approx(data["max_score"])
    assert float(rows["ann"]["total"]) == pytest.approx(by_student["ann"]["total"])
    assert by_student["cat"]["status"] == rows["cat"]["status"] == "missing" and by_student["cat"]["total"] is None
    # --course wins over the environment; a course the environment names that does not exist is a usage error.
    assert invoke("export", HW, "--course", course, "--out", out, env={COURSE_ENV: str(tmp_path / "nowhere")}).exit_code == 0
    wrong = invoke("export", HW, env={COURSE_ENV: str(tmp_path / "nowhere")})
    assert wrong.exit_code == USAGE and COURSE_ENV in one_error_line(wrong)


def test_check_json(graded, monkeypatch):
    course, layout, mine, starter = graded
    monkeypatch.chdir(mine.parent)
    ok = invoke("check", mine, "--json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    key = json.loads(layout.key_json("ann").read_text())
    assert [p["key"] for p in data["problems"]] == [p["key"] for p in key["problems"]]
    assert data["passed"] and all(p["passed"] and p["kind"] == "hand" and not p["lines"] for p in data["problems"])
    assert data["code_runs"] is None  # hw1 has hand problems only
    bad = invoke("check", starter, "--json")
    assert bad.exit_code == FAILURE
    failed = json.loads(bad.stdout)
    assert not failed["passed"] and all(not p["passed"] and p["lines"] for p in failed["problems"])


def test_no_command_shows_the_help_and_exits_2():
    result = invoke()
    assert result.exit_code == USAGE and "Commands:" in result.output and "backproplab: error" not in result.output
    assert invoke("--help").exit_code == 0 and invoke("grade", "--help").exit_code == 0

"""Feedback, report and export read their scores from gradebook.db: a manual grade, extra credit and
a comment stored as formgrader stores them (nbgrader's Gradebook API) show everywhere once feedback
is written again; lines are labelled by their answer or check; the roster reaches the gradebook."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pytest
from click.testing import CliRunner
from nbgrader.api import Gradebook

from backproplab.cli import main
from backproplab.course.generate import generate
from backproplab.course.roster import Person, RosterError, read_roster_students
from backproplab.export.formats import export
from backproplab.grade.result import CheckResult, labelled
from backproplab.grade.run import grade_assignment
from backproplab.report.data import load_class
from graded_course import HW, MISSING_STUDENT, gradebook_scores, graded_course, results_json


@pytest.fixture()
def course(tmp_path_factory, tmp_path):
    """A private copy of the shared graded course (these tests change its gradebook)."""
    root = tmp_path / "course"
    shutil.copytree(graded_course(tmp_path_factory).root, root)
    return root


def _total(page: str) -> float:
    return float(re.search(r'<b id="total">([\d.]+) / ', page).group(1))


def _problem_heading(page: str, key: str) -> str:
    return re.search(rf'<h2 id="{key}">(.*?)</h2>', page).group(1)


def _set_manual(root, student: str, key: str, score: float, extra: float = 0.0, comment: str = "") -> None:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grade = gb.find_grade(f"{key}_test", HW, HW, student)
        grade.manual_score, grade.extra_credit = score, extra
        if comment:
            gb.find_comment(key, HW, HW, student).manual_comment = comment
        gb.db.commit()


def test_feedback_shows_a_manual_grade_after_backproplab_feedback(course):
    page = course / "feedback" / "s04" / HW / "feedback.html"
    before = page.read_text()
    assert _total(before) == pytest.approx(results_json(course, "s04")["score"])
    _set_manual(course, "s04", "p3", 1.5, extra=0.5, comment="See me about the learning rate.")
    assert page.read_text() == before  # nothing changes by itself
    result = CliRunner().invoke(main, ["feedback", HW, "--course", str(course)])
    assert result.exit_code == 0, result.output
    after = page.read_text()
    book = gradebook_scores(course)["s04"]
    assert book["p3"] == 2.0
    assert _total(after) == pytest.approx(sum(book.values()))
    assert _problem_heading(after, "p3").startswith("Problem 3: 2 / 4 (score set by your grader)")
    assert "Your grader: See me about the learning rate." in after
    assert "(score set by your grader)" not in _problem_heading(after, "p2")


def test_the_next_grade_run_writes_feedback_from_the_gradebook(course):
    _set_manual(course, "s01", "p1", 0.5)
    summary = grade_assignment(HW, course, workers=1)
    assert summary.graded == 0 and summary.resumed > 0  # nothing graded again, feedback written again
    page = (course / "feedback" / "s01" / HW / "feedback.html").read_text()
    assert _total(page) == pytest.approx(sum(gradebook_scores(course)["s01"].values()))
    assert _total(page) < results_json(course, "s01")["score"]


def test_report_and_export_work_from_the_gradebook_alone(course):
    """A submission the gradebook scored (stock nbgrader) without results.json is read, scores only."""
    (course / "autograded" / "s02" / HW / "results.json").unlink()
    grades = load_class(HW, course)
    s02 = next(s for s in grades.students if s.student == "s02")
    assert s02.status == "graded" and s02.total == pytest.approx(sum(gradebook_scores(course)["s02"].values()))
    rows = {r[0]: r for r in csv.reader(export(HW, course, "csv").read_text().splitlines())}
    assert float(rows["s02"][-3]) == pytest.approx(s02.total)


def test_lines_are_labelled_by_answer_or_check():
    assert CheckResult("gd_step, hidden case 1", 1.0, 1.0, "correct").line == "gd_step, hidden case 1: correct"
    assert CheckResult("loss", 1.0, 1.0, "`loss` is correct.").line == "`loss` is correct."  # names itself already
    assert labelled("", "bare") == "bare"


def test_results_feedback_and_comments_carry_labelled_lines(course):
    data = results_json(course, "s04")
    lines = [c["line"] for p in data["problems"] for c in p["checks"]]
    assert lines and all(line.startswith("`") for line in lines)  # hw1's hand answers name themselves
    page = (course / "feedback" / "s04" / HW / "feedback.html").read_text()
    shown = re.sub(r"<[^>]+>", "", page).replace("&#39;", "'")  # answer names are <code> on the page
    assert all(line.replace("`", "") in shown for line in lines[:5])
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        comment = gb.find_comment("p2", HW, HW, "s04").auto_comment
    p2 = next(p for p in data["problems"] if p["key"] == "p2")
    assert comment == "\n".join(c["line"] for c in p2["checks"])


def test_the_roster_reaches_the_gradebook(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email,lms_user_id,notes\n"
                      "ann,Ann,Archer,ann@example.edu,501,x\nben,,Baker,,,\ncat,,,,,\n")
    students = read_roster_students(roster)
    assert [s.student_id for s in students] == ["ann", "ben", "cat"]
    assert students[0].person == Person("Ann", "Archer", "ann@example.edu", "501")
    assert students[1].person == Person("", "Baker", "", "")
    course = tmp_path / "course"
    generate(HW, course, [s.student_id for s in students], jobs=1, people={s.student_id: s.person for s in students})
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        got = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}
    assert got == {"ann": ("Ann", "Archer", "ann@example.edu", "501"), "ben": (None, "Baker", None, None),
                   "cat": (None, None, None, None)}
    # a second generate with a roster that leaves a field empty keeps what the gradebook has
    generate(HW, course, ["ann"], jobs=1, people={"ann": Person(email="ann@new.example.edu")})
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        ann = gb.find_student("ann")
        assert (ann.first_name, ann.email) == ("Ann", "ann@new.example.edu")


def test_non_submitters_are_in_the_gradebook_and_the_exports(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert MISSING_STUDENT in {s.id for s in gb.students}
    rows = {r[0]: r for r in csv.reader(export(HW, course, "csv").read_text().splitlines())}
    assert rows[MISSING_STUDENT][-1] == "missing"


def test_a_bad_roster_is_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("student_id,first_name\nann,Ann\nann,Again\n")
    with pytest.raises(RosterError, match="duplicate student_id 'ann'"):
        read_roster_students(bad)


def test_feedback_command_without_grades_is_one_line(hw1_course):
    """Nothing graded yet is a runtime failure (exit 1), said in one line."""
    result = CliRunner().invoke(main, ["feedback", "hw1-gradient-descent", "--course", str(hw1_course)])
    assert result.exit_code == 1 and "nothing of hw1-gradient-descent has been graded" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_feedback_reads_cleanly_and_shows_follow_through(course):
    """No literal backtick on the page (answer names are code), scores to at most 2 decimals, and an
    answer that follows from the student's own slip says so, labelled by its name."""
    import html as html_lib

    _set_manual(course, "s04", "p1", 2 / 7 * 6)  # 1.714285…
    CliRunner().invoke(main, ["feedback", HW, "--course", str(course)])
    page = (course / "feedback" / "s04" / HW / "feedback.html").read_text()
    text = html_lib.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", "", page, flags=re.S))
    assert "`" not in text
    assert all(len(d) <= 2 for d in re.findall(r"\d\.(\d+) /", text)), re.findall(r"[\d.]+ /", text)
    assert "1.71 / " in text
    assert re.search(r"<code>w_new</code> follows correctly from your <code>dw</code>", page)

"""The instructor's report: its numbers against the gradebook and the submissions we made."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backproplab.cli import main
from backproplab.report.build import ReportError, write_report
from graded_course import ERRORED, HW, MISSING_STUDENT, gradebook_scores, graded_course, results_json, ungraded_copy


class Tables(HTMLParser):
    """Every <table id=...> of a page: rows of (text, data-v or None) cells."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None
        self.value: str | None = None
        self.images: list[str] = []
        self.scripts = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.current = a.get("id")
            self.tables[self.current] = []
        elif tag == "tr" and self.current:
            self.tables[self.current].append([])
        elif tag in ("td", "th") and self.current:
            self.cell, self.value = [], a.get("data-v")
        elif tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[self.current][-1].append(("".join(self.cell).strip(), self.value))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

    def rows(self, table: str) -> list[dict[str, tuple[str, str | None]]]:
        """The body rows of `table` as {header: (text, data-v)}."""
        head, *body = self.tables[table]
        return [{h[0]: c for h, c in zip(head, row)} for row in body]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(tmp_path_factory)


@pytest.fixture(scope="module")
def page(course) -> Tables:
    out = write_report(HW, course.root)
    assert out == course.root / "reports" / f"{HW}.html"
    return Tables(out.read_text())


def _graded(course) -> list[str]:
    """Students whose submission was graded, by our own reading of results.json."""
    return [s for s in course.layout.roster.read_text().split()
            if (course.layout.autograded_dir(s) / "results.json").exists() and results_json(course.root, s)["status"] == "graded"]


def test_problem_means_and_discrimination_match_the_gradebook(course, page):
    book = gradebook_scores(course.root)
    graded = _graded(course)
    assert ERRORED not in graded and MISSING_STUDENT not in graded and len(graded) == 6
    keys = sorted(book[graded[0]])
    points = {p["key"]: p["points"] for p in course.key(graded[0])["problems"]}
    rows = {r["problem"][0]: r for r in page.rows("problems")}
    assert sorted(rows) == keys
    for k in keys:
        scores = np.array([book[s][k] for s in graded])
        rest = np.array([sum(v for kk, v in book[s].items() if kk != k) for s in graded])
        assert float(rows[k]["mean score"][1]) == pytest.approx(scores.mean(), abs=1e-9)
        assert float(rows[k]["difficulty"][1]) == pytest.approx(scores.mean() / points[k], abs=1e-9)
        assert float(rows[k]["discrimination"][1]) == pytest.approx(np.corrcoef(scores, rest)[0, 1], abs=1e-9)
        assert rows[k]["graded"][0] == str(len(graded))


def test_student_totals_match_the_gradebook(course, page):
    book = gradebook_scores(course.root)
    rows = {r["student"][0]: r for r in page.rows("students")}
    for s, scores in book.items():
        assert float(rows[s]["total"][1]) == pytest.approx(sum(scores.values()), abs=1e-9)
    assert rows[ERRORED]["status"][0] == "error"
    assert rows[MISSING_STUDENT]["status"][0] == "missing" and rows[MISSING_STUDENT]["total"][1] == ""


def test_check_means_match_results_json(course, page):
    got = {(r["problem"][0], r["check"][0]): float(r["mean score"][1]) for r in page.rows("checks")}
    want: dict[tuple[str, str], list[float]] = {}
    for s in _graded(course):
        for p in results_json(course.root, s)["problems"]:
            for c in p["checks"]:
                want.setdefault((p["key"], c["name"]), []).append(c["score"])
    assert got.keys() == want.keys()
    for k, xs in want.items():
        assert got[k] == pytest.approx(sum(xs) / len(xs), abs=1e-9)


def test_follow_through_counts_match_results_json(course, page):
    got = {(r["problem"][0], r["check"][0]): int(r["follow-through"][0]) for r in page.rows("checks")}
    want: Counter = Counter()
    for s in _graded(course):
        for p in results_json(course.root, s)["problems"]:
            for c in p["checks"]:
                want[p["key"], c["name"]] += bool(c.get("follow_through"))
    assert all(got[k] == want[k] for k in got)
    assert +want == course.carried  # exactly the answers the fixture made follow from a slip


def test_misconception_counts_are_the_ones_we_planted(course, page):
    got = Counter({(r["problem"][0], r["in"][0], r["misconception"][0]): int(r["submissions"][0])
                   for r in page.rows("misconceptions")})
    assert got == course.planted
    for r in page.rows("misconceptions"):
        assert float(r["share"][1]) == pytest.approx(int(r["submissions"][0]) / len(_graded(course)))


def test_errors_and_copying_flags_are_listed(course, page):
    errors = {(r["student"][0], r["where"][0]): r["reason"][0] for r in page.rows("errors")}
    assert "not valid JSON" in errors[ERRORED, "submission"]
    assert "not on the roster" in errors["stranger", "folder"]
    assert not any(s == MISSING_STUDENT for s, _ in errors)
    flags = [(r["student"][0], r["problem"][0], r["flag"][0]) for r in page.rows("flags")]
    assert [(s, k) for s, k, _ in flags] == list(course.copied.items())
    assert all(f.startswith("possible copying") for _, _, f in flags)


def test_a_problem_that_timed_out_is_listed_with_its_reason(course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(course.root, root)
    path = root / "autograded" / "s02" / HW / "results.json"
    data = json.loads(path.read_text())
    data["problems"][1]["error"] = "timed out after 10 s"
    path.write_text(json.dumps(data))
    rows = Tables(write_report(HW, root).read_text()).rows("errors")
    assert ("s02", "p2", "timed out after 10 s") in [(r["student"][0], r["where"][0], r["reason"][0]) for r in rows]


def test_page_is_self_contained(page):
    assert len(page.images) == 2 and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert page.scripts == 1


def test_student_text_is_escaped(course, tmp_path):
    """A hostile error text (it comes from the submission) must not become markup."""
    root = tmp_path / "course"
    shutil.copytree(course.root, root)
    log = root / ".backproplab" / "grade" / f"{HW}.json"
    log.write_text('{"errors": [["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]]}')
    html = write_report(HW, root).read_text()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_bad_input_is_one_line(course, tmp_path):
    with pytest.raises(ReportError, match="unknown assignment"):
        write_report("no-such-hw", course.root)
    with pytest.raises(ReportError, match="has not been generated"):
        write_report(HW, tmp_path / "empty")
    ungraded = ungraded_copy(course.root, tmp_path / "ungraded")
    with pytest.raises(ReportError, match="nothing .* graded"):
        write_report(HW, ungraded)
    result = CliRunner().invoke(main, ["report", "no-such-hw", "--course", str(course.root)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_cli_writes_to_out(course, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", HW, "--course", str(course.root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert Tables(out.read_text()).rows("problems")


# ----------------------------------------------------------------- in a real browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.skip("headless chromium is not installed at /usr/bin/chromium")
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_report_renders_in_chromium(course, tmp_path):
    report = write_report(HW, course.root, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    _chromium([f"--screenshot={shot}", "--window-size=1200,2400", report.as_uri()], tmp_path)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1200)
    ink = (pixels.min(axis=2) < 0.9).mean()  # not white: text, tables and the two plots
    assert ink > 0.02, f"the screenshot is nearly blank ({ink:.1%} ink)"
    for name, rgb in [("histogram", (0x4a, 0x78, 0xb5)), ("difficulty chart", (0x5b, 0x9a, 0x68))]:
        near = np.abs(pixels - np.array(rgb) / 255).max(axis=2) < 0.03
        assert near.sum() > 500, f"the {name} did not render"


@pytest.mark.slow
def test_clicking_a_header_sorts_the_table(course, tmp_path):
    html = write_report(HW, course.root, tmp_path / "report.html").read_text()
    click = "<script>document.querySelector('#students th:last-child').click();</script></body>"
    page = tmp_path / "clicked.html"
    page.write_text(html.replace("</body>", click))
    dom = _chromium(["--dump-dom", page.as_uri()], tmp_path).stdout
    totals = [v for _, v in (r["total"] for r in Tables(dom).rows("students"))]
    numbers = [float(v) for v in totals if v]
    assert numbers == sorted(numbers) and len(numbers) == 7
    assert totals[-1] == "", "a student without a score sorts last"
    assert not math.isnan(numbers[0])

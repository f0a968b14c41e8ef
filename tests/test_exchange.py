"""A whole course on nbgrader's real exchange, with students as separate Unix users.

The instructor (this process, root) generates the demo assignment for five students;
four of them are Unix users made for the test (alice, bob, carol, erin), the fifth
(dave) has no account and never hands anything in. Then, with nbgrader's own
commands: release_assignment, fetch_assignment and submit as each student, collect,
`backproplab grade`, `nbgrader autograde`, a manual grade through nbgrader's
Gradebook API (as formgrader stores one), `nbgrader generate_feedback`, `backproplab
feedback`, release_feedback and fetch_feedback, `nbgrader export`, `backproplab
export` and `report`.

alice hands in the reference answers, bob a named mistake, carol alice's notebook
and erin nbgrader's generic notebook. Each student must receive exactly their own
notebook (the exchange folders are checked as the other students, with the Unix
permissions the kernel enforces), every score agrees everywhere, and the swapped and
the generic notebook each get their one clear row.

Each student's nbgrader command is a process of that Unix user: it starts as root only
to load Python and nbgrader (this interpreter may live in a folder only root may
enter), then sets its groups, gid and uid to the student's before nbgrader runs, so
every file it reads or writes in the exchange and in the student's home folder is
checked by the kernel as the student. Without root, useradd or setfacl, the same loop
runs with `--student` identities and a home folder each.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import run_cli
from graded_course import literal, set_answer

HW = "demo"
COURSE_ID = "ml101"
NAMES = {"alice": ("Alice", "Adams"), "bob": ("Bob", "Brown"), "carol": ("Carol", "Clark"),
         "dave": ("Dave", "Dunn"), "erin": ("Erin", "Evans")}
WITH_ACCOUNT = ["alice", "bob", "carol", "erin"]
BIN = str(Path(sys.executable).parent)
# Run as root with argv [user, nbgrader args...]: load what the command needs, become the user, run nbgrader.
AS_USER = """
import os, pwd, sys
import nbgrader.apps.nbgraderapp as app
import backproplab.notebook_api, backproplab.nbgrader_bridge.exchange
user = pwd.getpwnam(sys.argv[1])
os.setgroups([])
os.setgid(user.pw_gid)
os.setuid(user.pw_uid)
sys.argv = ["nbgrader", *sys.argv[2:]]
sys.exit(app.main())
"""

# What the Assignments tab of a student's JupyterLab asks (nbgrader's assignment_list handler), as JSON.
LIST = """
import json, sys
from traitlets.config import Config
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
from backproplab.notebook_api import configure_exchange
config = Config()
config.CourseDirectory.course_id, config.Exchange.root = sys.argv[1], sys.argv[2]
configure_exchange(config)
lister = ExchangeFactory(config=config).List(coursedir=CourseDirectory(config=config),
                                              authenticator=Authenticator(config=config), config=config)
print(json.dumps(lister.start()))
"""


class Students:
    """The students' identities: Unix users when the machine allows, else --student."""

    def __init__(self, base: Path):
        self.base = base
        self.prefix = "bx" + secrets.token_hex(3)  # unique per run: the accounts are the machine's
        self.users: list[str] = []  # the Unix users made for the test (their names are the roster ids)

    def id(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def create(self) -> None:
        if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("setfacl"):
            return
        for name in WITH_ACCOUNT:
            user = self.id(name)
            home = self.base / "home" / user
            proc = subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/usr/sbin/nologin", user],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                self.remove()
                return
            self.users.append(user)

    @property
    def as_users(self) -> bool:
        return bool(self.users)

    def remove(self) -> None:
        while self.users:
            subprocess.run(["userdel", self.users.pop()], capture_output=True)

    def home(self, student: str) -> Path:
        home = self.base / "home" / student
        if not home.exists():
            home.mkdir(parents=True)
            (home / "nbgrader_config.py").write_text(
                "c = get_config()\n"
                f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
                f"c.Exchange.root = {str(self.base / 'exchange')!r}\n"
                "from backproplab.notebook_api import configure_exchange\n"
                "configure_exchange(c)\n")
            if self.as_users:
                shutil.chown(home, student, student)
                shutil.chown(home / "nbgrader_config.py", student, student)
        return home

    def env(self, student: str) -> dict[str, str]:
        return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(self.base / "home" / student), "LANG": "C.UTF-8"}

    def nbgrader(self, student: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`nbgrader ARGS` as the student, in their home folder."""
        if self.as_users:
            cmd = [sys.executable, "-c", AS_USER, student, *args]
        else:
            cmd = [sys.executable, "-m", "nbgrader", *args, "--student", student]
        proc = subprocess.run(cmd, cwd=self.home(student), env=self.env(student),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
        assert proc.returncode == 0 or not check, (student, args, proc.stdout[-2000:], proc.stderr[-3000:])
        return proc

    def put(self, student: str, source: Path) -> None:
        """The student saves `source` as their notebook (their work)."""
        dest = self.home(student) / HW / f"{HW}.ipynb"
        shutil.copyfile(source, dest)
        if self.as_users:
            shutil.chown(dest, student, student)

    def can_read(self, student: str, path: Path, listing: bool = False) -> bool:
        """Can the Unix user `student` read the file (or list the folder) at `path`?"""
        cmd = ["ls", str(path)] if listing else ["cat", str(path)]
        return subprocess.run(cmd, user=student, capture_output=True).returncode == 0


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """`nbgrader ARGS` as the instructor, in the course directory."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(course.parent / "instructor"),
                               "LANG": "C.UTF-8"}, stdin=subprocess.DEVNULL, timeout=600)
    assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc


def fingerprint_of(path: Path) -> str:
    return json.loads(path.read_text())["metadata"]["backproplab"]["fingerprint"]


def feedback_total(page: str) -> float:
    found = re.search(r'<b id="total">([\d.]+) / ', page)
    assert found, page[:500]
    return float(found.group(1))


def book_totals(course: Path) -> dict[str, float]:
    """student -> total, with plain SQL and nbgrader's rule (manual score if set, else auto, plus extra credit)."""
    sql = """SELECT sa.student_id, SUM(COALESCE(g.manual_score, g.auto_score, 0) + COALESCE(g.extra_credit, 0))
             FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id
             JOIN submitted_assignment sa ON sn.assignment_id = sa.id GROUP BY sa.student_id"""
    with sqlite3.connect(course / "gradebook.db") as db:
        return {s: round(t, 6) for s, t in db.execute(sql)}


@pytest.fixture(scope="module")
def base():
    # Not under pytest's tmp folder: that is root's alone (mode 0700), and the students must reach the exchange.
    path = Path(tempfile.mkdtemp(prefix="bpl-exchange-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_a_course_on_the_real_exchange(base, capsys):
    people = Students(base)
    try:
        people.create()
        mode = ("as the students' Unix users" if people.as_users
                else "with --student identities only (no Unix users can be made here)")
        _run_course(base, people)
    finally:
        people.remove()  # the accounts are the machine's: never leave them behind
    with capsys.disabled():
        print(f"\nexchange test: the students' nbgrader commands ran {mode}")


def _run_course(base: Path, people: Students) -> None:
    ids = {name: people.id(name) for name in NAMES}
    alice, bob, carol, dave, erin = (ids[n] for n in ("alice", "bob", "carol", "dave", "erin"))
    course, exchange = base / "course", base / "exchange"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    roster = base / "roster.csv"
    roster.write_text("student_id,first_name,last_name,email,lms_user_id,section\n" + "".join(
        f"{ids[n]},{first},{last},{n}@example.edu,{1000 + i},A\n" for i, (n, (first, last)) in enumerate(NAMES.items())))
    run_cli("generate", HW, "--course", course, "--roster", roster, check=True)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"c.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(exchange)!r}\n")
        if not people.users:
            f.write("c.ReleaseAssignment.access = 'none'  # no Unix accounts on this machine\n")
    assert sorted(p.name for p in (course / "release" / HW).iterdir()) == sorted(ids.values())  # no generic notebook

    # ---- release: each student's own folder, readable by that student only
    released = nbgrader(course, "release_assignment", HW)
    outbound = exchange / COURSE_ID / "outbound" / HW
    published = sorted(p.name for p in outbound.iterdir())
    if people.users:
        assert dave in released.stderr and published == sorted(ids[n] for n in WITH_ACCOUNT)  # no account: not yet
        assert stat.S_IMODE(outbound.stat().st_mode) == 0o711
        for name in WITH_ACCOUNT:
            me = ids[name]
            assert not people.can_read(me, outbound, listing=True)
            for other in WITH_ACCOUNT:
                assert people.can_read(me, outbound / ids[other] / f"{HW}.ipynb") == (other == name), (me, other)
    else:
        assert published == sorted(ids.values())

    # ---- the Assignments tab shows a student their own notebook before they fetch it
    if people.as_users:
        shown = subprocess.run([sys.executable, "-c", AS_USER.replace("sys.exit(app.main())", LIST), alice,
                                COURSE_ID, str(exchange)], cwd=people.home(alice), env=people.env(alice),
                               capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr[-2000:]
        (listed,) = json.loads(shown.stdout.strip().splitlines()[-1])
        assert listed["status"] == "released" and listed["path"] == str(outbound / alice)
        assert [nb["notebook_id"] for nb in listed["notebooks"]] == [HW]

    # ---- fetch: exactly one's own notebook and handout
    generic = course / ".backproplab" / "generic" / HW / f"{HW}.ipynb"
    for name in WITH_ACCOUNT:
        me = ids[name]
        people.nbgrader(me, "fetch_assignment", HW)
        got = people.home(me) / HW
        assert sorted(p.name for p in got.iterdir()) == sorted([f"{HW}.ipynb", "handout.html"])
        assert (got / f"{HW}.ipynb").read_bytes() == (course / "release" / HW / me / f"{HW}.ipynb").read_bytes()
        assert fingerprint_of(got / f"{HW}.ipynb") != fingerprint_of(generic)
    listing = people.nbgrader(bob, "list")
    assert f"{COURSE_ID} {HW}" in listing.stdout + listing.stderr
    if people.as_users:  # bob, claiming to be alice, gets nothing of hers: the kernel refuses him her folder
        claim = people.nbgrader(bob, "fetch_assignment", HW, "--student", alice, "--Exchange.assignment_dir=claim",
                                check=False)
        assert claim.returncode != 0 and "permissions" in claim.stderr, claim.stderr[-1000:]
        assert not list((people.home(bob)).glob("claim/**/*.ipynb"))

    # ---- work: alice right, bob one named mistake, carol alice's notebook, erin the generic one
    solved = {}
    for name in ("alice", "bob"):
        out = base / f"solved-{name}.ipynb"
        run_cli("solve", HW, "--course", course, "--student", ids[name], "--out", out, check=True)
        solved[name] = out
    key = json.loads((course / ".backproplab" / "keys" / HW / f"{bob}.json").read_text())
    p1 = key["problems"][0]
    mistake = p1["misconceptions"][0]
    kind = next(a["kind"] for a in p1["answers"] if a["name"] == mistake["answer"])
    set_answer(solved["bob"], p1["key"], mistake["answer"], literal(mistake["exact"], choice=kind == "choice"))
    people.put(alice, solved["alice"])
    people.put(bob, solved["bob"])
    people.put(carol, solved["alice"])  # alice's notebook, handed in by carol
    people.put(erin, generic)
    for name in WITH_ACCOUNT:
        people.nbgrader(ids[name], "submit", HW)

    # ---- collect, then grade both ways
    nbgrader(course, "collect", HW)
    for name in WITH_ACCOUNT:
        assert (course / "submitted" / ids[name] / HW / f"{HW}.ipynb").is_file()
    assert not (course / "submitted" / dave).exists()
    graded = run_cli("grade", HW, "--course", course)
    assert graded.returncode == 1, graded.stdout + graded.stderr  # the two wrong notebooks are error rows
    results = {n: json.loads((course / "autograded" / ids[n] / HW / "results.json").read_text()) for n in WITH_ACCOUNT}
    points = float(results["alice"]["max_score"])
    assert results["alice"]["score"] == points
    assert 0 < results["bob"]["score"] < points
    assert results["carol"]["status"] == "error" and results["carol"]["score"] == 0
    assert results["carol"]["error"].startswith(f"this is the notebook released to {alice}, not the one released to {carol}")
    assert results["erin"]["status"] == "error" and results["erin"]["error"].startswith("this is the unpersonalised notebook")
    assert f"error  {carol}: this is the notebook released to {alice}" in graded.stdout

    autograde = nbgrader(course, "autograde", HW, "--force")
    log = autograde.stdout + autograde.stderr
    assert "Attribute 'checksum'" not in log  # nothing was tampered with
    assert f"{carol}: this is the notebook released to {alice}" in log  # one line for a wrong notebook
    again = {n: json.loads((course / "autograded" / ids[n] / HW / "results.json").read_text()) for n in WITH_ACCOUNT}
    for name in WITH_ACCOUNT:
        assert again[name]["score"] == results[name]["score"] and again[name]["error"] == results[name]["error"], name
    totals = book_totals(course)
    assert totals == {ids[n]: results[n]["score"] for n in WITH_ACCOUNT}
    # the autograded notebook shows bob's own public tests, not the source's
    auto = json.loads((course / "autograded" / bob / HW / f"{HW}.ipynb").read_text())
    mine = json.loads((course / "release" / HW / bob / f"{HW}.ipynb").read_text())
    tests = {c["id"]: c["source"] for c in mine["cells"] if c["id"].endswith("_test")}
    assert {c["id"]: c["source"] for c in auto["cells"] if c["id"] in tests} == tests

    # ---- a manual grade and a comment, as formgrader stores them
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade(f"{p1['key']}_test", HW, HW, bob)
        grade.manual_score = float(p1["points"])  # the grader accepts bob's answer after all
        grade.extra_credit = 0.5
        gb.find_comment(p1["key"], HW, HW, bob).manual_comment = "Accepted: your convention was stated."
        gb.db.commit()
    bob_total = round(results["bob"]["score"] - next(p["score"] for p in results["bob"]["problems"]
                                                      if p["key"] == p1["key"]) + float(p1["points"]) + 0.5, 6)
    assert book_totals(course)[bob] == pytest.approx(bob_total)

    # ---- feedback: nbgrader's and ours, released and fetched
    nbgrader(course, "generate_feedback", HW, "--force")
    assert str(bob_total).rstrip("0").rstrip(".") in (course / "feedback" / bob / HW / f"{HW}.html").read_text()
    run_cli("feedback", HW, "--course", course, check=True)
    nbgrader(course, "release_feedback", HW)
    pages = {}
    for name in WITH_ACCOUNT:
        people.nbgrader(ids[name], "fetch_feedback", HW)
        found = list((people.home(ids[name]) / HW / "feedback").glob(f"*/{HW}.html"))
        assert len(found) == 1, found
        pages[name] = found[0].read_text()
        assert pages[name] == (course / "feedback" / ids[name] / HW / "feedback.html").read_text()  # ours
    assert feedback_total(pages["alice"]) == points
    assert feedback_total(pages["bob"]) == pytest.approx(bob_total)
    assert "(score set by your grader)" in pages["bob"] and "Accepted: your convention was stated." in pages["bob"]
    assert re.search(r"<li class=\"ok\">[^<]*, hidden case 1: correct</li>", pages["alice"])  # labelled code lines
    assert f"this is the notebook released to {alice}" in pages["carol"]
    assert "this is the unpersonalised notebook" in pages["erin"]

    # ---- exports and the report agree with the gradebook, names and non-submitters included
    nbgrader(course, "export")
    with open(course / "grades.csv", newline="") as f:
        stock = {r["student_id"]: r for r in csv.DictReader(f)}
    assert set(stock) == set(ids.values())  # dave, who never submitted, too
    for name, (first, last) in NAMES.items():
        row = stock[ids[name]]
        assert (row["first_name"], row["last_name"], row["email"]) == (first, last, f"{name}@example.edu")
    assert float(stock[bob]["raw_score"]) == pytest.approx(bob_total)
    assert float(stock[dave]["raw_score"]) == 0

    run_cli("export", HW, "--course", course, "--format", "csv", check=True)
    run_cli("export", HW, "--course", course, "--format", "canvas", "--canvas-assignment-id", "5", check=True)
    with open(course / "exports" / f"{HW}.csv", newline="") as f:
        ours = {r["student_id"]: r for r in csv.DictReader(f)}
    with open(course / "exports" / f"{HW}-canvas.csv", newline="") as f:
        canvas = {r[2]: r for r in list(csv.reader(f))[2:]}
    book = book_totals(course)
    for name in WITH_ACCOUNT:
        s = ids[name]
        assert float(ours[s]["total"]) == pytest.approx(book[s]) == pytest.approx(float(stock[s]["raw_score"]))
        assert feedback_total(pages[name]) == pytest.approx(book[s])
    assert ours[dave]["status"] == "missing" and ours[dave]["total"] == ""
    assert canvas[bob][0] == "Brown, Bob" and canvas[bob][1] == "1001" and float(canvas[bob][5]) == pytest.approx(bob_total)
    assert ours[carol]["status"] == ours[erin]["status"] == "error"

    run_cli("report", HW, "--course", course, check=True)
    report = (course / "reports" / f"{HW}.html").read_text()
    section = report[report.index('id="wrong-notebooks"'):report.index("Errors and timeouts")]
    assert f"<td>{carol}</td><td>the notebook released to {alice}</td>" in section
    assert f"<td>{erin}</td><td>the unpersonalised notebook</td>" in section
    assert alice not in section.replace(f"released to {alice}", "")  # alice's own submission is not listed

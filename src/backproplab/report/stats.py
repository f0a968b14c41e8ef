"""The numbers of the instructor's report, computed from a `ClassGrades`.

Statistics use the submissions with status "graded" only: an errored notebook
scores 0 in the gradebook, but it says nothing about how hard a problem is.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .data import ERROR, GRADED, MISSING, STALE, UNGRADED, ClassGrades, StudentGrades


def mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def stdev(xs: list[float]) -> float | None:
    """Sample standard deviation (None for fewer than two values)."""
    if len(xs) < 2:
        return None
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def median(xs: list[float]) -> float | None:
    if not xs:
        return None
    s, n = sorted(xs), len(xs)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson correlation; None when it is undefined (fewer than 3 pairs, or a constant side).

    With a right/wrong item this is the point-biserial correlation; with partial
    credit it is its usual generalisation (the item-rest correlation).
    """
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


@dataclass
class Overview:
    roster: int
    graded: int
    errors: int
    missing: int
    ungraded: int
    stale: int
    max_score: float
    mean: float | None
    median: float | None
    stdev: float | None
    totals: list[float]


def overview(grades: ClassGrades) -> Overview:
    """Head counts by status and the distribution of graded totals."""
    count = Counter(s.status for s in grades.students)
    totals = [s.total or 0.0 for s in grades.with_status(GRADED)]
    return Overview(len(grades.students), count[GRADED], count[ERROR], count[MISSING], count[UNGRADED], count[STALE],
                    grades.max_score, mean(totals), median(totals), stdev(totals), totals)


@dataclass
class ProblemStats:
    """One problem: mean points, difficulty (mean fraction of its points) and discrimination."""

    key: str
    title: str
    points: float
    n: int
    mean: float | None
    difficulty: float | None
    discrimination: float | None


def problem_stats(grades: ClassGrades) -> list[ProblemStats]:
    """Per problem, over the graded submissions; discrimination is the correlation of the
    problem's score with the total of the other problems."""
    rows = grades.with_status(GRADED)
    out = []
    for spec in grades.assignment.problems:
        item = [s.scores.get(spec.key, 0.0) for s in rows]
        rest = [(s.total or 0.0) - x for s, x in zip(rows, item)]
        m = mean(item)
        out.append(ProblemStats(spec.key, spec.type.title, spec.points, len(item), m,
                                None if m is None else m / spec.points, pearson(item, rest)))
    return out


@dataclass
class CheckStats:
    """One check of one problem (an answer, or a test of a coding task): its mean score in [0, 1]."""

    key: str
    check: str
    n: int
    mean: float | None
    misconceptions: int  # how many submissions made a named mistake here
    follow_through: int = 0  # how many earned credit because the work followed from an earlier slip


def _checks(student: StudentGrades):
    for p in (student.results or {}).get("problems", []):
        for c in p.get("checks", []):
            yield p["key"], c


def check_stats(grades: ClassGrades) -> list[CheckStats]:
    """Mean score of every check, in the order the problems and their checks appear."""
    scores: dict[tuple[str, str], list[float]] = {}
    named: Counter = Counter()
    carried: Counter = Counter()
    for s in grades.with_status(GRADED):
        for key, c in _checks(s):
            scores.setdefault((key, c["name"]), []).append(float(c["score"]))
            if c.get("misconception"):
                named[key, c["name"]] += 1
            if c.get("follow_through"):
                carried[key, c["name"]] += 1
    return [CheckStats(key, check, len(xs), mean(xs), named[key, check], carried[key, check])
            for (key, check), xs in scores.items()]


@dataclass
class MisconceptionCount:
    key: str
    check: str  # the answer (or test) where the mistake showed
    name: str
    count: int
    share: float  # of the graded submissions


def misconceptions(grades: ClassGrades, top: int = 5) -> dict[str, list[MisconceptionCount]]:
    """The `top` most frequent named misconceptions of each problem (problems without any are left out)."""
    rows = grades.with_status(GRADED)
    counts: Counter = Counter()
    for s in rows:
        for key, c in _checks(s):
            if c.get("misconception"):
                counts[key, c["name"], c["misconception"]] += 1
    out: dict[str, list[MisconceptionCount]] = {}
    for (key, check, name), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(out.setdefault(key, [])) < top:
            out[key].append(MisconceptionCount(key, check, name, n, n / len(rows)))
    return {k: out[k] for k in grades.keys if k in out}


@dataclass
class Problem:
    """A row of the report's "needs attention" table."""

    student: str
    where: str  # "submission", a problem key, or "folder"
    reason: str


def attention(grades: ClassGrades) -> list[Problem]:
    """Submissions that errored (whole notebook) or whose problems could not be graded
    (timeout, crash, missing cell), folders the grader skipped, and resubmissions not yet regraded."""
    out = []
    for s in grades.students:
        if s.status == ERROR:
            out.append(Problem(s.student, "notebook" if s.wrong_notebook else "submission", s.error or "could not be graded"))
        elif s.status == UNGRADED:
            out.append(Problem(s.student, "submission", "submitted but not graded yet: run `backproplab grade`"))
        elif s.status == STALE:
            out.append(Problem(s.student, "submission", "resubmitted after grading: run `backproplab grade` again"))
        for p in (s.results or {}).get("problems", []):
            if p.get("error"):
                out.append(Problem(s.student, p["key"], p["error"]))
    out += [Problem(who, "folder", why) for who, why in grades.run_errors]
    return out


def copying_flags(grades: ClassGrades) -> list[Problem]:
    """Every "possible copying" (or other) flag the grader raised, by student and problem."""
    return [Problem(s.student, p["key"], flag)
            for s in grades.students for p in (s.results or {}).get("problems", []) for flag in p.get("flags", [])]

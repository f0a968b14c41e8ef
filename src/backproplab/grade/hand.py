"""Grading a hand-computed problem against the student's key entry, as a fair TA would.

Each answer is a check worth its points. Its entries are judged in the order they
depend on each other (the key records how each entry follows from the given numbers
and from other answers: derivation.py):

1. right (within the tolerance the statement allows) — full credit;
2. wrong against the key, but right when recomputed from the student's own earlier
   answers — follow-through credit (the assignment's "follow-through" credit, default
   full), and the feedback names where the first error is; an upstream error of zeros
   (which makes the rest trivial) earns nothing downstream;
3. a named misconception — its partial credit and its feedback;
4. a list answer with some entries right — their share (or nothing, if the
   assignment says "all");
5. close but outside the tolerance — "rounded too early or too coarsely".

All zeros earns nothing unless it is right. Messages never state the right value.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..answers import Parsed, answer_form, form_messages, readable
from ..derivation import dependency_order, evaluate, references
from ..key import KeyAnswer, KeyProblem
from ..tolerance import close
from .result import CheckResult, ProblemResult

NEAR = 10  # within this many tolerances a wrong number is a rounding matter, not a method one

Index = tuple[int, ...]
Entry = tuple[str, Index]


def entries(value: Any, index: Index = ()) -> Iterator[tuple[Index, Any]]:
    """(index, leaf) of a (nested) list answer, in order; a number is one entry at ()."""
    if isinstance(value, list):
        for i, v in enumerate(value):
            yield from entries(v, index + (i,))
    else:
        yield index, value


def at(value: Any, index: Index) -> Any:
    for i in index:
        value = value[i]
    return value


def entry_name(name: str, index: Index) -> str:
    return name + "".join(f"[{i}]" for i in index)


def _tree(answer: KeyAnswer, index: Index) -> Any:
    try:
        return at(answer.follows, index) if answer.follows is not None else None
    except (IndexError, TypeError):
        return None


class Sheet:
    """One student's answers to one problem as the grader reads them: their values (in the form the
    key wants) and, per entry, "right", "follow" (right for their own other answers) or "wrong"."""

    def __init__(self, problem: KeyProblem) -> None:
        self.problem = problem
        self.order = {a.name: k for k, a in enumerate(problem.answers)}
        self.values: dict[str, Any] = {}
        self.status: dict[Entry, str] = {}
        self.roots: dict[Entry, set[Entry]] = {}  # the first errors a "follow" entry carries

    def lookup(self, name: str, index: Index) -> float | None:
        if name not in self.values:
            return None
        try:
            v = at(self.values[name], index)
        except (IndexError, TypeError):
            return None
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def first_error(self, roots: set[Entry]) -> str:
        name, index = min(roots, key=lambda r: (self.order.get(r[0], 99), r[1]))
        return entry_name(name, index)

    def judge(self) -> None:
        """The status of every entry the student wrote, each after the entries it depends on."""
        answers = {a.name: a for a in self.problem.answers}
        all_entries = [(a.name, idx) for a in self.problem.answers for idx, _ in entries(a.value)]
        trees = {e: _tree(answers[e[0]], e[1]) for e in all_entries}
        try:
            order = dependency_order(all_entries, {e: t for e, t in trees.items() if t is not None})
        except ValueError:
            order, trees = all_entries, {}  # a corrupted key: judge without follow-through
        for name, idx in order:
            if name not in self.values:
                continue
            a = answers[name]
            got = at(self.values[name], idx)
            if close(got, at(a.value, idx), a.tolerance):
                self.status[name, idx] = "right"
                continue
            self.status[name, idx] = "wrong"
            roots = self._follows(a, trees.get((name, idx)), got)
            if roots is not None:
                self.status[name, idx] = "follow"
                self.roots[name, idx] = roots

    def _follows(self, answer: KeyAnswer, tree: Any, got: Any) -> set[Entry] | None:
        """The first errors an entry carries when `got` is right for the student's own other answers;
        None when it is not, when nothing wrong enters it, or when what is wrong first is zeros."""
        if tree is None or not isinstance(got, (int, float)):
            return None
        upstream = set(references(tree))
        slips = [u for u in upstream if self.status.get(u) in ("wrong", "follow")]
        if not slips or any(self.lookup(*u) is None for u in upstream):
            return None
        roots: set[Entry] = set()
        for u in slips:
            roots |= self.roots.get(u, {u}) if self.status[u] == "follow" else {u}
        if all(self.lookup(*r) == 0 for r in roots):
            return None  # the first errors are zeros, which make everything after them trivial
        expected = evaluate(tree, self.lookup)
        if expected is None or not answer.tolerance.accepts(float(got), expected):
            return None
        return roots


def _result(sheet: Sheet, answer: KeyAnswer) -> CheckResult:
    """One answer's check, from the statuses of its entries (see the module docstring)."""
    problem, name, weight, tol = sheet.problem, answer.name, answer.points, answer.tolerance
    got = sheet.values[name]
    want = dict(entries(answer.value))
    status = {idx: sheet.status.get((name, idx), "wrong") for idx in want}
    if all(s == "right" for s in status.values()):
        return CheckResult(name, 1.0, weight, f"`{name}` is correct.")
    zeros = all(isinstance(g, (int, float)) and g == 0 for _, g in entries(got))
    ft = problem.follow_through_credit
    follow = [idx for idx, s in status.items() if s == "follow"]
    wrong = [idx for idx, s in status.items() if s == "wrong"]
    scores = [{"right": 1.0, "follow": ft}.get(s, 0.0) for s in status.values()]
    share = sum(scores) / len(scores) if (problem.partial == "proportional" or not wrong) else 0.0

    if not wrong:  # every entry is right, or right for the student's own other answers
        roots = set().union(*(sheet.roots[name, idx] for idx in follow))
        uses = sorted({u[0] for idx in follow for u in references(_tree(answer, idx))
                       if sheet.status.get(u) in ("wrong", "follow")}, key=lambda n: sheet.order.get(n, 99))
        return CheckResult(name, share, weight,
                           f"`{name}` follows correctly from your {', '.join(f'`{u}`' for u in uses)} "
                           f"(error carried forward); the first error is `{sheet.first_error(roots)}`.",
                           follow_through=True)

    for m in problem.misconceptions:
        if m.answer == name and close(got, m.value, tol):
            credit = 0.0 if zeros else max(problem.credit_for(m), share)
            return CheckResult(name, credit, weight, f"`{name}` is wrong — {m.feedback}", misconception=m.name)
    if zeros:
        return CheckResult(name, 0.0, weight, f"`{name}` is not correct.")

    near = [idx for idx in wrong if isinstance(at(got, idx), (int, float))
            and abs(at(got, idx) - want[idx]) <= NEAR * max(tol.abs, tol.rel * abs(want[idx]), 1e-12)]
    if len(want) == 1:
        if near:
            return CheckResult(name, 0.0, weight, f"`{name}` is close but outside the tolerance "
                               f"({tol.why or 'as stated'}): was it rounded too early or too coarsely?")
        return CheckResult(name, 0.0, weight, f"`{name}` is not correct.")
    right = sum(s == "right" for s in status.values())
    parts = [f"{right} of {len(want)} entries right"]
    if follow:
        parts.append(f"{len(follow)} more follow{'s' if len(follow) == 1 else ''} from your other answers")
    text = f"`{name}` has " + ", ".join(parts)
    if near:
        text += f"; `{entry_name(name, near[0])}` is close: rounded too early or too coarsely?"
    else:
        text += f"; the first wrong entry is `{entry_name(name, wrong[0])}`"
    return CheckResult(name, share, weight, text + ".", follow_through=bool(follow))


def grade_hand(problem: KeyProblem, parsed: Parsed | None) -> ProblemResult:
    """Grade `problem` (the student's key entry) given their parsed answer cell
    (`parse_answers` of its source; None when the cell is missing)."""
    result = ProblemResult(problem.key, problem.points)
    if parsed is None:
        result.error = "answer cell missing from the notebook"
        result.checks = [CheckResult(a.name, 0.0, a.points, f"`{a.name}`: no answer cell.") for a in problem.answers]
        return result
    sheet = Sheet(problem)
    forms = {a.name: form_of(a) for a in problem.answers}
    unreadable = form_messages(parsed, forms)
    for a in problem.answers:
        if a.name not in unreadable:
            sheet.values[a.name] = readable(parsed.values[a.name], forms[a.name])
    sheet.judge()
    for answer in problem.answers:
        if answer.name in unreadable:
            # A named mistake may have another shape (a transposed matrix): it is still recognised.
            named = _misconception(problem, answer, parsed.values.get(answer.name), forms[answer.name])
            result.checks.append(named or CheckResult(answer.name, 0.0, answer.points, unreadable[answer.name]))
        else:
            result.checks.append(_result(sheet, answer))
    return result


def _misconception(problem: KeyProblem, answer: KeyAnswer, value: Any, form: dict) -> CheckResult | None:
    """The named misconception a (malformed) answer is, if it is one."""
    if value is None:
        return None
    got = readable(value, form)
    for m in problem.misconceptions:
        if m.answer == answer.name and close(got, m.value, answer.tolerance):
            return CheckResult(answer.name, problem.credit_for(m), answer.points,
                               f"`{answer.name}` is wrong — {m.feedback}", misconception=m.name)
    return None


def form_of(answer: KeyAnswer) -> dict:
    """The form the key's answer must have (the notebook's check cell carries the same)."""
    return answer_form(answer.kind, answer.value, answer.choices)

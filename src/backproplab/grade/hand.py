"""Grading a hand-computed problem against the student's key entry, as a fair TA would.

Each answer is a check worth its points, judged in the order the problem asks them:

1. right (within the tolerance the statement allows) — full credit;
2. wrong against the key, but right when recomputed from the student's own earlier
   answers (the key records how each entry follows from earlier ones: derivation.py)
   — follow-through credit, and the feedback names where the first error is; an
   upstream answer of zeros (which makes the rest trivial) earns nothing downstream;
3. a named misconception — its partial credit and its feedback;
4. a list answer with some entries right — their share (or nothing, if the
   assignment says "all");
5. close but outside the tolerance — "rounded too early or too coarsely".

Messages never state the right value.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..answers import Parsed, answer_form, form_messages, readable
from ..derivation import evaluate, references
from ..key import KeyAnswer, KeyProblem
from ..tolerance import close
from .result import CheckResult, ProblemResult

NEAR = 10  # within this many tolerances a wrong number is a rounding matter, not a method one

Index = tuple[int, ...]


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


class Sheet:
    """What is known so far of one student's answers to one problem: their values (in the form the
    key wants) and, per entry, "right", "follow" (right for their own earlier answers) or "wrong"."""

    def __init__(self, problem: KeyProblem) -> None:
        self.order = {a.name: k for k, a in enumerate(problem.answers)}
        self.values: dict[str, Any] = {}
        self.status: dict[tuple[str, Index], str] = {}
        self.roots: dict[tuple[str, Index], set[tuple[str, Index]]] = {}  # first errors a follow entry carries

    def lookup(self, name: str, index: Index) -> float | None:
        if name not in self.values:
            return None
        try:
            v = at(self.values[name], index)
        except (IndexError, TypeError):
            return None
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def first_error(self, roots: set[tuple[str, Index]]) -> str:
        name, index = min(roots, key=lambda r: (self.order.get(r[0], 99), r[1]))
        return entry_name(name, index)


def _follows(sheet: Sheet, answer: KeyAnswer, index: Index, got: float) -> set[tuple[str, Index]] | None:
    """The first errors entry `index` carries when `got` is right for the student's own earlier
    answers, or None when it is not (or nothing wrong comes before it, or what does is zeros)."""
    if answer.follows is None:
        return None
    try:
        tree = at(answer.follows, index)
    except (IndexError, TypeError):
        return None
    if tree is None:
        return None
    upstream = set(references(tree))
    slips = [u for u in upstream if sheet.status.get(u) in ("wrong", "follow")]
    if not slips or any(sheet.lookup(*u) is None for u in upstream):
        return None
    if all(sheet.lookup(*u) == 0 for u in slips):
        return None  # zeros upstream make everything below trivial: no credit for "following" them
    expected = evaluate(tree, sheet.lookup)
    if expected is None or not answer.tolerance.accepts(got, expected):
        return None
    roots: set[tuple[str, Index]] = set()
    for u in slips:
        roots |= sheet.roots.get(u, {u}) if sheet.status[u] == "follow" else {u}
    return roots


def grade_answer(problem: KeyProblem, answer: KeyAnswer, got: Any, sheet: Sheet | None = None) -> CheckResult:
    """One answer, already in the right form (`form_problem` passed): see the module docstring."""
    sheet = sheet or Sheet(problem)
    name, weight, tol = answer.name, answer.points, answer.tolerance
    sheet.values[name] = got
    want = dict(entries(answer.value))
    right = {idx: close(at(got, idx), w, tol) for idx, w in want.items()}
    follow: dict[Index, set] = {}
    for idx, ok in right.items():
        sheet.status[name, idx] = "right" if ok else "wrong"
        g = at(got, idx)
        if not ok and isinstance(g, (int, float)):
            roots = _follows(sheet, answer, idx, float(g))
            if roots is not None:
                follow[idx] = roots
                sheet.status[name, idx] = "follow"
                sheet.roots[name, idx] = roots
    if all(right.values()):
        return CheckResult(name, 1.0, weight, f"`{name}` is correct.")

    ft = problem.follow_through_credit
    wrong = [idx for idx, ok in right.items() if not ok and idx not in follow]
    scores = [1.0 if ok else (ft if idx in follow else 0.0) for idx, ok in right.items()]
    share = sum(scores) / len(scores) if (problem.partial == "proportional" or not wrong) else 0.0

    if not wrong:  # every entry is right, or right for the student's own earlier answers
        roots = set().union(*follow.values())
        uses = sorted({u[0] for idx in follow for u in _upstream(answer, idx) if sheet.status.get(u) != "right"},
                      key=lambda n: sheet.order.get(n, 99))
        return CheckResult(name, share, weight,
                           f"`{name}` follows correctly from your {', '.join(f'`{u}`' for u in uses)} "
                           f"(error carried forward); the first error is `{sheet.first_error(roots)}`.",
                           follow_through=True)

    for m in problem.misconceptions:
        if m.answer == name and close(got, m.value, tol):
            credit = problem.credit_for(m)
            return CheckResult(name, max(credit, share), weight, f"`{name}` is wrong — {m.feedback}",
                               misconception=m.name)

    near = [idx for idx in wrong if isinstance(at(got, idx), (int, float))
            and abs(at(got, idx) - want[idx]) <= NEAR * max(tol.abs, tol.rel * abs(want[idx]), 1e-12)]
    if len(want) == 1:
        if near:
            return CheckResult(name, 0.0, weight, f"`{name}` is close but outside the tolerance "
                               f"({tol.why or 'as stated'}): was it rounded too early or too coarsely?")
        return CheckResult(name, 0.0, weight, f"`{name}` is not correct.")
    parts = [f"{sum(right.values())} of {len(want)} entries right"]
    if follow:
        parts.append(f"{len(follow)} more follow{'s' if len(follow) == 1 else ''} from your earlier answers")
    text = f"`{name}` has " + ", ".join(parts)
    if near:
        text += f"; `{entry_name(name, near[0])}` is close: rounded too early or too coarsely?"
    elif wrong:
        text += f"; the first wrong entry is `{entry_name(name, wrong[0])}`"
    return CheckResult(name, share, weight, text + ".", follow_through=bool(follow))


def _upstream(answer: KeyAnswer, index: Index) -> set[tuple[str, Index]]:
    try:
        return set(references(at(answer.follows, index)))
    except (IndexError, TypeError):
        return set()


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
    for answer in problem.answers:
        if answer.name in unreadable:
            # A named mistake may have another shape (a transposed matrix): it is still recognised.
            named = _misconception(problem, answer, parsed.values.get(answer.name), forms[answer.name])
            result.checks.append(named or CheckResult(answer.name, 0.0, answer.points, unreadable[answer.name]))
        else:
            got = readable(parsed.values[answer.name], forms[answer.name])
            result.checks.append(grade_answer(problem, answer, got, sheet))
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

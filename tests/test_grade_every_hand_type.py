"""Every registered hand problem type, straight from its key: right answers earn full marks, each
named misconception is recognised with its credit, and malformed answers are form errors.

As PrairieLearn elements test their own correct / incorrect / invalid answers: no CLI, no
notebook; the key goes through its JSON form (key.py) exactly as the grader reads it.
"""

from __future__ import annotations

import json

import pytest

from backproplab.answers import parse_answers
from backproplab.assignment import ProblemSpec
from backproplab.grade.hand import grade_hand
from backproplab.key import KeyProblem, key_problem
from backproplab.problems import registry
from backproplab.problems.qa import make_variant
from backproplab.tolerance import close, flat, shape

HAND = [pid for pid, p in registry().items() if p.kind == "hand"]
SEEDS = range(25)


def entry(pid: str, seed: int, credit: dict[str, float] | None = None) -> KeyProblem:
    """The key entry of one variant, after a round trip through the key's JSON."""
    ptype = registry()[pid]
    v = make_variant(ptype, seed)
    data = key_problem(ProblemSpec("p1", ptype, 4.0, {}, credit or {}), seed, v).to_json()
    return KeyProblem.from_json(json.loads(json.dumps(data)))


def cell(values: dict[str, object]) -> str:
    """An answer cell as a student writes it: `name = value` lines (floats to 17 digits)."""
    return "".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items())


def right_values(p: KeyProblem) -> dict[str, object]:
    return {a.name: a.value for a in p.answers}


def test_every_hand_type_is_covered():
    assert len(HAND) >= 20


@pytest.mark.parametrize("pid", HAND)
def test_right_answers_earn_full_marks(pid):
    for seed in SEEDS:
        p = entry(pid, seed)
        result = grade_hand(p, parse_answers(cell(right_values(p))))
        assert result.score == p.points, [(c.name, c.message) for c in result.checks]
        assert all(c.misconception is None for c in result.checks)


@pytest.mark.parametrize("pid", HAND)
def test_each_misconception_is_named_with_its_credit(pid):
    seen = 0
    for seed in SEEDS:
        p = entry(pid, seed)
        names = {m.name for m in p.misconceptions}
        # half of the names get an assignment credit, the rest keep the misconception's own
        credit = {n: 0.25 for n in sorted(names)[::2]}
        p = entry(pid, seed, credit)
        for m in p.misconceptions:
            values = right_values(p) | {m.answer: m.value}
            result = grade_hand(p, parse_answers(cell(values)))
            check = next(c for c in result.checks if c.name == m.answer)
            a = p.answer(m.answer)
            assert check.misconception == m.name, (seed, m.name, check.message)
            # the named mistake's credit at least; more where some entries are right anyway, or follow
            # correctly from the entries before them (an off-by-one list of iterates); a mistake that
            # gives all zeros is named but earns nothing
            zeros = all(x == 0 for x in flat(m.value))
            floor = 0.0 if zeros else credit.get(m.name, m.credit)
            assert (check.score == 0.0) if zeros else (floor - 1e-12 <= check.score <= 1.0), (seed, m.name)
            if not zeros and shape(m.value) == shape(a.value):
                pairs = list(zip(flat(m.value), flat(a.value)))
                share = sum(close(x, y, a.tolerance) for x, y in pairs) / len(pairs)
                assert check.score >= share - 1e-12, (seed, m.name)
            assert m.feedback in check.message
            others = [c for c in result.checks if c.name != m.answer]
            assert all(c.score == 1.0 for c in others), (seed, m.name)
            seen += 1
    # every type names mistakes (a type whose variants never carry one would not teach anything)
    assert seen > 0


@pytest.mark.parametrize("pid", HAND)
def test_invalid_and_missing_answers_score_zero_with_a_reason(pid):
    p = entry(pid, 0)
    first = p.answers[0]
    wrong_form = "'a word'" if first.kind != "choice" else "[1, 2, 3, 4, 5, 6, 7]"
    result = grade_hand(p, parse_answers(f"{first.name} = {wrong_form}\n"))
    check = result.checks[0]
    assert check.score == 0.0 and check.message and first.name in check.message
    assert all(c.score == 0.0 and "not answered" in c.message for c in result.checks[1:])
    unread = grade_hand(p, parse_answers(f"{first.name} = open('/etc/passwd').read()\n"))
    assert unread.checks[0].score == 0.0 and "only numbers" in unread.checks[0].message
    missing = grade_hand(p, None)
    assert missing.score == 0.0 and missing.error == "answer cell missing from the notebook"

"""Variant QA: degenerate variants are rejected, hopeless generators fail clearly,
and the same seed always gives the same variant."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from backproplab.problems import registry
from backproplab.problems.exact import to_str
from backproplab.problems.qa import VariantError, make_variant, problems_with
from backproplab.problems.variant import Answer, Misconception, ProblemType, Reject, Variant
from backproplab.tolerance import Tolerance, decimals_tolerance


def clean_variant(**changes) -> Variant:
    """A small hand-made variant that passes QA; tests change one thing at a time."""
    fields = dict(
        problem="toy",
        title="toy",
        statement="Compute the gradient.",
        params={},
        answers=[Answer("grad", "the gradient", sp.Rational(3, 4), nonzero=True),
                 Answer("steps", "the iterates", [sp.Rational(1, 2), sp.Integer(-1)], kind="vector"),
                 Answer("kind", "the behaviour", "monotone", kind="choice", choices=["monotone", "divergent"])],
        misconceptions=[Misconception("sign flipped", "grad", sp.Rational(-3, 4), "sign"),
                        Misconception("missing 1/N", "grad", sp.Rational(9, 4), "1/N")],
        given=[sp.Integer(2), sp.Rational(1, 4)],
        style="short decimals",
    )
    fields.update(changes)
    return Variant(**fields)


def test_clean_variant_passes():
    assert problems_with(clean_variant()) == []


def test_zero_answer_is_rejected():
    """No key answer is zero: a zero gradient teaches nothing, and a student who writes 0
    everywhere must not collect the answers that happen to be 0."""
    v = clean_variant()
    v.answers[0].value = sp.Integer(0)
    assert any("'grad' is zero" in p for p in problems_with(v))
    v.answers[0].nonzero = False
    assert any("'grad' is zero" in p for p in problems_with(v))


@pytest.mark.parametrize("bad", [sp.oo, sp.zoo, sp.nan])
def test_non_finite_answer_is_rejected(bad):
    v = clean_variant()
    v.answers[1].value = [sp.Integer(1), bad]
    assert any("'steps' is not finite" in p for p in problems_with(v))


def test_misconception_equal_to_the_answer_is_rejected():
    # 0.75 + 1e-5 is within the exact tolerance (4 significant figures) of 3/4
    near = clean_variant(misconceptions=[Misconception("rounded", "grad", sp.Float(0.75001), "x"),
                                         Misconception("sign flipped", "grad", sp.Rational(-3, 4), "x")])
    assert any("'rounded' equals the right 'grad'" in p for p in problems_with(near))
    far = clean_variant(misconceptions=[Misconception("rounded", "grad", sp.Float(0.76), "x"),
                                        Misconception("sign flipped", "grad", sp.Rational(-3, 4), "x")])
    assert problems_with(far) == []


def test_misconception_on_a_list_answer_equal_to_it_is_rejected():
    v = clean_variant(misconceptions=[Misconception("off by one", "steps", [sp.Rational(1, 2), sp.Integer(-1)], "x")])
    assert any("'off by one' equals the right 'steps'" in p for p in problems_with(v))
    v.misconceptions[0].value = [sp.Rational(1, 2)]  # another shape is always told apart
    assert problems_with(v) == []


def test_two_misconceptions_with_the_same_value_are_rejected():
    v = clean_variant(misconceptions=[Misconception("sign flipped", "grad", sp.Rational(-3, 4), "x"),
                                      Misconception("ascent", "grad", sp.Rational(-3, 4), "y")])
    assert any("'sign flipped' and 'ascent' give the same 'grad'" in p for p in problems_with(v))


def test_tolerance_decides_what_counts_as_equal():
    v = clean_variant(misconceptions=[Misconception("rounded", "grad", sp.Float(0.753), "x")])
    assert problems_with(v) == []
    v.answers[0].tolerance = decimals_tolerance(2)  # now 0.753 and 0.75 are the same to 2 places
    assert any("'rounded' equals" in p for p in problems_with(v))


def test_an_answer_without_an_absolute_tolerance_floor_is_rejected():
    v = clean_variant()
    v.answers[0].tolerance = Tolerance(rel=2e-3, abs=0.0, why="to 4 significant figures")
    assert any("'grad' has no absolute tolerance floor" in p for p in problems_with(v))
    v.answers[0].tolerance = Tolerance(rel=2e-3, abs=1e-6, why="to 4 significant figures")
    assert problems_with(v) == []


def test_misconception_for_an_unknown_answer_is_rejected():
    v = clean_variant(misconceptions=[Misconception("typo", "grad_w", sp.Integer(1), "x")])
    assert any("unknown answer 'grad_w'" in p for p in problems_with(v))


def test_choice_outside_the_choices_is_rejected():
    v = clean_variant()
    v.answers[2].value = "oscillating"
    assert any("'oscillating' is not among the choices" in p for p in problems_with(v))


def test_duplicate_answer_names_are_rejected():
    v = clean_variant()
    v.answers.append(Answer("grad", "again", sp.Integer(1)))
    assert any("'grad' appears twice" in p for p in problems_with(v))


@pytest.mark.parametrize("style, bad, good", [
    ("integers", sp.Rational(1, 2), sp.Integer(-7)),
    ("short decimals", sp.Rational(1, 3), sp.Rational(-5, 4)),
    ("short decimals", sp.Rational(1, 1000), sp.Rational(1, 100)),
    ("simple fractions", sp.Rational(1, 17), sp.Rational(5, 12)),
    ("integers", sp.Integer(5000), sp.Integer(999)),
    ("short decimals", sp.sqrt(2), sp.Rational(3, 2)),
])
def test_given_number_must_suit_the_style(style, bad, good):
    assert problems_with(clean_variant(style=style, given=[good])) == []
    found = problems_with(clean_variant(style=style, given=[good, bad]))
    assert found == [f"given number {bad} does not suit {style}"]


def toy_type(generate) -> ProblemType:
    return ProblemType("toy_problem", 1, "hand", "toy", generate, "learning")


def test_make_variant_gives_up_with_a_clear_error():
    def always_rejects(rng: np.random.Generator) -> Variant:
        raise Reject("the numbers never fit")

    with pytest.raises(VariantError, match=r"toy_problem: no acceptable variant in \d+ tries .*the numbers never fit"):
        make_variant(toy_type(always_rejects), seed=1)


def test_make_variant_names_the_qa_failure_when_giving_up():
    def always_zero(rng: np.random.Generator) -> Variant:
        v = clean_variant()
        v.answers[0].value = sp.Integer(0)
        return v

    with pytest.raises(VariantError, match="'grad' is zero"):
        make_variant(toy_type(always_zero), seed=1)


def test_make_variant_retries_until_qa_passes():
    def sometimes_zero(rng: np.random.Generator) -> Variant:
        v = clean_variant()
        v.answers[0].value = sp.Integer(int(rng.integers(0, 3)))  # zero a third of the time
        v.misconceptions = []
        return v

    for seed in range(30):
        assert make_variant(toy_type(sometimes_zero), seed).answers[0].value != 0


def fingerprint(v: Variant) -> dict:
    """Everything a variant shows or grades with, as plain data (plots by caption: they are closures)."""
    return {
        "problem": v.problem, "title": v.title, "statement": v.statement, "params": v.params, "style": v.style,
        "answers": [(a.name, to_str(a.value), a.kind, a.tolerance, a.points, a.choices) for a in v.answers],
        "misconceptions": [(m.name, m.answer, to_str(m.value), m.feedback, m.credit) for m in v.misconceptions],
        "steps": [(s.text, s.math, s.table) for s in v.steps],
        "given": to_str(list(v.given)),
        "plots": [(p.caption, p.audience) for p in v.plots],
        "code": v.code,
    }


@pytest.mark.parametrize("problem", list(registry()))
def test_same_seed_gives_the_identical_variant(problem):
    ptype = registry()[problem]
    prints = [fingerprint(make_variant(ptype, seed)) for seed in (7, 7, 12345)]
    assert prints[0] == prints[1]
    if ptype.kind == "hand":
        assert prints[0]["params"] != prints[2]["params"], "different seeds should give different numbers"

"""Every student gets the same problem: structure from the assignment, numbers from the seed.

For 500 students of every built-in assignment, each hand problem's variants ask for the same
answers (names, kinds, shapes), show the same number of worked steps, allow the same calculator,
and spread in effort (answers, operations, digits) by no more than qa.MAX_EFFORT_SPREAD; the
partial credit an assignment names is there to earn for every student. And the checks
themselves catch what they are for.
"""

from __future__ import annotations

import pytest
import sympy as sp

from backproplab import assignment
from backproplab.problems import get, registry
from backproplab.problems.exact import HAND_AVERAGE_DIGITS, HAND_DIGITS
from backproplab.problems.qa import MAX_EFFORT_SPREAD, VariantError, class_problems, effort, make_variant
from backproplab.problems.seeds import variant_seed
from backproplab.problems.variant import Answer, OptionError, Step, Variant

STUDENTS = 500
SECRET = b"effort-test-secret"


def class_of(name: str, spec) -> list[Variant]:
    return [make_variant(spec.type, variant_seed(SECRET, name, f"s{i:03d}", spec.key), spec.options)
            for i in range(STUDENTS)]


@pytest.mark.parametrize("name", assignment.available())
def test_every_student_of_a_builtin_assignment_gets_the_same_problem(name):
    hw = assignment.load(name)
    for spec in hw.problems:
        if spec.type.kind != "hand":
            continue
        variants = class_of(hw.name, spec)
        assert class_problems(variants) == [], (spec.key, spec.type.id)
        first = variants[0]
        for v in variants:
            assert v.effort == effort(v) and v.calculator == first.calculator
        # what the assignment gives credit for, every student can earn
        for mistake in spec.credit:
            missing = [i for i, v in enumerate(variants) if mistake not in {m.name for m in v.misconceptions}]
            assert not missing, f"{spec.key} {spec.type.id}: {mistake!r} cannot happen for students {missing[:5]}"



UNASSIGNED = sorted(pid for pid, p in registry().items() if p.kind == "hand"
                    and pid not in {s.type.id for n in assignment.available() for s in assignment.load(n).problems})


@pytest.mark.parametrize("pid", UNASSIGNED)
def test_hand_types_no_builtin_assignment_uses_are_the_same_problem_for_a_class(pid):
    """A type an instructor may add to an assignment (e.g. learning_rate_curves, backward_needs) passes the
    same check at its default options."""
    variants = [make_variant(get(pid), variant_seed(SECRET, "any-assignment", f"s{i:03d}", "p1"), {})
                for i in range(200)]
    assert class_problems(variants) == []

def toy(answers: list[Answer], steps: int = 1, digits: int = 1, calculator: str = "none") -> Variant:
    v = Variant("toy", "toy", "statement", {}, answers, steps=[Step("step", f"{sp.Integer(10) ** digits - 1} + 1")] * steps,
                given=[sp.Integer(10) ** digits - 1])
    v.calculator = calculator
    v.effort = effort(v)
    return v


def test_the_class_check_finds_unequal_variants():
    same = [toy([Answer("x", "x", sp.Integer(2))]) for _ in range(3)]
    assert class_problems(same) == []
    names = same + [toy([Answer("y", "y", sp.Integer(2))])]
    assert "answers" in class_problems(names)[0]
    shapes = same + [toy([Answer("x", "x", [sp.Integer(1), sp.Integer(2)], kind="vector")])]
    assert "answers" in class_problems(shapes)[0]
    steps = same + [toy([Answer("x", "x", sp.Integer(2))], steps=2)]
    assert "worked steps" in class_problems(steps)[0]
    calculator = same + [toy([Answer("x", "x", sp.Integer(2))], calculator="basic")]
    assert "calculator" in class_problems(calculator)[0]
    # 1 digit against 4 digits in the given number: a spread of 75%
    digits = same + [toy([Answer("x", "x", sp.Integer(2))], digits=4)]
    assert any("digits spread" in p for p in class_problems(digits))
    assert class_problems(digits, bound=0.8) == []
    assert 0 < MAX_EFFORT_SPREAD < 1


def test_no_calculator_means_short_numbers():
    """QA rejects a no-calculator variant with a number of more than HAND_DIGITS significant digits,
    or more than HAND_AVERAGE_DIGITS on average, and a calculator lifts both."""
    from backproplab.problems.qa import problems_with

    def variant(*values):
        return Variant("toy", "toy", "s", {}, [Answer(f"a{i}", "a", sp.Rational(x)) for i, x in enumerate(values)],
                       given=[sp.Integer(1)], style="decimals")

    assert problems_with(variant("0.375", "12"), "none") == []
    long = variant("-499997/500000")
    assert any("significant digits" in p for p in problems_with(long, "none"))
    assert problems_with(long, "basic") == []
    busy = variant(*["0.123"] * 6)  # 3 digits each: under HAND_DIGITS, over the average
    assert HAND_AVERAGE_DIGITS < 3 <= HAND_DIGITS
    assert any("on average" in p for p in problems_with(busy, "none"))


def test_calculator_option():
    assert make_variant(get("chain_rule_composed"), 1, {"outer": "square"}).calculator == "none"
    basic = make_variant(get("chain_rule_composed"), 1, {"outer": "square", "calculator": "basic"})
    assert basic.calculator == "basic" and "Use a calculator" in basic.statement
    assert make_variant(get("sigmoid_chain"), 1).calculator == "basic"
    with pytest.raises(VariantError, match="calculator = 'none'"):
        make_variant(get("sigmoid_chain"), 1, {"calculator": "none"})
    with pytest.raises(VariantError, match="calculator must be one of"):
        make_variant(get("depth_scale"), 1, {"calculator": "scientific"})


@pytest.mark.parametrize("problem, options, message", [
    ("graph_gradients", {"pool": ["y used twice", "sum times z"]}, "unequal effort"),
    ("graph_gradients", {"pool": ["y used twice", "sigmoid neuron"]}, "unequal effort"),
    ("graph_gradients", {"template": "no such graph"}, "not one of"),
    ("graph_gradients", {"template": "sum times z", "pool": "fork"}, "not both"),
    ("chain_rule_composed", {"outer": ["square", "exp"]}, "unequal effort"),
    ("chain_rule_composed", {"outer": ["exp", "sigmoid"]}, "unequal effort"),
    ("network_backward", {"sizes": [2, 9, 1]}, "units"),
    ("network_forward", {"loss": "bce", "sizes": [2, 2, 2]}, "one output unit"),
    ("gd_steps_1d", {"steps": 7}, "not one of"),
    ("mse_of_predictions", {"convention": "sum"}, "not one of"),
])
def test_options_that_would_make_unequal_or_impossible_problems_are_refused(problem, options, message):
    with pytest.raises(OptionError, match=message):
        make_variant(get(problem), 1, options)


def test_a_pool_draws_among_its_graphs():
    seen = {make_variant(get("graph_gradients"), seed, {"pool": "fork"}).params["template"] for seed in range(60)}
    assert len(seen) == 4
    assert {make_variant(get("graph_gradients"), seed).params["template"] for seed in range(20)} == {"y used twice"}

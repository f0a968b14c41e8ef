"""Reading hand answers: literal arithmetic only, never eval."""

from fractions import Fraction

import pytest

from backproplab.answers import form_problem, parse_answers


def test_reads_numbers_fractions_expressions_and_lists():
    p = parse_answers("loss = 3/4\nw = -2\nb = 0.25\nit = [1, -1/2, 2*(1/3) - 1]\nm = [[1, 0], [0, 1]]\nc = 'divergent'\ns = sqrt(4)")
    assert p.values["loss"] == Fraction(3, 4)
    assert p.values["w"] == -2 and p.values["b"] == 0.25
    assert p.values["it"] == [1, Fraction(-1, 2), Fraction(-1, 3)]
    assert p.values["m"] == [[1, 0], [0, 1]]
    assert p.values["c"] == "divergent"
    assert p.values["s"] == 2.0


@pytest.mark.parametrize("text", [
    "x = __import__('os').system('touch /tmp/pwned')",
    "x = open('/etc/passwd').read()",
    "x = y",
    "x = (lambda: 1)()",
    "x = 10**10**10",
    "x = [1]*10**9",
    "x = 1/0",
])
def test_refuses_anything_but_literal_arithmetic(text, tmp_path):
    p = parse_answers(text)
    assert "x" not in p.values and "x" in p.errors


def test_unanswered_and_syntax_errors_are_reported():
    assert "not answered" in parse_answers("x = ...").errors["x"]
    assert parse_answers("x = = 2").syntax_error


def test_later_assignment_wins():
    assert parse_answers("x = 1\nx = 2").values["x"] == 2


def test_form_problems_name_the_issue():
    assert form_problem([1.0, 2.0], {"kind": "number"}) == "should be a single number"
    assert form_problem(1.0, {"kind": "vector"}) == "should be a list"
    assert form_problem([1.0], {"kind": "vector", "shape": [2]}).startswith("should be a list of shape (2,)")
    assert "not one of" in form_problem("fast", {"kind": "choice", "choices": ["monotone", "divergent"]})
    assert form_problem([1.0, 2.0], {"kind": "vector", "shape": [2]}) is None

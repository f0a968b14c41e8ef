"""Every statement, worked solution and page reads one way: a scan for the wording defects
found before (issue 15), over many variants of every structure of every hand problem type,
and over a rendered notebook and handout of every built-in assignment.

The defect kinds: a code name that is not an answer (`dq` where the graph has no q), a symbol
in a worked solution that nothing defines (1 − 2aη with `a` never named), "∂f/∂ every", "a list
of 1 numbers", doubled signs ("ŷ − −2"), a given decimal shown as a fraction, a count or shape
described as "a fraction", trigonometry without saying radians (or far from 0), a calculator
problem that does not say so, and the how-to-write paragraph repeated under every problem.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
import sympy as sp

from backproplab import assignment
from backproplab.course.variants import student_items
from backproplab.problems import get
from backproplab.problems.exact import decimal_places
from backproplab.problems.qa import CALCULATOR_NOTE, make_variant
from backproplab.problems.variant import Variant
from backproplab.render.html import pages
from backproplab.render.notebook import build_notebook

from structures import STRUCTURES

PER_STRUCTURE = 40
MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
# LaTeX commands, the words inside \text{...} and friends, subscripts (indices) and Euler's e are not symbols
COMMANDS = re.compile(r"\\(?:text|mathrm|operatorname|mathbb|begin|end)\{[^{}]*\}|\\[A-Za-z]+")
INDICES = re.compile(r"_(?:\{[^{}]*\}|[A-Za-z0-9])|(?<![A-Za-z])e\^")
SYMBOL = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")
HOW_TO_WRITE = "Write every number exactly"

CASES = [(pid, i) for pid, opts in STRUCTURES.items() for i in range(len(opts))]


@cache
def variants(pid: str, i: int) -> list[Variant]:
    return [make_variant(get(pid), seed, STRUCTURES[pid][i]) for seed in range(PER_STRUCTURE)]


def maths(text: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in MATH.finditer(text)]


EULER = {"e"}


def symbols(text: str, indices: bool = False) -> set[str]:
    """The one-letter symbols of the formulas in `text` (with their subscripts too if `indices`)."""
    def plain(body: str) -> str:
        body = COMMANDS.sub(" ", body)
        return body if indices else INDICES.sub(" ", body)
    return {s for body in maths(text) for s in SYMBOL.findall(plain(body))} - EULER


def key_texts(v: Variant) -> list[str]:
    """Every piece of text of the worked solution: step texts, formulas, table cells."""
    out = []
    for s in v.steps:
        out += [s.text] + ([f"${s.math}$"] if s.math else []) + [c for row in s.table or [] for c in row]
    return out


def all_texts(v: Variant) -> list[str]:
    return ([v.statement] + key_texts(v) + [a.label for a in v.answers] + [a.hint() for a in v.answers]
            + [m.feedback for m in v.misconceptions] + [p.caption for p in v.plots])


def defined_in_key(v: Variant) -> set[str]:
    """Symbols the worked solution introduces itself: on the left of an "=", or named alone ("with $d$ layers")."""
    found = set()
    for text in key_texts(v):
        for body in maths(text):
            plain = COMMANDS.sub(" ", body)
            found |= set(re.findall(r"(?<![A-Za-z])([A-Za-z])(?:_(?:\{[^{}]*\}|[A-Za-z0-9]))?\s*=", plain))
            if SYMBOL.fullmatch(plain.strip()):
                found.add(plain.strip())
    return found


@pytest.mark.parametrize("pid, i", CASES)
def test_code_names_in_a_statement_are_answers_or_choices(pid, i):
    for v in variants(pid, i):
        known = {a.name for a in v.answers} | {c for a in v.answers for c in a.choices or []}
        for code in re.findall(r"`([^`]+)`", v.statement):
            if re.fullmatch(r"[A-Za-z_]\w*", code):
                assert code in known, f"{pid}: `{code}` in the statement names no answer"


@pytest.mark.parametrize("pid, i", CASES)
def test_every_symbol_of_a_worked_solution_is_defined(pid, i):
    for v in variants(pid, i):
        known = (symbols(v.statement, indices=True) | {s for a in v.answers for s in symbols(a.label, indices=True)}
                 | defined_in_key(v))
        for text in key_texts(v):
            unknown = symbols(text) - known
            assert not unknown, f"{pid}: {sorted(unknown)} undefined in the worked solution: {text[:120]}"


@pytest.mark.parametrize("pid, i", CASES)
def test_no_broken_phrases_or_doubled_signs(pid, i):
    for v in variants(pid, i):
        for text in all_texts(v):
            assert not re.search(r"\\partial\s*\$?\s*every|∂\s*every", text), text
            assert not re.search(r"\b1 (?:numbers|strings)\b", text), text
            for body in maths(text):
                assert not re.search(r"[-+−]\s*[-−]\s*\d", body), f"{pid}: doubled sign in {body}"


@pytest.mark.parametrize("pid, i", CASES)
def test_given_decimals_are_shown_as_decimals(pid, i):
    """A decimal the student is given (0.6) is never shown as a fraction (3/5): not in the statement,
    and not in the worked solution (where 1/N, a reciprocal, is a factor of a formula, not a given number)."""
    for v in variants(pid, i):
        decimals = [sp.Rational(x) for x in v.given
                    if sp.sympify(x).is_Rational and sp.Rational(x).q > 1 and decimal_places(x) is not None]
        for x in decimals:
            shown = rf"\frac{{{abs(x.p)}}}{{{x.q}}}"
            assert shown not in v.statement, f"{pid}: {x} shown as a fraction in the statement"
            if abs(x.p) != 1:
                for text in key_texts(v):
                    assert shown not in text, f"{pid}: {x} shown as a fraction in {text[:100]}"


@pytest.mark.parametrize("pid, i", CASES)
def test_counts_and_shapes_are_not_fractions(pid, i):
    for v in variants(pid, i)[:5]:
        for a in v.answers:
            if a.kind != "choice" and all(sp.sympify(x).is_Integer for x in sp.flatten([a.value])) and (
                    a.label.startswith(("the shape", "the number of", "the fewest", "the epoch"))):
                assert "fraction" not in a.hint() + a.tolerance.why, f"{pid}: {a.name} {a.tolerance.why}"


@pytest.mark.parametrize("pid, i", CASES)
def test_the_calculator_and_the_units_are_stated(pid, i):
    for v in variants(pid, i):
        if v.calculator == "basic":
            assert CALCULATOR_NOTE in v.statement
            if any(a.kind != "choice" for a in v.answers):
                assert re.search(r"decimal|significant", v.statement), f"{pid}: a calculator, but no rounding"
        else:
            assert CALCULATOR_NOTE not in v.statement
        if r"\sin" in v.statement:
            assert "radians" in v.statement
            assert abs(float(v.answer("v").value)) <= 3, "a trigonometric argument far from 0"


def test_the_training_curves_say_what_the_dashed_line_is():
    """The dashed line is the lowest *validation* loss any model can reach: the validation loss
    never goes below it, and the statement and legend say so (the training loss may)."""
    for i in range(len(STRUCTURES["read_training_curves"])):
        for v in variants("read_training_curves", i):
            (plot,) = v.plots
            dashed = next(line for line in plot.lines() if line.linestyle == "--")
            floor = dashed.ys[0]
            assert min(v.params["val"]) >= floor
            assert "lowest validation loss" in v.statement and dashed.label in v.statement
            assert "lowest loss any model reaches" not in v.statement


@pytest.mark.parametrize("name", assignment.available())
def test_a_notebook_and_handout_say_how_to_write_numbers_once(name):
    hw = assignment.load(name)
    items = student_items(hw, b"wording-test-secret", "alice", plots=False)
    nb = build_notebook(hw, items, "student")
    texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    hand = any(p.type.kind == "hand" for p in hw.problems)
    assert sum(t.count(HOW_TO_WRITE) for t in texts) == texts[0].count(HOW_TO_WRITE) == hand
    # no long paragraph is shared by problems of different types: what they share is the header's
    types: dict[str, set[str]] = {}
    for item, text in zip(items, texts[1:]):
        for paragraph in (p for p in text.split("\n\n") if len(p) > 100):
            types.setdefault(paragraph, set()).add(item.variant.problem)
    shared = [p[:80] for p, t in types.items() if len(t) > 1]
    assert not shared, shared
    handout, key = pages(hw, "alice", items)
    assert handout.count(HOW_TO_WRITE) == hand
    for text in texts + [handout, key]:
        assert not re.search(r"\b1 (?:numbers|strings)\b", text)

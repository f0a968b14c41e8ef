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


def undefined_code_names(v: Variant) -> list[str]:
    """`names` in the statement that are neither answers nor choices (`dq` where the graph has no q)."""
    known = {a.name for a in v.answers} | {c for a in v.answers for c in a.choices or []}
    return [f"`{code}` names no answer" for code in re.findall(r"`([^`]+)`", v.statement)
            if re.fullmatch(r"[A-Za-z_]\w*", code) and code not in known]


def undefined_symbols(v: Variant) -> list[str]:
    """Symbols of the worked solution that neither the statement, the answers' labels nor the solution define."""
    known = (symbols(v.statement, indices=True) | {s for a in v.answers for s in symbols(a.label, indices=True)}
             | defined_in_key(v))
    return [f"{sorted(symbols(t) - known)} undefined in: {t[:100]}" for t in key_texts(v) if symbols(t) - known]


def broken_phrases(v: Variant) -> list[str]:
    """"∂f/∂ every", "a list of 1 numbers", and doubled signs ("ŷ − −2") anywhere."""
    found = []
    for text in all_texts(v):
        if re.search(r"\\partial\s*\$?\s*every|∂\s*every", text):
            found.append(f"'∂ every' in: {text[:80]}")
        if re.search(r"\b1 (?:numbers|strings)\b", text):
            found.append(f"'1 numbers' in: {text[:80]}")
        found += [f"doubled sign in: {body[:80]}" for body in maths(text) if re.search(r"[-+−]\s*[-−]\s*\d", body)]
    return found


def decimals_as_fractions(v: Variant) -> list[str]:
    """A decimal the student is given (0.6) shown as a fraction (3/5): in the statement, or in the worked
    solution (where 1/N, a reciprocal, is a factor of a formula rather than a given number)."""
    found = []
    for x in {sp.Rational(x) for x in v.given if sp.sympify(x).is_Rational}:
        if x.q == 1 or decimal_places(x) is None:
            continue
        shown = rf"\frac{{{abs(x.p)}}}{{{x.q}}}"
        texts = [v.statement] + (key_texts(v) if abs(x.p) != 1 else [])
        found += [f"{x} shown as {shown} in: {t[:80]}" for t in texts if shown in t]
    return found


def counts_as_fractions(v: Variant) -> list[str]:
    """A count or a shape whose hint says it may be a fraction."""
    return [f"{a.name}: {a.tolerance.why}" for a in v.answers
            if a.kind != "choice" and all(sp.sympify(x).is_Integer for x in sp.flatten([a.value]))
            and a.label.startswith(("the shape", "the number of", "the fewest", "the epoch"))
            and "fraction" in a.hint() + a.tolerance.why]


def unstated_calculator_or_units(v: Variant) -> list[str]:
    """A calculator problem that does not say so (or how to round), a calculator note where none is
    allowed, trigonometry without "radians" or far from 0."""
    found = []
    if v.calculator == "basic":
        if CALCULATOR_NOTE not in v.statement:
            found.append("a calculator problem that does not say so")
        if any(a.kind != "choice" for a in v.answers) and not re.search(r"decimal|significant", v.statement):
            found.append("a calculator, but no rounding stated")
    elif CALCULATOR_NOTE in v.statement:
        found.append("a calculator note where none is allowed")
    if r"\sin" in v.statement:
        if "radians" not in v.statement:
            found.append("sin without radians")
        if any(abs(float(a.value)) > 3 for a in v.answers if a.name == "v"):
            found.append("a trigonometric argument far from 0")
    return found


DETECTORS = [undefined_code_names, undefined_symbols, broken_phrases, decimals_as_fractions, counts_as_fractions,
             unstated_calculator_or_units]


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("pid, i", CASES)
def test_no_statement_or_worked_solution_has_a_known_defect(pid, i, detector):
    for v in variants(pid, i):
        assert detector(v) == [], (pid, STRUCTURES[pid][i], detector(v)[:3])


def test_the_scan_finds_the_defects_found_before():
    """Each detector fires on the defect as issue 15 found it."""
    from backproplab.problems.variant import Answer, Step

    def toy(**fields) -> Variant:
        base = dict(problem="toy", title="t", statement="Compute `dq`.", params={},
                    answers=[Answer("dq", "$\\partial f/\\partial q$", sp.Integer(1))], steps=[], given=[])
        return Variant(**(base | fields))

    assert undefined_code_names(toy(statement="Compute (`dq` stands for $\\partial f / \\partial q$).",
                                    answers=[Answer("dp", "p", sp.Integer(1))]))
    assert undefined_symbols(toy(statement="$f(x) = 2(x - 1)^2$", steps=[Step("Each step multiplies by $1 - 2a\\eta$:")]))
    assert broken_phrases(toy(statement="2. Backward: compute $\\partial f / \\partial$ every node."))
    assert broken_phrases(toy(statement="Give `dq` (a list of 1 numbers)."))
    assert Answer("yhat", "y", [sp.Integer(1)], kind="vector").hint() == "a list of one number"
    assert broken_phrases(toy(steps=[Step("", table=[["g", "v"], ["$(\\hat y - -2)/2$", "1"]])]))
    assert decimals_as_fractions(toy(statement="The inputs are $w = - \\frac{3}{5}$, $x = \\frac{17}{10}$.",
                                     given=[sp.Rational(-3, 5), sp.Rational(17, 10)]))
    assert counts_as_fractions(toy(answers=[Answer("W1", "the shape of $W$", [sp.Integer(2), sp.Integer(3)],
                                                   kind="vector")]))
    calc = toy(statement="Let $f(v) = \\sin(v)$.", answers=[Answer("v", "v", sp.Integer(125))])
    calc.calculator = "basic"
    assert len(unstated_calculator_or_units(calc)) == 4


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

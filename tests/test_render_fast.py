"""The fast paths of generate give what the slow, general routes give.

generate for a class of 1,000 skips work where it can prove the result is the same:
typeset formulas by shape, table cells without the markdown parser, key values
straight to MathML, notebooks without nbformat's copy and validation, exact
numbers without sympy's printers. Each test compares a fast path with the route it replaces,
on the values real variants produce.
"""

from __future__ import annotations

import io
import json
import re

import nbformat
import numpy as np
import pytest
import sympy as sp
from latex2mathml.converter import convert
from PIL import Image

from backproplab.assignment import load
from backproplab.course.variants import student_items
from backproplab.problems import registry
from backproplab.problems.exact import latex, to_float, to_str
from backproplab.problems.qa import make_variant
from backproplab.render.html import value_mathml
from backproplab.render.markdown import _MATH, _MD, _plain_paragraphs, inline_html, md_to_html, mathml
from backproplab.render.notebook import build_notebook, dumps
from backproplab.render.plots import render_png

HAND = [p for p in registry().values() if p.kind == "hand"]
SEEDS = range(4)


def _variants():
    for p in HAND:
        for seed in SEEDS:
            yield make_variant(p, 1000 + seed)


def _formulas(v) -> list[str]:
    texts = [v.statement, *(a.label for a in v.answers), *(s.text for s in v.steps), *(p.caption for p in v.plots),
             *(c for s in v.steps for row in (s.table or []) for c in row)]
    found = [(m.group(1) or m.group(2)).strip() for t in texts for m in _MATH.finditer(t)]
    return found + [s.math for s in v.steps if s.math] + [latex(a.value) for a in v.answers]


def test_formulas_typeset_by_shape_are_what_latex2mathml_makes():
    formulas = [f for v in _variants() for f in _formulas(v)]
    # and the constructs where latex2mathml reads digits one at a time or a unit may follow
    formulas += [r"x_10", r"x^123 + 4", r"\frac12 + \frac{12}{3}", r"2pt + 3 in", r"\sqrt[3]{8}", r"10^{-3} 0.5x",
                 r"\text{2-cycle}", r"|x_{7}| \approx 0.0625 \le 0.1", r"x_{k+1} = x_k - \eta \cdot 10 x_k"]
    assert len(formulas) > 300
    for f in formulas:
        for display in (False, True):
            assert mathml(f, display) == convert(f, display="block" if display else "inline"), f


def test_table_cells_and_labels_skip_the_parser_only_where_it_changes_nothing():
    texts = [t for v in _variants() for t in [a.label for a in v.answers] + [p.caption for p in v.plots]
             + [c for s in v.steps for row in (s.table or []) for c in row]]
    texts += ["3", "-2.5", "1.", "- 2", "$x$", "$ x $", "a $b$ c", "**bold**", "$a$$b$"]
    for t in texts:
        slow = re.sub(r"^<p>(.*)</p>\s*$", r"\1", md_to_html.__wrapped__(t).strip(), flags=re.S)
        assert inline_html(t) == slow, t


def test_plain_paragraphs_skip_the_parser_only_where_it_changes_nothing():
    texts = [t for v in _variants()
             for t in [v.statement, *(s.text for s in v.steps), *(m.feedback for m in v.misconceptions)]]
    texts += ['a "q" & <b>', "p1\n\np2 line\nnext", "x > y", "`a` and `b c` and ` d `", "1. item", "- item", "# h",
              "a\n===", "  indented", "a  \nb", "tab\there", "``x``", "a `b\nc` d", "***", "", "\n\npara\n\n", "x\\y",
              "a_b", "<br>", "[link](x)", "| a | b |\n|---|---|\n| 1 | 2 |"]
    fast = 0
    for t in texts:
        stashed = _MATH.sub("MATHSLOT0X", t)
        got = _plain_paragraphs(stashed)
        if got is not None:
            fast += 1
            assert got == _MD.render(stashed), t
    assert fast > len(texts) / 2  # most statements and steps are plain paragraphs


def test_key_values_go_straight_to_the_mathml_of_their_latex():
    values = [x.value for v in _variants() for x in [*v.answers, *v.misconceptions]]
    values += [sp.Integer(-7), sp.Rational(-3, 4), [], [[1, sp.Rational(1, 2)], [0, -1]], "overshoots and diverges"]
    for value in values:
        assert value_mathml(value) == convert(latex(value)), value


def test_exact_numbers_are_written_as_sympy_writes_them():
    for p in range(-60, 61):
        for q in (1, 2, 3, 7, 10, 12, 1000, 10**20 + 1):
            r = sp.Rational(p, q)
            assert (latex(r), to_str(r), to_float(r)) == (sp.latex(r), str(r), float(r)), r
    rng = np.random.default_rng(3)
    for _ in range(3000):
        f = sp.Float(float(rng.uniform(-10, 10)) * 10.0 ** int(rng.integers(-25, 25)), int(rng.choice([3, 10, 15, 30])))
        assert (latex(f), to_str(f)) == (sp.latex(sp.Float(f, 10)), str(f)), f


@pytest.mark.parametrize("name", ["hw1-gradient-descent", "hw3-optimizers", "hw4-coding"])
def test_notebooks_are_serialised_as_nbformat_writes_them(name):
    assignment = load(name)
    items = student_items(assignment, b"x" * 32, "alice")
    for mode in ("source", "student", "solved"):
        nb = build_notebook(assignment, items, mode)
        nbformat.validate(nb)
        text = dumps(nb)
        # the same JSON, keys in the same order; only the indent differs
        assert json.loads(text) == json.loads(nbformat.writes(nb))
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert nbformat.reads(text, as_version=4) == nb


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _near(pixels: np.ndarray, rgb: str) -> int:
    want = np.array([int(rgb[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - want).max(axis=2) < 20).sum())


@pytest.mark.parametrize("problem", ["gd_steps_1d", "gd_steps_2d"])
def test_plots_show_the_function_and_only_the_key_shows_the_iterates(problem):
    v = make_variant(registry()[problem], 3)
    (student, key) = [render_png(p) for p in v.plots]
    assert [p.audience for p in v.plots] == ["student", "key"]
    assert render_png(v.plots[1]) == key  # same input, same bytes
    s, k = _pixels(student), _pixels(key)
    assert s.shape == k.shape == (256, 360, 3)
    curve = "#4d4d4d" if problem == "gd_steps_1d" else "#999999"  # the curve (0.3 grey) or contours (0.6)
    assert _near(s, curve) > 200 and _near(k, curve) > 200
    assert _near(s, "#1f77b4") > 20  # the start point, C0
    iterates = sum(1 for p in v.answers[0].value)  # one red marker per iterate, plus the start
    assert _near(s, "#d62728") == 0 and _near(k, "#d62728") > 30 * iterates

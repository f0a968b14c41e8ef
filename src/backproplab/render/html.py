"""The HTML handout (what the student sees) and the HTML answer key (worked solutions)."""

from __future__ import annotations

import base64
import html
import re

import sympy as sp

from ..assignment import Assignment
from ..problems.exact import LONG_FRACTION, decimal_places, latex
from ..problems.variant import Answer
from .items import Item
from .markdown import inline_html, math_html, md_to_html, mathml
from .jinja import TEMPLATES


def _inline(text: str) -> str:
    """Markdown of one line (labels, table cells, captions) without the wrapping paragraph."""
    return inline_html(text)


_OPEN = '<mo stretchy="true" fence="true" form="prefix">&#x00028;</mo>'
_CLOSE = '<mo stretchy="true" fence="true" form="postfix">&#x00029;</mo>'
_MINUS = "<mo>&#x02212;</mo>"
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9 .\-]*")
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")


def _value_ml(value) -> str | None:
    """The MathML body latex2mathml makes of `latex(value)`, built from the value directly, for
    rationals, plain choice strings and lists of them; None for anything else."""
    if isinstance(value, (list, tuple)):
        parts = [_value_ml(v) for v in value]
        return None if None in parts else "<mrow>" + _OPEN + "<mo>&#x0002C;</mo>".join(parts) + _CLOSE + "</mrow>"
    if isinstance(value, sp.Rational):
        sign = _MINUS if value.p < 0 else ""
        if value.q == 1:
            return f"{sign}<mn>{abs(value.p)}</mn>"
        if len(str(value.q)) > LONG_FRACTION and decimal_places(value) is not None:
            return f"{sign}<mn>{latex(abs(value))}</mn>"  # as latex() writes it: the decimal
        return f"{sign}<mfrac><mrow><mn>{abs(value.p)}</mn></mrow><mrow><mn>{value.q}</mn></mrow></mfrac>"
    if isinstance(value, sp.Float):
        text = latex(value)  # a plain decimal, unless it needs an exponent
        if _DECIMAL.fullmatch(text):
            return (_MINUS if text.startswith("-") else "") + f"<mn>{text.lstrip('-')}</mn>"
        return None
    if isinstance(value, str) and _PLAIN_TEXT.fullmatch(value):
        return "<mtext>" + value.replace(" ", "&#x000A0;") + "</mtext>"
    return None


def value_mathml(value) -> str:
    """An exact value (a key's answer or a misconception) typeset as MathML: the same markup as
    mathml(latex(value)), without going through LaTeX for the common cases (a key has hundreds)."""
    body = _value_ml(value)
    if body is None:
        return mathml(latex(value))
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow>{body}</mrow></math>'


def hint_html(a: Answer) -> str:
    """How to write answer `a`, as the notebook says it (a choice answer's options follow it as a list)."""
    if a.kind == "choice":
        if isinstance(a.value, list):
            return f"a list of {len(a.value)} strings, each one of"
        return "one of"
    text = a.hint()
    if a.tolerance.why:
        text += f"; {a.tolerance.why}"
    return html.escape(text)


def choices_html(a: Answer) -> list[str]:
    """The options of a choice answer as the student types them (quoted, as in the notebook)."""
    if a.kind != "choice":
        return []
    options = a.options()
    if options is None:
        return [f'<code class="choice">{html.escape(repr(c))}</code>' for c in a.labels() or []]
    return [f'<code class="choice">{html.escape(repr(label))}</code>: {_inline(text)}' for label, text in options.items()]


def _problem(item: Item) -> tuple[dict, dict]:
    """One problem as the handout shows it and as the key does, converted to HTML once for both.

    The key's adds the answers' values, its own plots, the worked steps and the recognised mistakes.
    """
    v = item.variant
    images = [(p, {"alt": p.caption.replace("$", ""), "caption": _inline(p.caption),
                   "data": base64.b64encode(png).decode()}) for p, png in item.images]
    answers = [{"name": a.name, "label": _inline(a.label), "hint": hint_html(a), "kind": a.kind,
                "choices": choices_html(a)} for a in v.answers]
    shared = {"key": item.spec.key, "title": v.title, "points": item.spec.points, "statement": md_to_html(v.statement),
              "calculator": v.calculator}
    handout = shared | {"images": [img for p, img in images if p.audience == "student"], "answers": answers}
    steps = [{"text": md_to_html(s.text), "math": math_html(s.math) if s.math else "",
              "table": [[_inline(c) for c in row] for row in s.table] if s.table else None} for s in v.steps]
    if v.code is not None:
        steps.append({"text": "<pre><code>" + _escape(v.code.solution) + "</code></pre>", "math": "", "table": None})
    key = shared | {
        "images": [img for _, img in images],
        "answers": [page | {"value": value_mathml(a.value)} for page, a in zip(answers, v.answers)],
        "steps": steps,
        "misconceptions": [{"name": m.name, "answer": m.answer, "value": value_mathml(m.value), "feedback": m.feedback}
                           for m in v.misconceptions],
    }
    return handout, key


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pages(assignment: Assignment, student: str, items: list[Item]) -> tuple[str, str]:
    """A student's two pages: the handout (their problems, with typeset math and plots) and the
    instructor's answer key (answers, worked solutions, recognised mistakes)."""
    handouts, keys = zip(*(_problem(it) for it in items)) if items else ((), ())
    page = TEMPLATES.get_template("page.html.j2")
    subtitle = f"Student {student} · {assignment.points:g} points"
    # what holds for every problem (numpy only, how to write numbers): once per page
    numbers = md_to_html(TEMPLATES.get_template("rules.md.j2").render(assignment=assignment))
    return (page.render(title=assignment.title, subtitle=subtitle, problems=handouts, key=False, numbers=numbers),
            page.render(title=f"Answer key — {assignment.title}", subtitle=subtitle, problems=keys, key=True,
                        numbers=numbers))

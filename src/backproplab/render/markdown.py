"""Markdown with $LaTeX$ to HTML whose math is MathML, so pages typeset offline.

Browsers render MathML natively; no MathJax download is needed on a machine
without network, and the page stays self-contained.

A class's pages repeat most of their text (labels, step texts, table headers,
small numbers), so conversions are memoised, and the commonest table cells (a
plain number, or one formula) skip the markdown parser.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from latex2mathml.converter import convert
from markdown_it import MarkdownIt

_MATH = re.compile(r"(?<!\\)\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$", re.S)
_MD = MarkdownIt("commonmark").enable("table")
_ONE_FORMULA = re.compile(r"\$(?!\$)([^$\\]*(?:\\.[^$\\]*)*)\$")  # the whole text is one $formula$
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")  # markdown leaves these as they are


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MN = re.compile(r"<mn>([^<]*)</mn>")


@lru_cache(maxsize=20000)
def _convert(latex: str, display: bool) -> str:
    try:
        return convert(latex, display="block" if display else "inline")
    except Exception:  # an unsupported command: show the source rather than fail a whole class
        return f"<code>{html.escape(latex)}</code>"


_FRAC_DIGITS = re.compile(r"\\[cdt]?frac\s*[.\d]?\s*$")  # \frac12: latex2mathml reads single digits here


def _shape(latex: str) -> tuple[str, dict[str, str]] | None:
    """`latex` with every number replaced by a placeholder, distinct within the formula, and the
    map placeholder -> number; None if the placeholders run out.

    latex2mathml reads a whole number as one token, so the placeholder of a free-standing number
    only keeps whether it has a decimal point ("100", "101.1"), and formulas that differ only in
    their numbers share a shape. Where digits are read one at a time or a unit may follow (after
    _ or ^, in \frac12, before a letter) the placeholder keeps the number's exact form.
    """
    used: dict[str, int] = {}
    back: dict[str, str] = {}

    def swap(m: re.Match) -> str:
        number, start, end = m.group(), m.start(), m.end()
        before = latex[start - 1] if start else " "
        after = latex[end:].lstrip()[:1]
        free = before not in "_^." and not after.isalpha() and not _FRAC_DIGITS.search(latex[:start])
        form = ("ddd.d" if "." in number else "ddd") if free else re.sub(r"\d", "d", number)
        k = used.get(form, 100 if free else 0)
        used[form] = k + 1
        digits = str(k).zfill(form.count("d"))
        if len(digits) > form.count("d"):
            raise OverflowError
        it = iter(digits)
        placeholder = "".join(next(it) if ch == "d" else ch for ch in form)
        if placeholder in back:  # an exact-form placeholder met a free one: convert as it is
            raise OverflowError
        back[placeholder] = number
        return placeholder

    try:
        return _NUMBER.sub(swap, latex), back
    except OverflowError:
        return None


@lru_cache(maxsize=20000)
def mathml(latex: str, display: bool = False) -> str:
    """MathML for one LaTeX formula (falls back to the escaped source if it cannot convert).

    Formulas of a class differ mostly in their numbers, and latex2mathml is slow, so a
    formula is converted once per *shape* (each number replaced by a distinct placeholder
    of the same form) and the numbers are put back into the <mn> elements. The result is
    latex2mathml's own output for the formula; when the shape's output does not hold
    exactly one <mn> per placeholder, the formula is converted as it is.
    """
    shaped = _shape(latex) if _NUMBER.search(latex) else None
    if shaped is not None:
        parts = _MN.split(_convert(shaped[0], display))
        found = parts[1::2]
        if len(found) == len(shaped[1]) and set(found) == set(shaped[1]):
            parts[1::2] = [f"<mn>{shaped[1][p]}</mn>" for p in found]
            return "".join(parts)
    return _convert(latex, display)


_NOT_PLAIN = re.compile(r"[*_\\\[\]!<&|~]|[ \t]\n|[ \t]$|^[ \t]|\n[ \t]")  # emphasis, links, HTML, breaks...
_BLOCK_START = re.compile(r"^(?:[-+*#>=`~]|\d+[.)])", re.M)  # lists, headings, quotes, rules, fences
_CODE = re.compile(r"`([^`\n ](?:[^`\n]*[^`\n ])?)`")
_PARAGRAPHS = re.compile(r"\n\n+")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _plain_paragraphs(text: str) -> str | None:
    """markdown-it's HTML for text that is only paragraphs of words and `code` (most statements
    and steps); None for anything else (emphasis, lists, links, tables, HTML, ...)."""
    outside = _CODE.sub("", text)
    if not text.strip() or "`" in outside or _NOT_PLAIN.search(text) or _BLOCK_START.search(text):
        return None
    out = []
    for paragraph in _PARAGRAPHS.split(text.strip("\n")):
        parts = _CODE.split(paragraph)  # text, code, text, code, ...
        out.append("<p>" + "".join(_escape(p) if i % 2 == 0 else f"<code>{_escape(p)}</code>"
                                   for i, p in enumerate(parts)) + "</p>\n")
    return "".join(out)


@lru_cache(maxsize=8192)
def md_to_html(text: str) -> str:
    """Render markdown, with $inline$ and $$display$$ math, to HTML."""
    formulas: list[str] = []

    def stash(m: re.Match) -> str:
        display = m.group(1) is not None
        formulas.append(mathml((m.group(1) if display else m.group(2)).strip(), display))
        return f"MATHSLOT{len(formulas) - 1}X"

    stashed = _MATH.sub(stash, text)
    body = _plain_paragraphs(stashed)
    if body is None:
        body = _MD.render(stashed)
    return re.sub(r"MATHSLOT(\d+)X", lambda m: formulas[int(m.group(1))], body)


@lru_cache(maxsize=8192)
def inline_html(text: str) -> str:
    """Markdown of one line (a label, a table cell, a caption) without the wrapping paragraph."""
    if _PLAIN_NUMBER.fullmatch(text):
        return text
    one = _ONE_FORMULA.fullmatch(text)
    if one and one.group(1).strip() and not one.group(1).startswith(" "):
        return mathml(one.group(1).strip())
    return re.sub(r"^<p>(.*)</p>\s*$", r"\1", md_to_html(text).strip(), flags=re.S)


def math_html(latex: str) -> str:
    """A display formula as MathML."""
    return mathml(latex, True)

"""Markdown with $LaTeX$ to HTML whose math is MathML, so pages typeset offline.

Browsers render MathML natively; no MathJax download is needed on a machine
without network, and the page stays self-contained.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from latex2mathml.converter import convert
from markdown_it import MarkdownIt

_MATH = re.compile(r"(?<!\\)\$\$(.+?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$", re.S)
_MD = MarkdownIt("commonmark").enable("table")


@lru_cache(maxsize=20000)
def mathml(latex: str, display: bool = False) -> str:
    """MathML for one LaTeX formula (falls back to the escaped source if it cannot convert)."""
    try:
        return convert(latex, display="block" if display else "inline")
    except Exception:  # an unsupported command: show the source rather than fail a whole class
        return f"<code>{html.escape(latex)}</code>"


def md_to_html(text: str) -> str:
    """Render markdown, with $inline$ and $$display$$ math, to HTML."""
    formulas: list[str] = []

    def stash(m: re.Match) -> str:
        display = m.group(1) is not None
        formulas.append(mathml((m.group(1) if display else m.group(2)).strip(), display))
        return f"MATHSLOT{len(formulas) - 1}X"

    body = _MD.render(_MATH.sub(stash, text))
    return re.sub(r"MATHSLOT(\d+)X", lambda m: formulas[int(m.group(1))], body)


def math_html(latex: str) -> str:
    """A display formula as MathML."""
    return mathml(latex, True)

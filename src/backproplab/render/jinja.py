"""The one jinja2 environment every page, cell and feedback file is rendered with.

Templates live in render/templates/ (report/ overlays its own folder on this
environment). HTML templates (*.html.j2) are autoescaped; cell templates are not.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import markupsafe

from ..problems.exact import HAND_DIGITS

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    undefined=jinja2.StrictUndefined,
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
)
def number(x: float) -> str:
    """A score or a number of points as a reader wants it: at most 2 decimals (2.86, not 2.85714)."""
    return f"{round(float(x), 2) + 0.0:g}"


def code_spans(text: str) -> markupsafe.Markup:
    """Text with `name` shown as code, everything else escaped (no literal backticks on a page)."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an odd backtick: show the text as it is
        return markupsafe.Markup(markupsafe.escape(text))
    return markupsafe.Markup("".join(f"<code>{markupsafe.escape(p)}</code>" if i % 2 else str(markupsafe.escape(p))
                                     for i, p in enumerate(parts)))


TEMPLATES.filters["fmt"] = number
TEMPLATES.filters["code_spans"] = code_spans


def coding_rules() -> str:
    """What every coding problem asks (numpy only; new float64 arrays, inputs untouched)."""
    from ..problems.coding import ARRAYS_NOTE, FORBIDDEN_NOTE  # here: rendering feedback need not load the tasks

    return f"{FORBIDDEN_NOTE} {ARRAYS_NOTE}"


# said once in a notebook's header and a handout's top rather than under every problem
TEMPLATES.globals.update(hand_digits=HAND_DIGITS, coding_rules=coding_rules)

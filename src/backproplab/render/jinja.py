"""The one jinja2 environment every page, cell and feedback file is rendered with.

Templates live in render/templates/ (report/ overlays its own folder on this
environment). HTML templates (*.html.j2) are autoescaped; cell templates are not.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from ..problems.exact import HAND_DIGITS

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    undefined=jinja2.StrictUndefined,
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
)
TEMPLATES.filters["fmt"] = lambda x: f"{x:g}"


def coding_rules() -> str:
    """What every coding problem asks (numpy only; new float64 arrays, inputs untouched)."""
    from ..problems.coding import ARRAYS_NOTE, FORBIDDEN_NOTE  # here: rendering feedback need not load the tasks

    return f"{FORBIDDEN_NOTE} {ARRAYS_NOTE}"


# said once in a notebook's header and a handout's top rather than under every problem
TEMPLATES.globals.update(hand_digits=HAND_DIGITS, coding_rules=coding_rules)

"""The stable names that generated notebooks and the course's nbgrader_config.py import.

Released notebooks live for a term and beyond, so their cells import only from
this module, whatever the package's layout becomes:

    from backproplab.notebook_api import check_form            # a hand problem's check cell
    from backproplab.notebook_api import expect, test_function # a coding problem's public tests
    from backproplab.notebook_api import grade_problem         # hidden tests (source notebook only)
    from backproplab.notebook_api import configure_nbgrader    # the course's nbgrader_config.py
    from backproplab.notebook_api import configure_exchange    # a student's nbgrader_config.py

The student's helpers import only numpy; the grading entry points load
nbgrader and the grader only when they are called.
"""

from __future__ import annotations

from typing import Any

from .student.cells import check_form, expect, test_function

__all__ = ["check_form", "configure_exchange", "configure_nbgrader", "expect", "grade_problem", "test_function"]


def grade_problem(key: str, namespace: dict[str, Any]) -> float:
    """Grade problem `key` in stock nbgrader's kernel (see nbgrader_bridge/inkernel.py)."""
    from .nbgrader_bridge.inkernel import grade_problem as grade

    return grade(key, namespace)


def configure_nbgrader(c: Any) -> None:
    """Make `nbgrader autograde` grade through backproplab's sandbox (see nbgrader_bridge/plugin.py)."""
    from .nbgrader_bridge.plugin import configure

    configure(c)


def configure_exchange(c: Any) -> None:
    """Make nbgrader's exchange per-student: each student fetches only their own notebook (see
    nbgrader_bridge/exchange.py). `configure_nbgrader` includes it."""
    from .nbgrader_bridge.exchange import configure_exchange as configure

    configure(c)

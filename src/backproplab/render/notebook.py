"""A student's assignment as a Jupyter notebook with nbgrader metadata.

Three modes share one layout, so their grade_ids always line up:
- "source": the instructor's notebook for source/ (answers between nbgrader's
  solution markers, hidden tests in the test cells);
- "student": what the student receives (stubs, public checks only);
- "solved": the student's notebook filled with the reference answers (`solve`).

Per problem `pN`: a markdown statement (not locked, it differs per student), an
answer cell `pN` (nbgrader solution cell), and a test cell `pN_test` (nbgrader
autograder test, locked, worth the problem's points).
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Literal

import nbformat
import orjson
from nbformat import NotebookNode

from ..answers import answer_form
from ..assignment import Assignment
from ..cell_meta import METADATA, checksum, nbgrader_meta
from ..problems.exact import py
from .items import Item
from .jinja import TEMPLATES

Mode = Literal["source", "student", "solved"]

KERNEL = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def _cell(kind: str, source: str, cell_id: str, nbgrader: dict | None = None, with_checksum: bool = True) -> NotebookNode:
    # Built directly rather than with nbformat.v4.new_*_cell, which validates every cell against
    # the schema (a third of the cost of a notebook); generate validates one whole notebook instead.
    cell = NotebookNode(id=cell_id, cell_type=kind, metadata=NotebookNode(), source=source)  # fixed ids: same bytes
    if kind == "code":
        cell.execution_count = None
        cell.outputs = []
    if nbgrader is not None:
        cell.metadata["nbgrader"] = NotebookNode(nbgrader)
        if with_checksum:
            cell.metadata.nbgrader["checksum"] = checksum(cell.source, kind, cell.metadata.nbgrader)
            cell.metadata.nbgrader["cell_type"] = kind
    return cell


def image_name(item: Item, index: int) -> str:
    return f"{item.spec.key}_plot{index}.png"


def answer_forms(item: Item) -> dict:
    """What `check_form` checks of each answer: its kind, shape and choice labels, the same form the
    grader requires (answers.answer_form). No value, right or wrong, is in it. Within an assignment
    these are the same for every student whose variant has the same structure."""
    return {a.name: answer_form(a.kind, a.value, a.labels()) for a in item.variant.answers}


# A student's answer and test cells of a hand problem are the same for the whole class (the test
# cell must be: nbgrader restores it from the source), so they are rendered once.
@lru_cache(maxsize=4096)
def _answers_source(index: int, values: tuple[tuple[str, str], ...], mode: Mode) -> str:
    return TEMPLATES.get_template("answers.py.j2").render(index=index, answers=values, mode=mode)


@lru_cache(maxsize=4096)
def _hand_test_source(index: int, key: str, forms: str, mode: Mode) -> str:
    return TEMPLATES.get_template("hand_test.py.j2").render(index=index, key=key, forms=forms, mode=mode)


def problem_cells(index: int, item: Item, mode: Mode) -> list[NotebookNode]:
    """The statement, answer and test cells of one problem."""
    spec, v = item.spec, item.variant
    names = [image_name(item, i) for i, _ in enumerate(item.student_images())]
    # The caption goes under the picture as markdown (Jupyter typesets its math); the PNG has no title.
    captions = [p.caption for p, _ in item.student_images()]
    statement = _cell("markdown", TEMPLATES.get_template("problem.md.j2").render(
        index=index, spec=spec, variant=v, images=list(zip(names, captions))).strip(), f"{spec.key}-statement")
    if names:
        statement.attachments = {n: {"image/png": base64.b64encode(png).decode()}
                                 for n, (_, png) in zip(names, item.student_images())}
    ctx = dict(index=index, spec=spec, variant=v, mode=mode)
    if v.code is not None:
        answer_src = v.code.starter if mode == "student" else v.code.solution
        if mode == "source":
            answer_src = "### BEGIN SOLUTION\n" + v.code.solution.rstrip() + "\n### END SOLUTION"
        test_src = TEMPLATES.get_template("code_test.py.j2").render(**ctx)
    else:
        values = tuple((a.name, "..." if mode == "student" else py(a.typed())) for a in v.answers)
        answer_src = _answers_source(index, values, mode)
        test_src = _hand_test_source(index, spec.key, json.dumps(answer_forms(item)), mode)
    answer = _cell("code", answer_src.strip(), spec.key, nbgrader_meta(spec.key, solution=True), mode != "source")
    test = _cell("code", test_src.strip(), f"{spec.key}_test",
                 nbgrader_meta(f"{spec.key}_test", grade=True, locked=True, points=spec.points), mode != "source")
    return [statement, answer, test]


def build_notebook(assignment: Assignment, items: list[Item], mode: Mode, fingerprint: str | None = None) -> NotebookNode:
    """The whole notebook of one student (or of the source) in `mode`, carrying `fingerprint`
    (course.variants.fingerprint: whose variants these are) in metadata.backproplab."""
    header = _cell("markdown", TEMPLATES.get_template("header.md.j2").render(assignment=assignment).strip(),
                   "header", nbgrader_meta("header", locked=True), mode != "source")
    cells = [header]
    for index, item in enumerate(items, start=1):
        cells += problem_cells(index, item, mode)
    metadata = nbformat.from_dict(KERNEL)
    if fingerprint is not None:
        metadata[METADATA] = NotebookNode(fingerprint=fingerprint)
    return NotebookNode(nbformat=4, nbformat_minor=5, metadata=metadata, cells=cells)


def _plain(nb: NotebookNode) -> dict:
    """A copy of `nb` as plain dicts with the cell sources split into lines, as nbformat stores them
    (image attachments stay whole strings, as in nbformat's split_lines)."""
    out = {k: v for k, v in nb.items() if k != "cells"}
    out["cells"] = [{**cell, "source": cell["source"].splitlines(True)} if isinstance(cell.get("source"), str) else cell
                    for cell in nb.cells]
    return out


def dumps(nb: NotebookNode) -> str:
    """Serialise a notebook deterministically: sorted keys, indented, UTF-8 (as nbformat.writes, with
    two spaces for one).

    nbformat.writes validates the notebook and deep-copies it first, and the json module indents
    in pure Python; all three cost more than the rest of a student's notebook. Every student's
    notebook has the same structure, so `generate` validates once per assignment instead.
    """
    return orjson.dumps(_plain(nb), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def validate(nb: NotebookNode) -> None:
    """Check a notebook against the nbformat schema (raises nbformat.ValidationError)."""
    nbformat.validate(nb)

"""The notebook's check cell says exactly what the grader will do with a hand answer.

The same corpus of malformed answers goes through the grader (grade_hand), the check cell
(`check_form`, reading the answer cell's source from IPython's input history as in Jupyter)
and `backproplab check`; all three give the same one-line reason per answer, and an answer
the check cell passes is one the grader grades.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from backproplab.answers import answer_form, parse_answers
from backproplab.assignment import ProblemSpec
from backproplab.grade.hand import grade_hand
from backproplab.key import KeyProblem, key_problem
from backproplab.problems import registry
from backproplab.problems.qa import make_variant
from backproplab.student.cells import NotReady, check_form

from conftest import run_cli, solved_course


def entry(pid: str, seed: int = 3) -> tuple[KeyProblem, dict]:
    ptype = registry()[pid]
    v = make_variant(ptype, seed)
    p = KeyProblem.from_json(json.loads(json.dumps(key_problem(ProblemSpec("p1", ptype, 3.0), seed, v).to_json())))
    forms = {a.name: answer_form(a.kind, a.value, a.labels()) for a in v.answers}  # what the check cell carries
    return p, forms


# (problem type, answer cell, the answer whose form is wrong)
CORPUS = [
    ("mse_gradient_step", "dw = 1\ndb = 2\nw_new = 2 - 0.1*dw\nb_new = 1", "w_new"),  # a variable
    ("gd_steps_1d", "iterates = []\nfor i in range(3):\n    iterates.append(i)\nf_last = 1", "iterates"),  # a loop
    ("overshooting", "iterates = [1, 2 -3]\nfactor = 0.5\nbehaviour = 'A'\neta_max = 1", "iterates"),  # a comma
    ("gd_steps_2d", "iterates = [1, 2, 3, 4, 5, 6]", "iterates"),  # flat where pairs are asked
    ("learning_rate_regimes", "factors = [0.5, 0.5, 0.5]\nregimes = ['monotone', 'sideways', 'divergent']", "regimes"),
    ("local_minimum", "first_step = 1\nreached = 1\nkind = 'B'", "kind"),  # not one of the labels
    ("mse_of_predictions", "loss = 'three'", "loss"),
    ("mse_of_predictions", "loss = ...", "loss"),
    ("mse_of_predictions", "loss = 3 +", "loss"),  # not Python
    ("mse_of_predictions", "loss = open('x').read()", "loss"),
    ("mse_of_predictions", "loss = [1, 2]", "loss"),
    ("sigmoid_chain", "sigma_primes = [[0.1], [0.2]]\nactivation_factor = 1\ngradient = 1\nbound = 1", "sigma_primes"),
]

# Near-misses that both accept: case, a trailing period, a plural, a stem, a prefix, letters in any case.
ACCEPTED = [
    ("learning_rate_regimes", "regimes", ["Monotone.", "oscillations", "2 cycle"], ["monotonic", "osc", "divergent"]),
    ("overshooting", "behaviour", ["a"], ["A."]),
]


def grader_lines(p: KeyProblem, cell: str) -> dict[str, str]:
    return {c.name: c.message for c in grade_hand(p, parse_answers(cell)).checks if c.score == 0}


def check_cell(forms: dict, cell: str) -> str | None:
    """What the check cell prints or raises when the answer cell `cell` was run just before it."""
    namespace = {"In": ["", cell, "check_form(...)"]}
    try:
        check_form(forms, namespace)
    except NotReady as e:
        return str(e)
    return None


@pytest.mark.parametrize("pid,cell,bad", CORPUS)
def test_the_check_cell_rejects_what_the_grader_rejects_with_the_same_line(pid, cell, bad):
    p, forms = entry(pid)
    raised = check_cell(forms, cell)
    line = grader_lines(p, cell)[bad]
    assert raised is not None and line in raised, (raised, line)
    assert "form" not in line.lower() or "Form OK" not in raised


@pytest.mark.parametrize("pid,name,first,second", ACCEPTED)
def test_near_misses_are_accepted_by_both(pid, name, first, second):
    p, forms = entry(pid)
    for spelled in (first, second):
        if isinstance(spelled, list) and p.answer(name).kind == "choice" and not isinstance(p.answer(name).value, list):
            spelled = spelled[0]
        if isinstance(spelled, list):
            spelled = (spelled * 3)[: len(p.answer(name).value)]
        cell = "".join(f"{a.name} = {json.dumps(a.value if a.name != name else spelled)}\n" for a in p.answers)
        assert check_cell(forms, cell) is None, cell
        assert name not in grader_lines(p, cell) or "not one of" not in grader_lines(p, cell)[name]


def test_a_blank_hand_cell_makes_the_check_cell_raise_and_a_right_one_passes(capsys):
    p, forms = entry("mse_gradient_step")
    raised = check_cell(forms, "dw = ...\ndb = ...\nw_new = ...\nb_new = ...")
    assert raised and "`dw`: not answered yet" in raised
    right = "".join(f"{a.name} = {json.dumps(a.value)}\n" for a in p.answers)
    assert check_cell(forms, right) is None and "Form OK" in capsys.readouterr().out


def test_no_value_of_the_key_is_in_the_check_cell():
    for pid, t in registry().items():
        if t.kind != "hand":
            continue
        p, forms = entry(pid)
        text = json.dumps(forms)
        for a in p.answers:
            if a.kind != "choice":
                for v in json.loads(json.dumps(a.value)) if isinstance(a.value, list) else [a.value]:
                    assert json.dumps(v) not in text or abs(v) < 100, (pid, a.name)  # shapes are small ints


@pytest.mark.slow
def test_backproplab_check_and_nbgrader_validate_agree_with_the_grader(tmp_path):
    """Through the real tools: a blank notebook fails `nbgrader validate` (its check cells raise in a
    real kernel), a solved one validates, and `backproplab check` reports the grader's lines."""
    hw = "hw1-gradient-descent"
    course, layout = solved_course(tmp_path, hw, ["alice", "bob"], solved=["bob"])
    blank = layout.released_notebook("alice")
    solved = layout.submission_dir("bob") / layout.notebook_name
    nbgrader = [sys.executable, "-m", "nbgrader", "validate"]
    out = subprocess.run(nbgrader + [str(blank)], capture_output=True, text=True, cwd=course)
    assert "Success! Your notebook passes all the tests." not in out.stdout + out.stderr
    out = subprocess.run(nbgrader + [str(solved)], capture_output=True, text=True, cwd=course)
    assert "Success! Your notebook passes all the tests." in out.stdout + out.stderr, out.stdout + out.stderr
    proc = run_cli("check", blank)
    assert proc.returncode == 1 and "not answered yet" in proc.stdout
    proc = run_cli("check", solved)
    assert proc.returncode == 0, proc.stdout

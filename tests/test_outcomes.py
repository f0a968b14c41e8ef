"""Every problem type names the learning outcome it assesses, and every outcome is assessed both ways.

From the registry as `backproplab list --json` reports it: each chapter has at least three hand problem
types; each of the five outcomes has at least two conceptual hand types (choices or a diagnosis) and at
least two computational ones. The `concept` flag says what the answers are: a conceptual type's choice
answers carry at least half of its answers' weight, a computational type's less than half.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import get_args

import pytest

from conftest import run_cli
from backproplab import assignment
from backproplab.problems import get, registry
from backproplab.problems.qa import make_variant
from backproplab.problems.variant import CHAPTER_OUTCOMES, OUTCOMES, Outcome, ProblemType


@pytest.fixture(scope="module")
def listed() -> list[dict]:
    return json.loads(run_cli("list", "--json", check=True).stdout)


def test_the_five_outcomes_are_named_in_one_place():
    assert list(get_args(Outcome)) == list(OUTCOMES) and len(OUTCOMES) == 5
    assert set(CHAPTER_OUTCOMES.values()) == set(OUTCOMES) and set(CHAPTER_OUTCOMES) == set(range(1, 7))
    with pytest.raises(ValueError, match="outcome"):
        ProblemType("toy", 1, "hand", "toy", lambda rng: None, "memorising")


def test_list_json_names_every_types_outcome(listed):
    assert {i["id"] for i in listed} == set(registry())
    assert all(i["outcome"] in OUTCOMES and isinstance(i["concept"], bool) for i in listed)
    text = run_cli("list", check=True).stdout
    for key, meaning in OUTCOMES.items():
        assert meaning in text
    line = next(ln for ln in text.splitlines() if " diagnose_training_run " in ln)
    assert "failures" in line and "concept" in line


def test_every_chapter_has_three_hand_types(listed):
    hand = Counter(i["chapter"] for i in listed if i["kind"] == "hand")
    assert all(hand[c] >= 3 for c in range(1, 7)), hand


def test_every_outcome_is_assessed_conceptually_and_computationally(listed):
    for outcome in OUTCOMES:
        hand = [i for i in listed if i["kind"] == "hand" and i["outcome"] == outcome]
        conceptual = [i["id"] for i in hand if i["concept"]]
        computational = [i["id"] for i in hand if not i["concept"]]
        assert len(conceptual) >= 2 and len(computational) >= 2, (outcome, conceptual, computational)


@pytest.mark.parametrize("pid", [pid for pid, p in registry().items() if p.kind == "hand"])
def test_the_concept_flag_says_what_the_answers_are(pid):
    for seed in range(5):
        v = make_variant(get(pid), seed)
        total = sum(a.points for a in v.answers)
        choices = sum(a.points for a in v.answers if a.kind == "choice")
        if get(pid).concept:
            assert choices >= total / 2, pid
        else:
            assert choices < total / 2, pid


def test_the_midterm_draws_one_problem_per_outcome_and_hw0_covers_1_4_5_conceptually():
    exam = assignment.load("exam-midterm")
    assert [p.type.outcome for p in exam.problems] == list(OUTCOMES)
    hw0 = assignment.load("hw0-concepts")
    assert {p.type.outcome for p in hw0.problems} == {"learning", "batching", "failures"}
    assert all(p.type.concept for p in hw0.problems)
    per_outcome = Counter(p.type.outcome for p in hw0.problems)
    assert all(per_outcome[o] >= 2 for o in ("learning", "batching", "failures"))


def test_the_key_schema_documents_every_hand_type():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "key-schema.md").read_text()
    missing = [pid for pid, p in registry().items() if p.kind == "hand" and f"`{pid}`" not in doc]
    assert not missing

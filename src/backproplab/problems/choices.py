"""Choice answers whose every wrong option is a named misconception.

A conceptual problem offers its right option beside a few wrong ones drawn per variant,
in a per-variant order (exact.shuffled_choices). Each wrong option must be a named
misconception with its feedback, so the grader names it and the report counts it:
`choice` builds the answer and those misconceptions together, so neither can be
forgotten. `classified` does the same for a list of things to label (each labelled
one of a few words), where each thing has its own usual wrong label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .exact import shuffled_choices
from .variant import Answer, Misconception

# A wrong option: its misconception's name -> (the option's text, the feedback when it is chosen).
Wrong = dict[str, tuple[str, str]]


def choice(rng: np.random.Generator, name: str, label: str, right: str, wrong: Wrong, k: int
           ) -> tuple[Answer, list[Misconception]]:
    """A choice answer: `right` and `k` of the `wrong` options drawn at random, in a random order, and the
    named misconception of each wrong option shown."""
    drawn = [list(wrong)[i] for i in rng.permutation(len(wrong))[:k]]
    answer = Answer(name, label, right, kind="choice",
                    choices=shuffled_choices(rng, right, [wrong[w][0] for w in drawn], k))
    return answer, [Misconception(w, name, wrong[w][0], wrong[w][1]) for w in drawn]


@dataclass(frozen=True)
class Item:
    """A thing to label (markdown), its right label, and the usual wrong label with its name and feedback."""

    text: str
    label: str
    wrong: str
    name: str
    feedback: str


def pick_items(rng: np.random.Generator, pool: Sequence[Item], shown: int) -> list[Item]:
    """One item of each label, the rest drawn from the others, in a random order (`shown` in all), so every
    student labels the same number of things and meets every label."""
    labels = sorted({item.label for item in pool})
    first = [[i for i in pool if i.label == lab][int(rng.integers(sum(i.label == lab for i in pool)))]
             for lab in labels]
    rest = [i for i in pool if i not in first]
    chosen = first + [rest[j] for j in rng.permutation(len(rest))[:shown - len(first)]]
    return [chosen[j] for j in rng.permutation(len(chosen))]


def classified(name: str, label: str, items: list[Item], labels: list[str]) -> tuple[Answer, list[Misconception]]:
    """The list answer labelling `items` in order, and for each item the misconception that gives it its usual
    wrong label (the other entries right)."""
    right = [i.label for i in items]
    mis = [Misconception(i.name, name, right[:k] + [i.wrong] + right[k + 1:], i.feedback) for k, i in enumerate(items)]
    return Answer(name, label, right, kind="choice", choices=list(labels)), mis


def numbered(items: list[Item]) -> str:
    """The items as a numbered markdown list."""
    return "\n".join(f"{k + 1}. {i.text}" for k, i in enumerate(items))

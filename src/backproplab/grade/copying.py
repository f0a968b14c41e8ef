"""Possible copying: wrong hand answers that are right for another student's variant.

A flag is evidence for an instructor to look at, so it must mean something. An
answer of a problem counts towards a flag only when all of these hold:

* it is wrong for the student, and is not one of their own variant's named
  mistakes (those explain it without anyone else);
* it is the right answer of at most MAX_SHARED classmates: a value many variants
  share (a step count, an answer equal across most variants) says nothing about
  whose work it is;
* it carries information: its significant digits beyond a round number or a simple
  fraction (`information`) are at least MIN_VALUE_DIGITS. 7, 16, 0.5 or 1/3 are
  easy to hit by chance or by a common slip; 13/8, 969 or 0.1245 are not.

A problem is flagged when the counted answers matching one classmate's variant
carry at least MIN_PROBLEM_DIGITS digits together, and the flag names that
classmate. Choice answers never count (few options).

The index is built once per run (one dict per answer of each problem, rounded
value -> the students whose right answer it is); a look-up is a dict hit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..answers import Parsed, to_floats
from ..assignment import Assignment
from ..course.layout import Layout
from ..key import Key, KeyAnswer, KeyProblem, UnreadableKey, read_key
from ..tolerance import close

MAX_SHARED = 2  # classmates whose right answer a value may be, and still point at someone
MIN_VALUE_DIGITS = 2  # an answer with fewer digits of information does not count at all
MIN_PROBLEM_DIGITS = 3  # digits the matching answers of one problem must carry together
SIMPLE_DENOMINATOR = 100  # p/q with q up to this is "a simple fraction"


def bucket(value: Any) -> Any:
    """A hashable rounding of an answer (4 significant figures) for fast look-up."""
    if isinstance(value, list):
        return tuple(bucket(v) for v in value)
    if isinstance(value, str):
        return value.strip().lower()
    return float(f"{value:.4g}")


def information(value: Any) -> int:
    """Digits of information in an answer: the fewer of its significant digits (at 4 figures) and
    the digits of the simplest fraction equal to it; summed over the entries of a list.

    0 → 0, 7 → 1, 0.5 → 1, 16 → 2, 1/3 → 2, −2.4 → 2, 13/8 → 3, 969 → 3, 41/24 → 4, 0.1245 → 4.
    """
    if isinstance(value, list):
        return sum(information(v) for v in value)
    if isinstance(value, str):
        return 0
    x = abs(float(value))
    if x == 0 or not math.isfinite(x):
        return 0
    mantissa = f"{x:.3e}".split("e")[0]
    digits = len(mantissa.replace(".", "").rstrip("0"))
    simple = Fraction(x).limit_denominator(SIMPLE_DENOMINATOR)
    if simple and abs(float(simple) - x) <= 5e-4 * x:
        digits = min(digits, len(str(simple.numerator)) + (len(str(simple.denominator)) if simple.denominator > 1 else 0))
    return digits


@dataclass
class CopyIndex:
    """For each (problem, answer): rounded right answer -> [(student, exact float)] whose key it is."""

    right: dict[tuple[str, str], dict[Any, list[tuple[str, Any]]]] = field(default_factory=dict)

    @classmethod
    def build(cls, layout: Layout, roster: list[str], assignment: Assignment) -> "CopyIndex | None":
        """The index of every roster student's key (None when the assignment has no hand problems)."""
        if not any(p.type.kind == "hand" for p in assignment.problems):
            return None
        index = cls()
        for student in roster:
            try:
                key = read_key(layout.key_json(student))
            except UnreadableKey:
                continue
            for entry in key.problems:
                for a in entry.answers:
                    if a.kind == "choice":
                        continue  # few options: matching a classmate says nothing
                    try:
                        b = bucket(a.value)
                    except (TypeError, ValueError):
                        continue
                    index.right.setdefault((entry.key, a.name), {}).setdefault(b, []).append((student, a.value))
        return index

    def matches(self, student: str, entry: KeyProblem, got: Any, answer: KeyAnswer) -> list[str]:
        """Classmates whose right answer `got` is, when that points at them (see the module doc)."""
        try:
            holders = self.right.get((entry.key, answer.name), {}).get(bucket(got), [])
        except (TypeError, ValueError):
            return []
        tol = answer.tolerance
        others = [s for s, value in holders if s != student and close(got, value, tol)]
        if not others or len(others) > MAX_SHARED or information(got) < MIN_VALUE_DIGITS:
            return []
        if any(m.answer == answer.name and close(got, m.value, tol) for m in entry.misconceptions):
            return []
        return others

    def flags(self, student: str, entry: KeyProblem, parsed: Parsed) -> list[str]:
        """A flag for problem `entry` when `student`'s wrong answers (`parsed`) point at a classmate's variant."""
        evidence: dict[str, list[tuple[str, int]]] = {}  # classmate -> [(answer name, digits)]
        numeric = [a for a in entry.answers if a.kind != "choice"]
        for a in numeric:
            if a.name not in parsed.values:
                continue
            got = to_floats(parsed.values[a.name])
            try:
                if close(got, a.value, a.tolerance):
                    continue
            except TypeError:  # a string or a list where a number belongs: not anyone's answer
                continue
            digits = information(got)
            for other in self.matches(student, entry, got, a):
                evidence.setdefault(other, []).append((a.name, digits))
        strong = sorted(((sum(d for _, d in ev), other) for other, ev in evidence.items()
                         if sum(d for _, d in ev) >= MIN_PROBLEM_DIGITS), key=lambda t: (-t[0], t[1]))
        if not strong:
            return []
        found = []
        for _, other in strong[:MAX_SHARED]:
            names = [n for n, _ in evidence[other]]
            found.append(f"possible copying: {', '.join(f'`{n}`' for n in names)} ({len(names)} of {len(numeric)} "
                         f"answers) wrong for {student}, right for the variant of {other}")
        return found

    def submission_flags(self, student: str, key: Key, answers: dict[str, Parsed]) -> dict[str, list[str]]:
        """The flags of each hand problem of `student`'s submission (its parsed answer cells, by
        problem key), against the whole class: problem key -> flags (only problems with some)."""
        found = {}
        for entry in key.problems:
            if entry.key in answers:
                flags = self.flags(student, entry, answers[entry.key])
                if flags:
                    found[entry.key] = flags
        return found

"""The data a problem generator returns: a `Variant` and its parts.

A generator chooses numbers, derives the answers exactly with sympy and returns a
`Variant`. Everything downstream — the notebook, the handout, the answer key, the
grader — reads only this dataclass, so the key, the worked steps and the
misconception answers cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Union

import sympy as sp

from ..errors import ConfigError
from ..tolerance import EXACT, Tolerance

# An exact answer: a sympy number, a (nested) list of them, or a string (a choice).
Exact = Union[sp.Expr, list, str]


AnswerKind = Literal["number", "vector", "choice"]
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,15}")  # an option that is its own label: one short word


@dataclass
class Answer:
    """One thing the student must write down.

    `name` is the Python variable the student assigns in the notebook; `value` is
    exact. For kind "vector" the value is a list (possibly nested); for "choice"
    it is one of `choices` (or a list of choices, one per item).
    """

    name: str
    label: str
    value: Exact
    kind: AnswerKind = "number"
    tolerance: Tolerance = EXACT
    points: float = 1.0
    choices: list[str] | None = None
    nonzero: bool = False  # QA rejects a variant where this answer is zero (e.g. a gradient)
    # How each entry is computed from the given numbers and from earlier answers: sympy
    # expressions over problems.follow.ref symbols, nested like `value` (None: no earlier
    # answer enters it). The grader evaluates them on the student's own earlier answers,
    # for credit where the work follows correctly from an earlier slip.
    follows: Any = None

    def labels(self) -> list[str] | None:
        """What the student types for a choice answer: each option itself when every option is
        one short word (a label), else the letters A, B, C, ... in the order the options are shown."""
        if self.kind != "choice":
            return None
        options = self.choices or []
        if all(LABEL.fullmatch(o) for o in options):
            return list(options)
        return [chr(ord("A") + i) for i in range(len(options))]

    def options(self) -> dict[str, str] | None:
        """label -> option text, for a choice answer whose labels are letters (else None)."""
        labels = self.labels()
        if labels is None or labels == self.choices:
            return None
        return dict(zip(labels, self.choices or []))

    def typed(self, value: Any = None) -> Any:
        """`value` (default: the right one) as the student types it: a choice by its label."""
        value = self.value if value is None else value
        if self.kind != "choice":
            return value
        by_text = dict(zip(self.choices or [], self.labels() or []))
        if isinstance(value, list):
            return [by_text.get(v, v) for v in value]
        return by_text.get(value, value)
    # The form a student may write a number in that would be long written out, e.g. the power
    # (1/2)**20: the statement says so, and QA counts the digits of this form instead of the value's.
    hand_form: sp.Expr | None = None

    def hint(self) -> str:
        """How the student writes this answer, in words (shown in the notebook)."""
        if self.kind == "choice":
            opts = ", ".join(repr(c) for c in (self.labels() or []))
            if isinstance(self.value, list):
                return f"a list of {count(len(self.value), 'string')}, each one of {opts}"
            return f"one of {opts}"
        if self.kind == "vector":
            return f"a list of {count(len(self.value), 'number')}" if not _nested(self.value) else "a nested list of numbers"
        if self.hand_form is not None:
            return "a number; a power such as 0.5 ** 20 is fine"
        return "a number"


def count(n: int, noun: str) -> str:
    """'one number', '3 numbers': a count with its noun."""
    return f"one {noun}" if n == 1 else f"{n} {noun}s"


def _nested(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, list) for v in value)


@dataclass
class Misconception:
    """A named wrong answer the grader recognises, with the feedback to show."""

    name: str
    answer: str  # the Answer.name this wrong value stands in for
    value: Exact
    feedback: str
    credit: float = 0.0  # fraction of the answer's points still given


@dataclass
class Step:
    """One line of the worked solution: prose, an optional display formula, an optional table."""

    text: str
    math: str = ""
    table: list[list[str]] | None = None  # first row is the header; cells may hold $LaTeX$


@dataclass(frozen=True)
class Frame:
    """A plot's axes apart from its data: limits, labels, scale and ticks.

    A frame is a value, so the renderer can draw each distinct one once per process
    (render/plots.py): limits should take few values across a class (round numbers).
    """

    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlabel: str = ""
    ylabel: str = ""
    ylog: bool = False  # logarithmic y axis
    equal: bool = False  # one unit is as long on both axes
    xticks: tuple[float, ...] = ()  # labelled x ticks; empty: matplotlib chooses
    xgrid: tuple[float, ...] = ()  # unlabelled x ticks, each with a grid line
    grid: bool = False
    fontsize: float | None = None  # smaller text for a busy plot; None: matplotlib's default


@dataclass(frozen=True)
class Line:
    """Points joined (or not) as matplotlib's `plot` draws them; a label puts it in the legend (above the plot)."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: str
    linestyle: str = "-"  # "" for markers only
    marker: str = ""  # "" for a plain line
    label: str = ""
    width: float = 1.5
    markersize: float = 6.0


@dataclass(frozen=True)
class Note:
    """A short text next to a data point (offset in points)."""

    text: str
    x: float
    y: float
    offset: tuple[float, float] = (4.0, 6.0)


@dataclass
class Plot:
    """A figure as data: its frame and its marks, drawn by render/plots.py.

    `audience` is "student" for the handout and notebook (must not reveal answers)
    or "key" for the worked solution.
    """

    caption: str
    frame: Frame
    marks: list[Line | Note]
    audience: Literal["student", "key"] = "key"

    def lines(self) -> list[Line]:
        return [m for m in self.marks if isinstance(m, Line)]


@dataclass
class CodeTask:
    """What a coding problem shows the student; hidden tests live in autograder/."""

    task: str  # autograder task id
    functions: list[str]
    starter: str  # code the student completes
    solution: str  # reference code (source notebook and `solve` only)
    public_tests: str  # visible test code the student can run


NumberStyle = Literal["integers", "short decimals", "simple fractions", "decimals"]
Calculator = Literal["none", "basic"]


@dataclass(frozen=True)
class Effort:
    """How much work a variant is, as QA measures it (problems/qa.py, `effort`).

    Students of one class must get problems of equal effort: QA's class check compares these.
    """

    answers: int  # numbers (and choices) the student writes down
    operations: int  # arithmetic operations in the worked solution
    digits: int  # significant digits of every given number and every answer


@dataclass
class Variant:
    """One student's instance of a problem type."""

    problem: str  # ProblemType.id
    title: str
    statement: str  # markdown with $LaTeX$
    params: dict[str, Any]  # the chosen numbers, JSON-able (exact values as strings)
    answers: list[Answer]
    steps: list[Step] = field(default_factory=list)
    misconceptions: list[Misconception] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    given: list[sp.Expr] = field(default_factory=list)  # every number shown to the student
    style: NumberStyle = "integers"
    code: CodeTask | None = None
    # What the student may use: the assignment's `calculator` option, else what the generator says the
    # structure needs (a logarithm, say, even where the point makes the value rational), else QA decides.
    calculator: Calculator | None = None
    effort: Effort | None = None  # set by QA

    def answer(self, name: str) -> Answer:
        for a in self.answers:
            if a.name == name:
                return a
        raise KeyError(name)


class Reject(Exception):
    """Raised by a generator to throw away the numbers it chose and draw again."""


class OptionError(ConfigError):
    """An assignment gave a problem an option value it does not take."""


def option(problem: str, name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """`value` if it is one of `allowed`, else OptionError naming what is allowed."""
    allowed = list(allowed)
    if value not in allowed:
        raise OptionError(f"{problem}: option {name} = {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


# The course's five learning outcomes: every problem type names the one it assesses.
Outcome = Literal["learning", "gradient-step", "chain-rule", "batching", "failures"]
OUTCOMES: dict[str, str] = {
    "learning": "(1) explain what it means for a network to learn, in terms of weights, loss and optimization",
    "gradient-step": "(2) compute a gradient-descent step by hand and explain the role of the learning rate",
    "chain-rule": "(3) trace the forward and backward pass of a small network with the chain rule",
    "batching": "(4) distinguish batch, stochastic and mini-batch gradient descent and explain when each is used",
    "failures": "(5) identify vanishing gradients, overshooting, local minima and overfitting, and the standard fixes",
}
# The outcome each chapter's material serves, for problem types that follow their chapter (the coding tasks).
CHAPTER_OUTCOMES: dict[int, str] = {1: "learning", 2: "gradient-step", 3: "chain-rule", 4: "chain-rule",
                                    5: "batching", 6: "failures"}


@dataclass(frozen=True)
class ProblemType:
    """A registered problem type: a generator plus what `list` shows.

    `concept` marks a conceptual item (its answers are mostly choices: classify, match, diagnose,
    pick the fix) as opposed to a computational one (its answers are mostly numbers)."""

    id: str
    chapter: int
    kind: Literal["hand", "code"]
    title: str
    generate: Callable[..., Variant]  # generate(rng: np.random.Generator, **options) -> Variant
    outcome: Outcome
    concept: bool = False

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"problem type {self.id}: outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}")

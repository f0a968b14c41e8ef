"""The answer key: the contract between generating a variant and grading it.

`generate` writes one key per student (`.backproplab/keys/<HW>/<student>.json`)
with `make_key` and `dumps_key`; everything that grades, checks or reports reads it with
`read_key`, never as a raw dict. docs/key-schema.md documents every field, and
for every problem type every entry of `params`: a key's `params` alone are
enough to re-derive each of its answers (tests/test_keys_ch*.py do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import orjson

from .assignment import Assignment, ProblemSpec
from .errors import ConfigError
from .problems.exact import to_float, to_str
from .problems.follow import trees
from .problems.variant import Answer, Variant
from .tolerance import Tolerance

SCHEMA = "backproplab-key/2"
FOLLOW_THROUGH = "follow-through"  # the credit key for answers that follow from an earlier slip
# Keys this version reads: /1 differs only in `params` (renamed and completed in /2), which grading never reads.
READABLE = ("backproplab-key/1", SCHEMA)


class UnreadableKey(ConfigError):
    """A key that cannot be read (missing, not JSON, or of a schema this version does not know)."""


@dataclass
class KeyAnswer:
    """One thing the student writes: its exact value (as a string) and as floats, how close is close enough."""

    name: str
    label: str
    kind: str  # "number", "vector" or "choice"
    exact: Any  # "3/4", a (nested) list of such strings, or the choice
    value: Any  # the same as floats (JSON key "float"); choices stay strings
    tolerance: Tolerance
    points: float
    choices: list[str] | None = None  # a choice answer's labels, what the student types
    options: dict[str, str] | None = None  # label -> option text, where the labels are letters
    follows: Any = None  # per entry, nested like `value`: the derivation tree from earlier answers, or None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind, "exact": self.exact, "float": self.value,
                "tolerance": self.tolerance.to_json(), "points": self.points, "choices": self.choices,
                "options": self.options, "follows": self.follows}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "KeyAnswer":
        return cls(d["name"], d.get("label", d["name"]), d["kind"], d.get("exact"), d["float"],
                   Tolerance.from_json(d.get("tolerance") or {}), float(d.get("points", 1.0)), d.get("choices"),
                   d.get("options"), d.get("follows"))


@dataclass
class KeyMisconception:
    """A named wrong answer the grader recognises, with its feedback and default credit."""

    name: str
    answer: str
    exact: Any
    value: Any  # JSON key "float"
    feedback: str
    credit: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "answer": self.answer, "exact": self.exact, "float": self.value,
                "feedback": self.feedback, "credit": self.credit}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "KeyMisconception":
        return cls(d["name"], d["answer"], d.get("exact"), d["float"], d.get("feedback", ""), float(d.get("credit", 0.0)))


@dataclass
class KeyCode:
    """A coding problem: the task id (autograder/<task>.py) and the functions the student writes."""

    task: str
    functions: list[str]


@dataclass
class KeyProblem:
    """One problem of one student's assignment."""

    key: str  # "p1", "p2", ...: the grade ids of its cells
    points: float
    seed: str  # the variant's seed, 16 hex digits
    credit: dict[str, float]  # the assignment's partial credit per misconception name (and "follow-through")
    type: str  # the problem type id
    title: str
    statement: str
    style: str
    params: dict[str, Any]
    answers: list[KeyAnswer] = field(default_factory=list)
    misconceptions: list[KeyMisconception] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    code: KeyCode | None = None
    partial: str = "proportional"  # a list answer with some entries right earns their share, or ("all") nothing

    @property
    def seed_int(self) -> int:
        return int(self.seed, 16)

    def answer(self, name: str) -> KeyAnswer:
        for a in self.answers:
            if a.name == name:
                return a
        raise KeyError(name)

    def credit_for(self, m: KeyMisconception) -> float:
        """The share of an answer's points a misconception still earns: the assignment's, else its own."""
        return float(self.credit.get(m.name, m.credit))

    @property
    def follow_through_credit(self) -> float:
        """The share of an answer's points for work that follows correctly from an earlier slip."""
        return float(self.credit.get(FOLLOW_THROUGH, 1.0))

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "points": self.points, "seed": self.seed, "credit": self.credit, "type": self.type,
                "title": self.title, "statement": self.statement, "style": self.style, "params": self.params,
                "answers": [a.to_json() for a in self.answers],
                "misconceptions": [m.to_json() for m in self.misconceptions],
                "steps": self.steps,
                "code": None if self.code is None else {"task": self.code.task, "functions": self.code.functions},
                "partial": self.partial}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "KeyProblem":
        code = d.get("code")
        return cls(d["key"], float(d["points"]), str(d.get("seed", "0")), dict(d.get("credit") or {}), d["type"],
                   d.get("title", ""), d.get("statement", ""), d.get("style", ""), dict(d.get("params") or {}),
                   [KeyAnswer.from_json(a) for a in d.get("answers", [])],
                   [KeyMisconception.from_json(m) for m in d.get("misconceptions", [])],
                   list(d.get("steps", [])), None if not code else KeyCode(code["task"], list(code["functions"])),
                   str(d.get("partial", "proportional")))


@dataclass
class Key:
    """One student's whole key."""

    assignment: str
    title: str
    student: str
    points: float
    problems: list[KeyProblem]
    schema: str = SCHEMA

    def problem(self, key: str) -> KeyProblem:
        for p in self.problems:
            if p.key == key:
                return p
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {"schema": self.schema, "assignment": self.assignment, "title": self.title, "student": self.student,
                "points": self.points, "problems": [p.to_json() for p in self.problems]}

    @classmethod
    def from_json(cls, d: Any) -> "Key":
        if not isinstance(d, dict) or d.get("schema") not in READABLE:
            found = d.get("schema") if isinstance(d, dict) else type(d).__name__
            raise UnreadableKey(f"not a backproplab key of a known schema ({found!r}; this version reads {', '.join(READABLE)})")
        return cls(d["assignment"], d.get("title", ""), d["student"], float(d["points"]),
                   [KeyProblem.from_json(p) for p in d["problems"]], d["schema"])


def json_params(value: Any) -> Any:
    """Parameters as JSON: sympy numbers and expressions become their exact strings."""
    if isinstance(value, dict):
        return {str(k): json_params(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_params(v) for v in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    return str(value)


def key_answer(a: Answer) -> KeyAnswer:
    """An answer as the key stores it: a choice by its label, each entry's derivation as a tree."""
    typed = a.typed()
    return KeyAnswer(a.name, a.label, a.kind, to_str(typed), to_float(typed), a.tolerance, a.points, a.labels(),
                     a.options(), None if a.follows is None else trees(a.follows))


def key_problem(spec: ProblemSpec, seed: int, v: Variant) -> KeyProblem:
    """The key entry of problem `spec` for the variant `v` drawn from `seed`."""
    by_name = {a.name: a for a in v.answers}

    def typed(m) -> Any:
        a = by_name.get(m.answer)
        return a.typed(m.value) if a is not None else m.value

    return KeyProblem(
        key=spec.key, points=spec.points, seed=f"{seed:016x}", credit=spec.credit, type=v.problem, title=v.title,
        statement=v.statement, style=v.style, params=json_params(v.params),
        answers=[key_answer(a) for a in v.answers],
        misconceptions=[KeyMisconception(m.name, m.answer, to_str(typed(m)), to_float(typed(m)), m.feedback, m.credit)
                        for m in v.misconceptions],
        steps=[{"text": s.text, "math": s.math, "table": s.table} for s in v.steps],
        code=None if v.code is None else KeyCode(v.code.task, v.code.functions), partial=spec.partial)


def make_key(assignment: Assignment, student: str, problems: Iterable[tuple[ProblemSpec, int, Variant]]) -> Key:
    """The key of `student`'s assignment from their (spec, seed, variant) of every problem."""
    return Key(assignment.name, assignment.title, student, assignment.points,
               [key_problem(spec, seed, v) for spec, seed, v in problems])


def dumps_key(key: Key) -> str:
    """The key as the JSON text `generate` writes (two-space indent, fields in schema order)."""
    return orjson.dumps(key.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n"


def read_key(path: Path) -> Key:
    """The key at `path`; UnreadableKey with one line when it is missing or unreadable."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise UnreadableKey(f"no answer key at {path}") from None
    except (OSError, orjson.JSONDecodeError) as e:
        raise UnreadableKey(f"the answer key {path} cannot be read: {e}") from None
    try:
        return Key.from_json(data)
    except (KeyError, TypeError, ValueError) as e:
        raise UnreadableKey(f"the answer key {path} is malformed ({type(e).__name__}: {e})") from None

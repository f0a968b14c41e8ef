"""What grading one problem of one submission produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CheckResult:
    """One check of one problem: a score in [0, 1], a weight, and what the student reads.

    `message` must never contain hidden inputs, expected values or test source.
    `misconception` names a recognised mistake (e.g. "sign flipped"), for feedback
    and for the report's misconception counts.
    """

    name: str
    score: float
    weight: float = 1.0
    message: str = ""
    misconception: str | None = None
    follow_through: bool = False  # credit for work that follows correctly from an earlier slip

    @property
    def line(self) -> str:
        """What the student reads, labelled by the answer or check it is about."""
        return labelled(self.name, self.message)


def labelled(name: str, message: str) -> str:
    """`message` labelled by `name` ("gd_step, hidden case 1: correct"); a message that already
    starts with the answer's name (a hand answer's "`loss` is correct.") is left as it is."""
    message = message or "no message"
    if not name or message.startswith(f"`{name}`"):
        return message
    return f"{name}: {message}"


@dataclass
class ProblemResult:
    """All checks of one problem; `error` is a one-line reason when it could not be graded."""

    key: str  # the problem's key in the assignment, e.g. "p3"
    points: float
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None
    flags: list[str] = field(default_factory=list)  # e.g. "matches another student's variant"

    @property
    def fraction(self) -> float:
        total = sum(c.weight for c in self.checks)
        if self.error is not None and not self.checks:
            return 0.0
        return sum(c.score * c.weight for c in self.checks) / total if total else 0.0

    @property
    def score(self) -> float:
        return round(self.points * self.fraction, 6)

    def to_json(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies every field, a noticeable cost per submission
        return {"key": self.key, "points": self.points, "error": self.error, "flags": list(self.flags),
                "score": self.score,
                "checks": [{"name": c.name, "score": c.score, "weight": c.weight, "message": c.message,
                            "line": c.line, "misconception": c.misconception, "follow_through": c.follow_through}
                           for c in self.checks]}

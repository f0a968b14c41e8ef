"""One problem of one student's assignment, ready to render."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..assignment import ProblemSpec
from ..problems.variant import Plot, Variant


@dataclass
class Item:
    spec: ProblemSpec
    seed: int
    variant: Variant
    images: list[tuple[Plot, bytes]] = field(default_factory=list)  # rendered PNGs, in plot order

    def student_images(self) -> list[tuple[Plot, bytes]]:
        return [(p, png) for p, png in self.images if p.audience == "student"]

    def key_images(self) -> list[tuple[Plot, bytes]]:
        return [(p, png) for p, png in self.images if p.audience == "key"]

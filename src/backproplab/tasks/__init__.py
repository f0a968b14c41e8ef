"""The coding-task vocabulary shared by problems/ (public examples), autograder/ (hidden tests)
and grade/ (running and judging them): `Call`, `Check`, `Probe`, `FD`, `scale_probes`."""

from .checks import FD, FORBIDDEN_MODULES, Call, Check, Part, Probe, scale_probes, scaled

__all__ = ["FD", "FORBIDDEN_MODULES", "Call", "Check", "Part", "Probe", "scale_probes", "scaled"]

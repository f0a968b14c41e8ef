"""The errors a user reads: one line each, caught once by the command line.

`BackproplabError` is the one class the CLI catches (it prints the message as one
line and exits non-zero). Two kinds sit under it, because they are read by
different people and handled differently:

* `ConfigError` — the instructor's input is wrong: an unknown assignment, a bad
  spec, a roster or course directory that cannot be used. The command stops.
* `SubmissionError` — what one student handed in cannot be read or run. It
  becomes that student's error row; every other submission is still graded.
"""

from __future__ import annotations


class BackproplabError(Exception):
    """A one-line reason a command cannot go on (the CLI shows it and exits non-zero)."""


class ConfigError(BackproplabError):
    """The instructor's input (assignment, roster, course directory, options) cannot be used."""


class SubmissionError(BackproplabError):
    """One student's submission cannot be read or run; it costs that submission, never the run."""

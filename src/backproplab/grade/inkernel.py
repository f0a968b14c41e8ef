"""An old import path, kept so that notebooks and nbgrader_config.py written by backproplab 0.1
still check and grade. New code imports from backproplab.notebook_api."""

from ..notebook_api import grade_problem  # noqa: F401

__all__ = ["grade_problem"]

"""Rendering a student's variants: the notebook (nbgrader metadata), the HTML
handout, and the instructor's answer key (HTML and JSON)."""

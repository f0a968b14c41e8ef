"""Grading: take a submitted notebook apart by grade_id, check hand answers and
run student code in a sandbox, and record scores with feedback that names the
mistake."""

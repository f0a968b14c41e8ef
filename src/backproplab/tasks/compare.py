"""Comparing what a function returned with what it should return: the rule both the grader's
hidden checks and the student's public tests use. Only numpy is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """max_i |x_i - y_i| / max(1e-8, |x_i| + |y_i|)  (CS231n's relative error)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def scaled_error(x: np.ndarray, y: np.ndarray) -> float:
    """max|x - y| relative to the arrays' scale: for finite differences, whose noise is absolute."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    scale = max(1e-8, float(np.max(np.abs(x), initial=0.0) + np.max(np.abs(y), initial=0.0)))
    return float(np.max(np.abs(x - y), initial=0.0)) / scale


def _kind(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "a bool"
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    if isinstance(x, (int, np.integer)):
        return "an int"
    if isinstance(x, (float, np.floating)):
        return "a float"
    return f"a {type(x).__name__}"


def mismatch(got: Any, want: Any, tol: float) -> str | None:
    """Why `got` is not an acceptable `want` (None when it is).

    Arrays: exact shape and dtype, all finite, relative error under `tol`. Numbers:
    a real number within `tol`. Lists, tuples and dicts: the same structure, part by part.
    """
    if isinstance(want, np.ndarray):
        if not isinstance(got, np.ndarray):
            return f"returned {_kind(got)}, expected an array of shape {want.shape}"
        if got.shape != want.shape:
            return f"returned shape {got.shape}, expected shape {want.shape}"
        if got.dtype != want.dtype:
            return f"returned dtype {got.dtype}, expected dtype {want.dtype}"
        if want.dtype.kind in "fc" and not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
            return "returned values that are not finite (nan or inf)"
        if want.dtype.kind in "biu":
            return None if np.array_equal(got, want) else "returned different values"
        err = rel_error(got, want)
        return None if err <= tol else f"relative error {err:.1e} (allowed {tol:.0e})"
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            return f"returned {_kind(got)}, expected a {type(want).__name__} of {len(want)} items"
        for i, (g, w) in enumerate(zip(got, want)):
            why = mismatch(g, w, tol)
            if why:
                return f"item {i}: {why}"
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict) or sorted(map(str, got)) != sorted(map(str, want)):
            return f"returned {_kind(got)}, expected a dict with keys {sorted(want)}"
        for k in want:
            why = mismatch(got[k], want[k], tol)
            if why:
                return f"[{k!r}]: {why}"
        return None
    if isinstance(want, (bool, np.bool_)):
        return None if isinstance(got, (bool, np.bool_)) and bool(got) == bool(want) else "returned a different value"
    if isinstance(want, (int, np.integer)):
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
            return f"returned {_kind(got)}, expected an int"
        return None if int(got) == int(want) else "returned a different int"
    # a float: accept any real number (a 0-d array too), finite, within tol
    if isinstance(got, np.ndarray) and got.shape == ():
        got = got.item()
    if not isinstance(got, (int, float, np.integer, np.floating)) or isinstance(got, bool):
        return f"returned {_kind(got)}, expected a float"
    if not np.isfinite(got) and np.isfinite(want):
        return "returned a value that is not finite (nan or inf)"
    err = rel_error(float(got), float(want))
    return None if err <= tol else f"relative error {err:.1e} (allowed {tol:.0e})"



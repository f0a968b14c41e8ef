"""The answer keys of chapters 1–2, checked against independent float computations.

Every problem type is generated for seeds 0..999 through QA (`make_variant`);
each key is recomputed here without sympy: plain float loss sums, central finite
differences for gradients, direct float iteration of gradient descent, a
simulated run classified from its trajectory, and brute-force step counting.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from functools import cache

import numpy as np
import pytest

from backproplab.problems import get
from backproplab.problems.qa import make_variant
from backproplab.problems.variant import Variant

from conftest import key_params
from structures import structure

SEEDS = range(1000)
HALF = {"mean": 1.0, "half-mean": 0.5}  # the factor in front of (1/N)Σ(ŷ − y)² for each convention


@cache
def variants(problem: str) -> list[Variant]:
    """The variants of seeds 0..999, seed k in the problem's structure k mod (their number)
    (tests/structures.py), generated once per test session, with `params` as the key stores them
    (the key contract: every answer is re-derived from those alone)."""
    return [key_params(make_variant(get(problem), seed, structure(problem, seed))) for seed in SEEDS]


def num(s: str) -> float:
    """A parameter stored as an exact string ('3/4', '-2') as a float."""
    return float(Fraction(s))


def value(v: Variant, name: str):
    """An answer's exact value as floats (lists stay lists)."""
    def conv(x):
        return [conv(e) for e in x] if isinstance(x, list) else (x if isinstance(x, str) else float(x))
    return conv(v.answer(name).value)


def close(got, want, tol: float = 1e-7) -> bool:
    """Elementwise |got − want| <= tol·max(1, |want|), for numbers and nested lists."""
    g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return g.shape == w.shape and bool(np.all(np.abs(g - w) <= tol * np.maximum(1.0, np.abs(w))))


def short_decimals(values) -> bool:
    """Are all exact values (nested lists allowed) decimals with at most 3 digits after the point?"""
    if isinstance(values, list):
        return all(short_decimals(v) for v in values)
    return (Fraction(str(values)) * 1000).denominator == 1


def fd_grad(f, p: list[float], h: float = 1e-5) -> list[float]:
    """Central finite differences of f at the point p."""
    out = []
    for i in range(len(p)):
        up, down = list(p), list(p)
        up[i] = up[i] + h  # not +=: that would change a numpy array of p in place
        down[i] = down[i] - h
        out.append((f(*up) - f(*down)) / (2 * h))
    return out


def descend_float(f, eta: float, start: list[float], k: int) -> list[list[float]]:
    """k float steps of p ← p − η ∇f(p), the gradient by finite differences."""
    path, p = [], list(start)
    for _ in range(k):
        p = [pi - eta * gi for pi, gi in zip(p, fd_grad(f, p))]
        path.append(p)
    return path


# --- chapter 1 -------------------------------------------------------------------------


def test_mse_of_predictions_matches_float_mean():
    for v in variants("mse_of_predictions"):
        pred = np.array([num(s) for s in v.params["predictions"]])
        target = np.array([num(s) for s in v.params["targets"]])
        want = HALF[v.params["mse_convention"]] * np.mean((pred - target) ** 2)
        assert want > 0 and close(value(v, "loss"), want), v.params


def test_loss_of_linear_model_matches_float_model():
    for v in variants("loss_of_linear_model"):
        w, b = num(v.params["w"]), num(v.params["b"])
        xs = np.array([num(s) for s in v.params["x"]])
        ys = np.array([num(s) for s in v.params["y"]])
        pred = w * xs + b
        assert close(value(v, "predictions"), pred), v.params
        assert close(value(v, "loss"), HALF[v.params["mse_convention"]] * np.mean((pred - ys) ** 2)), v.params


# --- chapter 2: gradients and steps ----------------------------------------------------------


def mse_loss(v: Variant):
    """The variant's loss L(w, b) as a plain float function."""
    xs = [num(s) for s in v.params["x"]]
    ys = [num(s) for s in v.params["y"]]
    half = HALF[v.params["mse_convention"]]
    return lambda w, b: half * sum((w * xi + b - yi) ** 2 for xi, yi in zip(xs, ys)) / len(xs)


def test_mse_gradient_step_matches_finite_differences():
    for v in variants("mse_gradient_step"):
        w, b, eta = num(v.params["w"]), num(v.params["b"]), num(v.params["eta"])
        dw, db = fd_grad(mse_loss(v), [w, b])
        assert abs(dw) > 1e-6 and abs(db) > 1e-6, "a zero gradient slipped through"
        assert close(value(v, "dw"), dw, 1e-6) and close(value(v, "db"), db, 1e-6), v.params
        assert close(value(v, "w_new"), w - eta * dw, 1e-6), v.params
        assert close(value(v, "b_new"), b - eta * db, 1e-6), v.params


def test_mse_gradient_step_misconceptions_are_the_named_mistakes():
    """'missing 1/N' is N× the gradient and 'gradient ascent' adds the step, recomputed independently."""
    for v in variants("mse_gradient_step")[:200]:
        w, b, eta = num(v.params["w"]), num(v.params["b"]), num(v.params["eta"])
        n = len(v.params["x"])
        dw, db = fd_grad(mse_loss(v), [w, b])
        mis = {(m.name, m.answer): float(m.value) for m in v.misconceptions}
        assert close(mis[("missing 1/N", "dw")], n * dw, 1e-6)
        assert close(mis[("gradient ascent", "b_new")], b + eta * db, 1e-6)
        for (name, answer), wrong in mis.items():
            right = value(v, answer)
            assert not v.answer(answer).tolerance.accepts(wrong, right), (name, answer, v.params)


def quadratic_1d(v: Variant):
    a, c, d = (num(v.params[k]) for k in ("a", "c", "d"))
    return lambda x: a * (x - c) ** 2 + d


def test_gd_steps_1d_matches_float_iteration():
    for v in variants("gd_steps_1d"):
        f = quadratic_1d(v)
        x0, eta, k = num(v.params["x0"]), num(v.params["eta"]), v.params["steps"]
        assert abs(fd_grad(f, [x0])[0]) > 1e-6, "started at the minimum"
        path = [p[0] for p in descend_float(f, eta, [x0], k)]
        assert close(value(v, "iterates"), path, 1e-6), v.params
        assert close(value(v, "f_last"), f(path[-1]), 1e-6), v.params
        assert len(set(path)) == k, "iterates repeat (1 − 2aη = 0)"
        assert short_decimals(v.answer("iterates").value), "iterates must be easy to write by hand"


def test_gd_steps_1d_misconceptions_are_the_named_mistakes():
    for v in variants("gd_steps_1d")[:200]:
        f = quadratic_1d(v)
        x0, eta, k = num(v.params["x0"]), num(v.params["eta"]), v.params["steps"]
        mis = {m.name: [float(e) for e in m.value] for m in v.misconceptions}
        assert close(mis["gradient ascent"], [p[0] for p in descend_float(f, -eta, [x0], k)], 1e-6)
        assert close(mis["learning rate forgotten"], [p[0] for p in descend_float(f, 1.0, [x0], k)], 1e-6)
        right = value(v, "iterates")
        for name, wrong in mis.items():
            assert not close(wrong, right, 1e-3), (name, v.params)


def test_gd_steps_2d_matches_float_iteration():
    seen_cross = 0
    for v in variants("gd_steps_2d"):
        a, b, h = (num(v.params[k]) for k in ("axx", "ayy", "axy"))
        c1, c2 = (num(s) for s in v.params["c"])
        start = [num(s) for s in v.params["x0"]]

        def f(x, y):
            return a * (x - c1) ** 2 + b * (y - c2) ** 2 + h * (x - c1) * (y - c2)

        assert max(abs(g) for g in fd_grad(f, start)) > 1e-6
        path = descend_float(f, num(v.params["eta"]), start, v.params["steps"])
        assert close(value(v, "iterates"), path, 1e-6), v.params
        assert short_decimals(v.answer("iterates").value), "iterates must be easy to write by hand"
        seen_cross += h != 0
    assert 100 < seen_cross < 900, "cross terms should appear in some variants, not all"


# --- chapter 2: the learning rate ------------------------------------------------------------


def classify_run(step, steps: int = 200) -> str:
    """Run x ← step(x) from x = 1 and name what the trajectory does."""
    xs = [1.0]
    for _ in range(steps):
        xs.append(step(xs[-1]))
    last = abs(xs[-1])
    if last > 1 + 1e-6:
        return "divergent"
    if abs(last - 1) <= 1e-6:
        return "2-cycle"
    flips = all(p * q < 0 for p, q in zip(xs[:20], xs[1:20]))
    return "oscillating" if flips else "monotone"


def test_learning_rate_regimes_match_simulated_runs():
    seen = set()
    for v in variants("learning_rate_regimes"):
        a, c, d = (num(v.params[k]) for k in ("a", "c", "d"))
        f = lambda x: a * (x - c) ** 2 + d  # noqa: E731
        rates = [num(s) for s in v.params["rates"]]
        factors = [descend_float(f, eta, [1.0], 1)[0][0] for eta in rates]  # x1 / x0 with x0 = 1
        runs = [classify_run(lambda x, eta=eta: x - eta * fd_grad(f, [x])[0]) for eta in rates]
        assert close(value(v, "factors"), factors, 1e-6), v.params
        assert value(v, "regimes") == runs, v.params
        assert "oscillating" in runs
        seen.update(runs)
    assert seen == {"monotone", "oscillating", "2-cycle", "divergent"}


def test_largest_stable_rate_is_the_convergence_threshold():
    cases = variants("largest_stable_rate")
    assert all(v.params["axy"] == "0" and v.params["c"] == ["0", "0"] for v in cases)
    a1 = np.array([num(v.params["axx"]) for v in cases])
    a2 = np.array([num(v.params["ayy"]) for v in cases])
    eta_max = np.array([value(v, "eta_max") for v in cases])

    def f(x, y):
        return a1 * x**2 + a2 * y**2

    def run(eta: np.ndarray, steps: int) -> np.ndarray:
        """|(x, y)| after `steps` float GD steps from (1, 1), all variants at once."""
        x, y = np.ones_like(eta), np.ones_like(eta)
        for _ in range(steps):
            gx, gy = fd_grad(f, [x, y])
            x, y = x - eta * gx, y - eta * gy
        return np.hypot(x, y)

    assert np.all(run(eta_max * 0.999, 20000) < 1e-3), "a rate just below eta_max must converge"
    assert np.all(run(eta_max * 1.001, 20000) > 1e3), "a rate just above eta_max must diverge"
    # eta_best minimises the slower axis's one-step contraction max|1 − η g_i| (g_i from finite
    # differences); that is convex in η, so a ternary search finds it.
    gx = fd_grad(f, [np.ones_like(a1), np.zeros_like(a1)])[0]
    gy = fd_grad(f, [np.zeros_like(a1), np.ones_like(a1)])[1]
    lo, hi = np.zeros_like(eta_max), eta_max.copy()
    for _ in range(100):
        m1, m2 = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        worse1 = np.maximum(abs(1 - m1 * gx), abs(1 - m1 * gy)) > np.maximum(abs(1 - m2 * gx), abs(1 - m2 * gy))
        lo, hi = np.where(worse1, m1, lo), np.where(worse1, hi, m2)
    got = np.array([value(v, "eta_best") for v in cases])
    assert np.all(np.abs(got - lo) <= 1e-6), "eta_best is not the minimax rate"


def test_steps_to_epsilon_matches_brute_force_count():
    for v in variants("steps_to_epsilon"):
        a, eta, x0, eps = (Fraction(v.params[k]) for k in ("a", "eta", "x0", "threshold"))
        assert v.params["c"] == v.params["d"] == "0"
        h = Fraction(1, 1000)  # a central difference is exact on a quadratic, in exact arithmetic
        x, k = x0, 0
        while abs(x) > eps:
            x -= eta * (a * (x + h) ** 2 - a * (x - h) ** 2) / (2 * h)
            k += 1
            assert k < 1000, "does not converge"
        assert value(v, "steps") == k, v.params
        assert k >= 2
        for m in v.misconceptions:
            assert int(m.value) != k, (m.name, v.params)


# --- every chapter 1–2 variant -------------------------------------------------------------

CH12 = ["mse_of_predictions", "loss_of_linear_model", "mse_gradient_step", "gd_steps_1d", "gd_steps_2d",
        "learning_rate_regimes", "largest_stable_rate", "steps_to_epsilon"]


@pytest.mark.parametrize("problem", CH12)
def test_variants_are_complete_and_json_able(problem):
    for v in variants(problem)[:100]:
        json.dumps(v.params)
        assert v.answers and v.steps and v.given and v.statement
        assert all(a.name.isidentifier() for a in v.answers)
        assert len({m.name for m in v.misconceptions}) >= 2, problem


def plot_points(plot) -> list[tuple[float, ...]]:
    """The points of a plot's short lines (markers, paths), not of its 100-point curves."""
    return [pt for line in plot.lines() if len(line.xs) < 20 for pt in zip(line.xs, line.ys)]


def in_frame(plot, points) -> bool:
    (x0, x1), (y0, y1) = plot.frame.xlim, plot.frame.ylim
    return all(x0 <= px <= x1 and y0 <= py <= y1 for px, py in points)


@pytest.mark.parametrize("problem", ["gd_steps_1d", "gd_steps_2d"])
def test_only_the_key_plot_shows_the_iterates_and_both_show_every_point(problem):
    for v in variants(problem)[:300]:
        student, key = v.plots
        assert (student.audience, key.audience) == ("student", "key") and student.frame == key.frame
        # an iterate is an x (1-D) or an (x, y) point (2-D); the student plot shows none, the key all
        for it in [tuple(p) if isinstance(p, list) else (p,) for p in value(v, "iterates")]:
            def shown(plot):
                return any(all(math.isclose(s, t) for s, t in zip(pt, it)) for pt in plot_points(plot))
            assert not shown(student) and shown(key), v.params
        assert in_frame(key, plot_points(key)), v.params


def test_contours_are_level_sets_of_the_2d_quadratic():
    for v in variants("gd_steps_2d")[:200]:
        a, b, h = (num(v.params[k]) for k in ("axx", "ayy", "axy"))
        c1, c2 = (num(t) for t in v.params["c"])
        rings = next(line for line in v.plots[0].lines() if len(line.xs) > 20)
        u, w = np.array(rings.xs) - c1, np.array(rings.ys) - c2
        f = a * u**2 + b * w**2 + h * u * w  # f minus its minimum, straight from the parameters
        levels = [seg[np.isfinite(seg)] for seg in np.split(f, np.flatnonzero(np.isnan(f)))]
        levels = [seg for seg in levels if seg.size]
        assert len(levels) == 10
        for seg in levels:
            assert np.allclose(seg, seg[0], rtol=1e-9), v.params


def test_the_steps_plot_holds_the_path_and_epsilon():
    for v in variants("steps_to_epsilon")[:300]:
        (plot,) = v.plots
        path, eps = plot.lines()
        n = int(v.answer("steps").value)
        assert len(path.xs) == n + 2 and path.ys[n] <= num(v.params["threshold"]) < path.ys[n - 1]
        assert in_frame(plot, list(zip(path.xs, path.ys)) + list(zip(eps.xs, eps.ys))), v.params

"""The float64 reference solutions agree with exact sympy derivations.

The hidden cases of each task are recomputed exactly: every float input becomes
the exact rational it stores, losses are written as sympy expressions, and
gradients come from sympy's symbolic derivatives (not from the formulas the
reference uses). Transcendental results are evaluated to 30 digits.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from backproplab.tasks.catalog import hidden_checks
from backproplab.tasks.compare import rel_error, scaled_error

SEEDS = (0, 1, 2)


def exact(a) -> sp.Matrix | sp.Rational:
    """The exact rational value of a float (array), as a sympy Matrix (2-d) or list."""
    if isinstance(a, np.ndarray):
        if a.ndim == 1:
            return [sp.Rational(float(v)) for v in a]
        return sp.Matrix([[sp.Rational(float(v)) for v in row] for row in a])
    return sp.Rational(float(a))


def num(x) -> np.ndarray:
    if isinstance(x, sp.MatrixBase):
        return np.array([[float(sp.N(v, 30)) for v in row] for row in x.tolist()])
    if isinstance(x, (list, tuple)):
        return np.array([float(sp.N(v, 30)) for v in x])
    return np.array(float(sp.N(x, 30)))


def grad(loss: sp.Expr, symbols, values: dict) -> np.ndarray:
    """d loss / d each of `symbols`, evaluated at `values`, as floats."""
    return np.array([float(sp.N(sp.diff(loss, s).subs(values), 30)) for s in symbols])


def close(got, want, tol=1e-12):
    assert rel_error(np.asarray(got, dtype=float), np.asarray(want, dtype=float)) < tol


def sigma(z):
    return 1 / (1 + sp.exp(-z))


@pytest.mark.parametrize("seed", SEEDS)
def test_losses_match_sympy(seed):
    for check in hidden_checks("losses", seed):
        if "stability" in check.name:
            continue
        first, second = check.call.args
        n = len(first)
        if check.call.fn.startswith("mse"):
            p = sp.symbols(f"p0:{n}")
            loss = sum((pi - yi) ** 2 for pi, yi in zip(p, exact(second))) / n
        elif check.call.fn.startswith("bce"):
            p = sp.symbols(f"p0:{n}")
            loss = -sum(yi * sp.log(sigma(zi)) + (1 - yi) * sp.log(1 - sigma(zi)) for zi, yi in zip(p, exact(second))) / n
        else:
            c = first.shape[1]
            p = sp.symbols(f"p0:{n * c}")
            rows = [p[i * c:(i + 1) * c] for i in range(n)]
            loss = -sum(sp.log(sp.exp(r[int(k)]) / sum(sp.exp(v) for v in r)) for r, k in zip(rows, second)) / n
        values = dict(zip(p, np.ravel(exact(first)) if first.ndim == 1 else list(exact(first))))
        if check.call.fn.endswith("loss"):
            close(check.expected, float(sp.N(loss.subs(values), 30)))
        else:
            close(check.expected.ravel(), grad(loss, p, values), 1e-11)


@pytest.mark.parametrize("seed", SEEDS)
def test_activations_match_sympy(seed):
    x = sp.Symbol("x")
    functions = {"sigmoid": sigma(x), "tanh": sp.tanh(x), "relu": sp.Piecewise((x, x > 0), (0, True))}
    for check in hidden_checks("activations", seed):
        name, direction = check.call.fn.split("_")
        f = functions[name]
        if direction == "forward":
            want = [f.subs(x, v) for v in exact(check.call.args[0])]
            close(check.expected.ravel(), num(want))
        else:
            dout, pre = check.call.args
            d = sp.diff(f, x)
            want = [sp.Rational(float(g)) * d.subs(x, sp.Rational(float(v))) for g, v in zip(dout.ravel(), pre.ravel())]
            close(check.expected.ravel(), num(want))


@pytest.mark.parametrize("seed", SEEDS)
def test_affine_backward_matches_sympy(seed):
    for check in hidden_checks("layers", seed):
        if check.call.fn != "affine_backward":
            continue
        dout, x, W = check.call.args
        n, d = x.shape
        m = W.shape[1]
        X, Wm, b = sp.Matrix(n, d, sp.symbols(f"x0:{n * d}")), sp.Matrix(d, m, sp.symbols(f"w0:{d * m}")), sp.symbols(f"b0:{m}")
        out = X * Wm + sp.Matrix([list(b)] * n)
        loss = sum((exact(dout).multiply_elementwise(out)))
        values = {**dict(zip(X, exact(x))), **dict(zip(Wm, exact(W))), **{s: 0 for s in b}}
        symbols = {0: list(X), 1: list(Wm), 2: list(b)}[check.part]
        close(check.expected.ravel(), grad(loss, symbols, values))


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)])
def test_two_layer_gradients_match_sympy(seed):
    checks = hidden_checks("network", seed)
    X, y, W1, b1, W2, b2 = checks[0].call.args
    shapes = {"W1": W1.shape, "b1": (1, b1.size), "W2": W2.shape, "b2": (1, b2.size)}
    sym = {k: sp.Matrix(*s, sp.symbols(f"{k}_0:{s[0] * s[1]}")) for k, s in shapes.items()}
    a1 = exact(X) * sym["W1"] + sp.ones(X.shape[0], 1) * sym["b1"]
    # every pre-activation is away from 0 (the case generator ensures it), so ReLU is linear or zero there
    mask = (X @ W1 + b1) > 0
    h1 = a1.multiply_elementwise(sp.Matrix(mask.astype(int)))
    scores = h1 * sym["W2"] + sp.ones(X.shape[0], 1) * sym["b2"]
    loss = -sum(scores[i, int(y[i])] - sp.log(sum(sp.exp(scores[i, j]) for j in range(scores.shape[1])))
                for i in range(X.shape[0])) / X.shape[0]
    symbols = [v for k in shapes for v in sym[k]]
    point = [mpmath.mpf(sp.Rational(float(t)).p) / sp.Rational(float(t)).q
             for v in (W1, b1, W2, b2) for t in v.ravel()]
    exprs = [loss] + [sp.diff(loss, v) for v in symbols]
    with mpmath.workdps(30):  # evaluate the symbolic derivatives in 30-digit arithmetic
        value, *flat = sp.lambdify(symbols, exprs, "mpmath", cse=True)(*point)
    derivative, start = {}, 0
    for k in shapes:
        derivative[k], start = flat[start:start + len(sym[k])], start + len(sym[k])
    for check in checks:
        if check.part == 0:
            close(check.expected, float(value))
        else:
            close(check.expected.ravel(), np.array([float(d) for d in derivative[check.part[1]]]), 1e-11)


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_descent_matches_exact_iteration(seed):
    for check in hidden_checks("descent", seed):
        if check.call.fn == "gd_step":
            w, g, lr = map(exact, check.call.args)
            close(check.expected, num([wi - lr * gi for wi, gi in zip(w, g)]))
            continue
        X, y, w0, lr, steps = check.call.args
        ws = sp.symbols(f"w0:{w0.size}")
        pred = exact(X) * sp.Matrix(ws)
        loss = sum((pred[i] - yi) ** 2 for i, yi in enumerate(exact(y))) / len(y)
        gradient = [sp.diff(loss, s) for s in ws]
        point, history, losses = exact(w0), [], []
        for _ in range(steps + 1):
            values = dict(zip(ws, point))
            history.append(point)
            losses.append(loss.subs(values))
            point = [p - exact(lr) * g.subs(values) for p, g in zip(point, gradient)]
        want = np.array([num(p) for p in history]) if check.part == 0 else num(losses)
        close(check.expected, want)


@pytest.mark.parametrize("seed", SEEDS)
def test_optimizers_and_clipping_match_exact_arithmetic(seed):
    for check in hidden_checks("optimizers", seed):
        if check.call.fn == "momentum_update":
            w, g, v, lr, beta = (exact(a) for a in check.call.args)
            v_new = [beta * vi + gi for vi, gi in zip(v, g)]
            want = [wi - lr * vi for wi, vi in zip(w, v_new)] if check.part == 0 else v_new
            close(check.expected, num(want))
        elif check.part == 0:
            w, g, m, v = (exact(a) for a in check.call.args[:4])
            t, lr = check.call.args[4] + 1, exact(check.call.args[5])
            b1, b2, eps = sp.Rational(9, 10), sp.Rational(999, 1000), sp.Rational(float(1e-8))
            m1 = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
            v1 = [b2 * vi + (1 - b2) * gi**2 for vi, gi in zip(v, g)]
            want = [wi - lr * (mi / (1 - b1**t)) / (sp.sqrt(vi / (1 - b2**t)) + eps) for wi, mi, vi in zip(w, m1, v1)]
            close(check.expected, num(want), 1e-12)
    for check in hidden_checks("clipping", seed):
        grads, max_norm = check.call.args
        entries = [sp.Rational(float(v)) for g in grads for v in g.ravel()]
        norm = sp.sqrt(sum(e**2 for e in entries))
        if check.part == 1:
            close(check.expected, num(norm))
        else:
            scale = min(1, exact(max_norm) / norm)
            close(np.concatenate([g.ravel() for g in check.expected]), num([e * scale for e in entries]))


@pytest.mark.parametrize("seed", SEEDS)
def test_numerical_gradient_approximates_the_exact_derivative(seed):
    x = sp.Symbol("x")
    for check in hidden_checks("gradcheck", seed):
        if check.call.fn != "numerical_gradient":
            continue
        spec, point, h = check.call.args
        f = spec["__function__"]
        total = sum(point.ravel())
        want = [a * b * sp.cos(b * x).subs(x, v) + 2 * f["c"] * total
                for a, b, v in zip(f["a"].ravel(), f["b"].ravel(), point.ravel())]
        # central differences are exact up to h**2 * f''' / 6 (one-sided ones only up to h * f'' / 2)
        assert scaled_error(check.expected.ravel(), num(want)) < 10 * h**2

"""Follow-through ("error carried forward") for every multi-step hand problem type, on 200+ variants
each: a plausible slip in one upstream answer, everything downstream recomputed from it by an
independent float computation from the key's params, graded as the grader grades a cell.

The slipped answer loses its points; every answer computed correctly from it earns full credit
with feedback naming the first error. (Networks and graphs: tests/test_fair_grading.py.)
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from backproplab.answers import parse_answers
from backproplab.assignment import ProblemSpec
from backproplab.grade.hand import grade_hand
from backproplab.key import KeyProblem, key_problem
from backproplab.problems import registry
from backproplab.problems.qa import make_variant
from backproplab.tolerance import close

from conftest import key_params

VARIANTS = 200
HALF = {"mean": 1.0, "half-mean": 0.5}


def num(s) -> float:
    return float(Fraction(s)) if isinstance(s, str) else float(s)


def fd(f, x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


class Student:
    """Writes answers one by one; `slip` changes the first entry written of one answer."""

    def __init__(self, slip: str) -> None:
        self.slip, self.out = slip, {}

    def write(self, name: str, value):
        if name == self.slip:
            value = _slipped(value)
        self.out[name] = value
        return value


def _slipped(value):
    """A plausible slip: the sign of the first nonzero entry flipped (or 1 added, where that is 0)."""
    if isinstance(value, list):
        out = list(value)
        for i, v in enumerate(out):
            if isinstance(v, list):
                out[i] = _slipped(v)
                return out
            if abs(v) > 1e-9:
                out[i] = -v
                return out
        out[0] = out[0] + 1
        return out
    return -value if abs(value) > 1e-9 else value + 1


def mse_gradient_step(p, st):
    x, y = np.array([num(v) for v in p["x"]]), np.array([num(v) for v in p["y"]])
    w, b, eta, half = num(p["w"]), num(p["b"]), num(p["eta"]), HALF[p["mse_convention"]]
    err = w * x + b - y
    dw = st.write("dw", float(2 * half * np.mean(err * x)))
    db = st.write("db", float(2 * half * np.mean(err)))
    st.write("w_new", w - eta * dw)
    st.write("b_new", b - eta * db)


def loss_of_linear_model(p, st):
    x, y = np.array([num(v) for v in p["x"]]), np.array([num(v) for v in p["y"]])
    pred = st.write("predictions", (num(p["w"]) * x + num(p["b"])).tolist())
    st.write("loss", HALF[p["mse_convention"]] * float(np.mean((np.array(pred) - y) ** 2)))


def gd_steps_1d(p, st):
    a, c, d, x, eta = (num(p[k]) for k in ("a", "c", "d", "x0", "eta"))
    f = lambda t: a * (t - c) ** 2 + d  # noqa: E731
    path = []
    for t in range(p["steps"]):
        x = x - eta * fd(f, x)
        if t == 0:
            x = st.write("iterates", [x])[0] if st.slip == "iterates" else x
        path.append(x)
    st.out["iterates"] = path
    st.write("f_last", f(path[-1]))


def gd_steps_2d(p, st):
    axx, ayy, axy, eta = (num(p[k]) for k in ("axx", "ayy", "axy", "eta"))
    c0, c1 = (num(v) for v in p["c"])
    f = lambda u, v: axx * (u - c0) ** 2 + ayy * (v - c1) ** 2 + axy * (u - c0) * (v - c1)  # noqa: E731
    u, v = (num(s) for s in p["x0"])
    path = []
    for t in range(p["steps"]):
        gu, gv = fd(lambda s: f(s, v), u), fd(lambda s: f(u, s), v)
        u, v = u - eta * gu, v - eta * gv
        if t == 0:
            u = -u if abs(u) > 1e-9 else u + 1
        path.append([u, v])
    st.out["iterates"] = path


def minibatch_gradient(p, st):
    x, y = np.array([num(v) for v in p["x"]]), np.array([num(v) for v in p["y"]])
    w, eta, half = num(p["w"]), num(p["eta"]), HALF[p["mse_convention"]]
    g = [fd(lambda t: half * (t * xi - yi) ** 2, w) for xi, yi in zip(x, y)]
    # the slip: the sign of one example's gradient that is in the mini-batch
    k = p["batch"][0] - 1
    g[k] = -g[k]
    st.out["per_example"] = g
    st.write("full_batch", float(np.mean(g)))
    st.write("single", g[p["single"] - 1])
    mini = st.write("minibatch", float(np.mean([g[i - 1] for i in p["batch"]])))
    st.write("w_new", w - eta * mini)


def momentum_steps(p, st):
    a, c, w, vel, eta, beta = (num(p[k]) for k in ("a", "c", "w0", "v0", "eta", "beta"))
    vs, ws = [], []
    for t in range(p["steps"]):
        g = fd(lambda s: a * (s - c) ** 2, w)
        vel = beta * vel + (g if p["momentum_convention"] == "sum" else (1 - beta) * g)
        if t == 0:
            vel = -vel if abs(vel) > 1e-9 else vel + 1
        w = w - eta * vel
        vs.append(vel)
        ws.append(w)
    st.out["v"], st.out["w"] = vs, ws


def adam_steps(p, st):
    w, eta, b1, b2, eps = (num(p[k]) for k in ("w0", "eta", "beta1", "beta2", "epsilon"))
    m = v = 0.0
    rows = {"m": [], "v": [], "m_hat": [], "v_hat": [], "w": []}
    for t, g in enumerate((num(s) for s in p["g"]), start=1):
        m = b1 * m + (1 - b1) * g
        if t == 1:
            m = -m  # the slip: m₁'s sign
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1**t), v / (1 - b2**t)
        w = w - eta * mh / (math.sqrt(vh) + eps)
        for k, val in zip(rows, (m, v, mh, vh, w)):
            rows[k].append(val)
    st.out.update(rows)
    st.out["first_step"] = rows["w"][0] - num(p["w0"])


def chain_rule_composed(p, st):
    x = sp.Symbol("x")
    h = sp.lambdify(x, sp.sympify(p["h"]))
    g = sp.lambdify(sp.Symbol("u"), sp.sympify(p["g"]))
    f = sp.lambdify(sp.Symbol("v"), sp.sympify(p["f"]))
    x0 = num(p["x"])
    u = st.write("u", float(h(x0)))
    v = st.write("v", float(g(u)))
    st.write("y", float(f(v)))
    dh = st.write("dh_dx", fd(h, x0))
    dg = st.write("dg_du", fd(g, u))
    df = st.write("df_dv", fd(f, v))
    st.write("dydx", df * dg * dh)


def chain_rule_graph(p, st):
    w, x, c = (num(p["inputs"][k]) for k in ("w", "x", p["third"]))
    sign = p["third_sign"]
    outer = {"square": lambda z: z * z, "relu": lambda z: max(z, 0.0), "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
             "tanh": math.tanh}[p["outer"]]
    z = w * x + sign * c
    st.write("values", [w * x, z, outer(z)])
    local = st.write("local", [fd(outer, z), 1.0, float(sign), x, w])
    st.write("grads", [local[0] * local[1] * local[3], local[0] * local[1] * local[4], local[0] * local[2]])


def sigmoid_chain(p, st):
    zs, ws = [num(z) for z in p["z"]], [num(w) for w in p["w"]]
    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    primes = st.write("sigma_primes", [fd(s, z) for z in zs])
    st.write("activation_factor", math.prod(primes))
    st.write("gradient", math.prod(w * q for w, q in zip(ws, primes)))
    st.write("bound", 0.25 ** len(zs))


def init_scale(p, st):
    std = st.write("std", 2 * math.sqrt(num(p["variance_factor"]) / p["n"]))  # the slip: twice the right std
    st.write("variance", std**2)
    gain = st.write("gain", num(p["sigma0"]) / std)
    st.write("total_gain", gain ** p["layers"])


def clip_global_norm(p, st):
    gw, gb = np.array([num(v) for v in p["g_W"]]), np.array([num(v) for v in p["g_b"]])
    norm = st.write("global_norm", float(np.linalg.norm(np.concatenate([gw, gb]))) + 1)  # the slip: one too many
    factor = st.write("factor", num(p["threshold"]) / norm)
    st.write("clipped_W", (gw * factor).tolist())
    st.write("clipped_b", (gb * factor).tolist())


def overshooting(p, st):
    a, c, x, eta = (num(p[k]) for k in ("a", "c", "x0", "eta"))
    path = []
    for t in range(p["steps"]):
        x = x - eta * fd(lambda s: a * (s - c) ** 2, x)
        if t == 0:
            x = x + 1  # the slip: one step off by one
        path.append(x)
    st.out["iterates"] = path
    st.out["factor"] = 1 - 2 * a * eta


def updates_per_epoch(p, st):
    n, b, e = p["N"], p["B"], p["E"]
    per = st.write("per_epoch", (n // b if p["drop_last"] else -(-n // b)) + 1)  # the slip: one too many
    st.write("total", e * per)


# pid -> (the student, the answer the slip is in)
TYPES = {
    "mse_gradient_step": (mse_gradient_step, "dw"), "loss_of_linear_model": (loss_of_linear_model, "predictions"),
    "gd_steps_1d": (gd_steps_1d, "iterates"), "gd_steps_2d": (gd_steps_2d, "iterates"),
    "minibatch_gradient": (minibatch_gradient, "per_example"), "momentum_steps": (momentum_steps, "v"),
    "adam_steps": (adam_steps, "m"), "chain_rule_composed": (chain_rule_composed, "u"),
    "sigmoid_chain": (sigmoid_chain, "sigma_primes"), "init_scale": (init_scale, "std"),
    "clip_global_norm": (clip_global_norm, "global_norm"), "overshooting": (overshooting, "iterates"),
    "updates_per_epoch": (updates_per_epoch, "per_epoch"), "chain_rule_graph": (chain_rule_graph, "local"),
}


def entry(pid: str, seed: int) -> KeyProblem:
    ptype = registry()[pid]
    v = key_params(make_variant(ptype, seed))
    data = key_problem(ProblemSpec("p1", ptype, 10.0, {}, {}), seed, v).to_json()
    return KeyProblem.from_json(json.loads(json.dumps(data)))


def test_every_multi_step_type_is_covered():
    multi = {pid for pid, t in registry().items() if t.kind == "hand"
             and any(a.follows is not None for a in make_variant(t, 0).answers)}
    covered = set(TYPES) | {"network_forward", "network_backward", "graph_gradients"}
    assert multi <= covered, multi - covered


@pytest.mark.parametrize("pid", sorted(TYPES))
def test_a_slip_upstream_costs_only_that_answer(pid):
    student, slipped = TYPES[pid]
    credited = 0
    for seed in range(VARIANTS):
        p = entry(pid, seed)
        st = Student(slipped)
        student(p.params, st)
        values = {a.name: st.out[a.name] for a in p.answers if a.name in st.out}
        if not all(math.isfinite(v) for value in values.values() for v in np.ravel(value)):
            continue  # the slip leaves the function's domain (a log of a negative number)
        cell = "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
        checks = {c.name: c for c in grade_hand(p, parse_answers(cell)).checks}
        first = checks[slipped]
        assert first.score < 1 and not (first.follow_through and first.score == 1), (seed, first.message)
        if np.size(values[slipped]) > 1 and first.follow_through:
            # the entries after the slip follow from it (iterates, velocities): their share, and
            # the message says so
            assert "from your other answers" in first.message and first.score > 0, first.message
            credited += 1
        for name, value in values.items():
            if name == slipped:
                continue
            a, c = p.answer(name), checks[name]
            if close(value, a.value, a.tolerance):
                assert c.score == 1.0, (seed, name, c.message)  # untouched by the slip
                continue
            if all(v == 0 for v in np.ravel(value)):
                continue
            assert c.score == 1.0 and c.follow_through, (seed, name, c.message)
            assert f"the first error is `{slipped}" in c.message, c.message
            credited += 1
    assert credited >= VARIANTS // 2, credited


# --- rounding every intermediate as the statement allows -------------------------------------------

def sig(x: float, figures: int = 4) -> float:
    return float(f"{x:.{figures}g}")


def momentum_rounded(p) -> dict:
    """Every g, v and w rounded to 4 decimals as it is written, each step from the rounded ones."""
    a, c, w, vel, eta, beta = (num(p[k]) for k in ("a", "c", "w0", "v0", "eta", "beta"))
    vs, ws = [], []
    for _ in range(p["steps"]):
        g = round(2 * a * (w - c), 4)
        vel = round(beta * vel + (g if p["momentum_convention"] == "sum" else (1 - beta) * g), 4)
        w = round(w - eta * vel, 4)
        vs.append(vel)
        ws.append(w)
    return {"v": vs, "w": ws}


def adam_rounded(p) -> dict:
    """m, v, m̂, v̂ to 4 significant figures and w to 4 decimals, each from the rounded ones."""
    w, eta, b1, b2, eps = (num(p[k]) for k in ("w0", "eta", "beta1", "beta2", "epsilon"))
    m = v = 0.0
    rows = {"m": [], "v": [], "m_hat": [], "v_hat": [], "w": []}
    for t, g in enumerate((num(s) for s in p["g"]), start=1):
        m, v = sig(b1 * m + (1 - b1) * g), sig(b2 * v + (1 - b2) * g * g)
        mh, vh = sig(m / (1 - b1**t)), sig(v / (1 - b2**t))
        w = round(w - eta * mh / (math.sqrt(vh) + eps), 4)
        for k, val in zip(rows, (m, v, mh, vh, w)):
            rows[k].append(val)
    rows["first_step"] = round(rows["w"][0] - num(p["w0"]), 4)
    return rows


def sigmoid_chain_rounded(p) -> dict:
    zs, ws = [num(z) for z in p["z"]], [num(w) for w in p["w"]]
    primes = [round((1 / (1 + math.exp(-z))) * (1 - 1 / (1 + math.exp(-z))), 4) for z in zs]
    return {"sigma_primes": primes, "activation_factor": sig(math.prod(primes), 3),
            "gradient": sig(math.prod(w * q for w, q in zip(ws, primes)), 3), "bound": 0.25 ** len(zs)}


def chain_rule_rounded(p) -> dict:
    """Values that are not exact rounded to 3 decimals as written (the exact ones kept exact, as asked)."""
    h = sp.lambdify(sp.Symbol("x"), sp.sympify(p["h"]))
    g = sp.lambdify(sp.Symbol("u"), sp.sympify(p["g"]))
    f = sp.lambdify(sp.Symbol("v"), sp.sympify(p["f"]))

    def r(x: float) -> float:
        exact = Fraction(x).limit_denominator(10_000)
        return float(exact) if abs(float(exact) - x) < 1e-8 else round(float(x), 3)  # 1e-8: finite-difference noise
    u = r(h(num(p["x"])))
    v = r(g(u))
    dh, dg, df = r(fd(h, num(p["x"]))), r(fd(g, u)), r(fd(f, v))
    return {"u": u, "v": v, "y": r(f(v)), "dh_dx": dh, "dg_du": dg, "df_dv": df, "dydx": r(df * dg * dh)}


ROUNDED = {"momentum_steps": momentum_rounded, "adam_steps": adam_rounded,
           "sigmoid_chain": sigmoid_chain_rounded, "chain_rule_composed": chain_rule_rounded}


@pytest.mark.parametrize("pid", sorted(ROUNDED))
def test_rounding_every_intermediate_as_allowed_gets_full_marks(pid):
    graded = 0
    for seed in range(1000):
        p = entry(pid, seed)
        if p.style != "decimals":
            continue  # exact variants: nothing to round
        values = ROUNDED[pid](p.params) | {a.name: a.value for a in p.answers if a.kind == "choice"}
        cell = "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items() if k in {a.name for a in p.answers})
        result = grade_hand(p, parse_answers(cell))
        assert result.score == p.points, (seed, [c.message for c in result.checks if c.score < 1])
        graded += 1
    assert graded >= 100

"""Fair grading of hand work: a slip early costs that step, not the rest; rounding as the statement
allows is accepted; zeros everywhere earn nothing.

Every test computes what a student would write with an independent float computation from the
key's `params` (not the grader's derivation trees), corrupts one upstream answer by a plausible
slip, recomputes everything downstream from it, and grades the cell as the grader does.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from backproplab.answers import parse_answers
from backproplab.assignment import ProblemSpec
from backproplab.grade.hand import grade_hand
from backproplab.key import KeyProblem, key_problem
from backproplab.problems import registry
from backproplab.problems.qa import make_variant
from backproplab.tolerance import close

from conftest import key_params


def entry(pid: str, seed: int, options: dict | None = None) -> KeyProblem:
    ptype = registry()[pid]
    v = key_params(make_variant(ptype, seed, options))
    spec = ProblemSpec("p1", ptype, 10.0, options or {}, {})
    return KeyProblem.from_json(json.loads(json.dumps(key_problem(spec, seed, v).to_json())))


def grade(p: KeyProblem, values: dict) -> dict:
    result = grade_hand(p, parse_answers("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())))
    return {c.name: c for c in result.checks}


def num(s) -> float:
    from fractions import Fraction

    return float(Fraction(s)) if isinstance(s, str) and "." not in s and "e" not in s else float(s)


# --- an independent network, forward and backward, from the key's params ----------------------

ACT = {"identity": lambda z: z, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
       "tanh": np.tanh}


def prime_from(kind: str, z, a):
    """f′ as a student writes it, from the values they have: a(1 − a), 1 − a², 1[z > 0], 1."""
    return {"identity": np.ones_like(a), "relu": (z > 0).astype(float), "sigmoid": a * (1 - a), "tanh": 1 - a**2}[kind]


class Net:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.W = [np.array([[num(x) for x in r] for r in m]) for m in spec["W"]]
        self.b = [np.array([num(x) for x in v]) for v in spec["b"]]
        self.X = np.array([[num(x) for x in r] for r in spec["X"]])
        self.Y = np.array([[num(x) for x in r] for r in spec["Y"]])
        self.L = len(self.W)
        self.N = len(self.X)

    def act(self, l: int) -> str:
        return self.spec["hidden_activation"] if l < self.L else self.spec["output_activation"]

    def activate(self, l: int, z: np.ndarray) -> np.ndarray:
        if self.act(l) == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return ACT[self.act(l)](z)

    def loss(self, yhat: np.ndarray) -> float:
        kind, Y = self.spec["loss"], self.Y
        if kind == "mse":
            return float(np.sum((yhat - Y) ** 2) / 2 / self.N)
        if kind == "bce":
            return float(-np.sum(Y * np.log(yhat) + (1 - Y) * np.log(1 - yhat)) / self.N)
        return float(-np.sum(Y * np.log(yhat)) / self.N)

    def shaped(self, rows: np.ndarray):
        """A per-sample quantity as the answer holds it: rows per sample, or the one row."""
        return rows.tolist() if self.N > 1 else rows[0].tolist()

    def forward(self, slip=None, places=None):
        """z, a of every layer and the loss as a student writes them, each from the ones before;
        `slip(name, value)` may change a value as it is written; `places` rounds every value written."""
        out, a = {}, self.X
        for l in range(1, self.L + 1):
            z = a @ self.W[l - 1].T + self.b[l - 1]
            z = self._write(out, f"z{l}", z, slip, places)
            a = self._write(out, "yhat" if l == self.L else f"a{l}", self.activate(l, z), slip, places)
        loss = self.loss(a)
        out["loss"] = round(loss, places) if places else loss
        return out

    def _write(self, out, name, rows, slip, places):
        if slip:
            rows = slip(name, rows)
        if places:
            rows = np.round(rows, places)
        out[name] = self.shaped(rows)
        return rows

    def backward(self, shown: int = 4, slip=None, places=None):
        """δ, ∂L/∂W, ∂L/∂b of every layer and the updated parameters, each from the student's own
        earlier answers; the forward values are those the statement shows (`shown` decimals)."""
        fwd, a = [np.round(self.X, 12)], self.X
        zs = []
        for l in range(1, self.L + 1):
            z = a @ self.W[l - 1].T + self.b[l - 1]
            a = self.activate(l, z)
            zs.append(np.round(z, shown))
            fwd.append(np.round(a, shown))
        out = {}
        delta = (fwd[-1] - self.Y) / self.N  # for each loss, with its own output activation
        grads = {}
        for l in range(self.L, 0, -1):
            delta = self._write(out, f"delta{l}", delta, slip, places)
            dW = delta.T @ fwd[l - 1]
            dW = self._write_matrix(out, f"dW{l}", dW, slip, places)
            db = delta.sum(axis=0)
            db = self._write_matrix(out, f"db{l}", db, slip, places)
            grads[l] = (dW, db)
            if l > 1:
                delta = (delta @ self.W[l - 1]) * prime_from(self.act(l - 1), zs[l - 2], fwd[l - 1])
        eta = num(self.spec["eta"])
        for l in range(1, self.L + 1):
            dW, db = grads[l]
            self._write_matrix(out, f"W{l}_new", self.W[l - 1] - eta * dW, slip, places)
            self._write_matrix(out, f"b{l}_new", self.b[l - 1] - eta * db, slip, places)
        return out

    def _write_matrix(self, out, name, m, slip, places):
        if slip:
            m = slip(name, m)
        if places:
            m = np.round(m, places)
        out[name] = m.tolist()
        return m


def flip_one(target: str, rng: np.random.Generator):
    """A slip: the sign of one entry of `target` (the entry chosen at random), nothing else."""
    def slip(name, value):
        if name != target:
            return value
        value = np.array(value, dtype=float).copy()
        flat = value.reshape(-1)
        nonzero = np.flatnonzero(np.abs(flat) > 1e-6)
        flat[rng.choice(nonzero)] *= -1
        return value
    return slip


NETWORKS = [("network_forward", {"sizes": [2, 2, 1], "hidden": "relu", "loss": "mse"}),
            ("network_forward", {"sizes": [2, 3, 2], "hidden": "sigmoid", "loss": "ce"}),
            ("network_backward", {"sizes": [2, 2, 1], "hidden": "relu", "loss": "mse", "batch": 2}),
            ("network_backward", {"sizes": [2, 2, 1], "hidden": "sigmoid", "loss": "bce", "batch": 1}),
            ("network_backward", {})]


def student(p: KeyProblem, **kw) -> dict:
    net = Net(p.params["network"])
    return net.forward(**kw) if p.type == "network_forward" else net.backward(**kw)


@pytest.mark.parametrize("pid,options", NETWORKS)
def test_a_slip_in_the_first_answer_costs_that_answer_only(pid, options):
    rng = np.random.default_rng(1)
    first = {"network_forward": "z1", "network_backward": None}[pid]
    credited = 0
    for seed in range(200):
        p = entry(pid, seed, options)
        slipped = first or p.answers[0].name  # delta<L>, the first answer of the backward pass
        values = student(p, slip=flip_one(slipped, rng))
        right = student(p)
        if values[slipped] == right[slipped]:
            continue
        checks = grade(p, values)
        assert checks[slipped].score < 1 and not checks[slipped].follow_through, (seed, checks[slipped].message)
        later = [a.name for a in p.answers][[a.name for a in p.answers].index(slipped) + 1:]
        for name in later:
            c = checks[name]
            if close(values[name], p.answer(name).value, p.answer(name).tolerance):
                continue  # the slip does not reach this answer (beyond the tolerance)
            if np.allclose(values[name], 0):
                continue  # a slip that zeroes something gets no follow-through (nothing to check)
            assert c.score == 1.0 and c.follow_through, (seed, name, c.message)
            assert f"the first error is `{slipped}" in c.message, c.message
            credited += 1
    assert credited > 200


@pytest.mark.parametrize("pid,options", [n for n in NETWORKS if n[1].get("hidden") != "relu"])
def test_rounding_every_intermediate_to_the_stated_places_gets_full_marks(pid, options):
    for seed in range(1000):
        p = entry(pid, seed, options)
        if p.style != "decimals":
            continue
        checks = grade(p, student(p, places=3))
        assert all(c.score == 1.0 for c in checks.values()), (seed, [(c.name, c.message) for c in checks.values()
                                                                      if c.score < 1])


@pytest.mark.parametrize("pid,options", NETWORKS)
def test_every_misconception_still_fails_under_the_widened_tolerance(pid, options):
    for seed in range(200):
        p = entry(pid, seed, options)
        right = {a.name: a.value for a in p.answers}
        for m in p.misconceptions:
            checks = grade(p, right | {m.answer: m.value})
            assert checks[m.answer].misconception == m.name, (seed, m.name, checks[m.answer].message)


# --- the computational graph ------------------------------------------------------------------

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "sigmoid": lambda a: 1 / (1 + math.exp(-a)), "relu": lambda a: max(a, 0.0)}


def graph_student(p: KeyProblem, slip_node: str | None = None, places: int | None = None) -> dict:
    """Forward values then ∂f/∂ everything, as a student computes them from what they wrote."""
    val = {k: num(v) for k, v in p.params["inputs"].items()}
    nodes = p.params["nodes"]
    out = {}
    for n in nodes:
        x = OPS[n["op"]](*(val[q] for q in n["parents"]))
        if n["name"] == slip_node:
            x = -x if abs(x) > 1e-6 else x + 1
        val[n["name"]] = round(x, places) if places else x
        out[n["name"]] = val[n["name"]]
    grad = {nodes[-1]["name"]: 1.0}
    for n in reversed(nodes):
        g = grad.get(n["name"], 0.0)
        if n["name"] != nodes[-1]["name"]:
            g = round(g, places) if places else g
            out["d" + n["name"]] = g
        ps = n["parents"]
        if n["op"] == "+":
            locs = [1.0, 1.0]
        elif n["op"] == "-":
            locs = [1.0, -1.0]
        elif n["op"] == "*":
            locs = [val[ps[1]], val[ps[0]]]
        elif n["op"] == "sigmoid":
            locs = [val[n["name"]] * (1 - val[n["name"]])]
        else:
            locs = [1.0 if val[ps[0]] > 0 else 0.0]
        for q, loc in zip(ps, locs):
            grad[q] = grad.get(q, 0.0) + g * loc
    for k in p.params["inputs"]:
        g = grad.get(k, 0.0)
        out["d" + k] = round(g, places) if places else g
    return out


def test_graph_slip_in_a_node_value_follows_through():
    credited = 0
    for seed in range(300):
        p = entry("graph_gradients", seed)
        first = p.params["nodes"][0]["name"]
        values = graph_student(p, slip_node=first)
        right = graph_student(p)
        checks = grade(p, values)
        assert checks[first].score == 0
        for name, c in checks.items():
            if name == first or math.isclose(values[name], right[name], abs_tol=1e-9) or values[name] == 0:
                continue
            assert c.score == 1.0 and c.follow_through, (seed, name, c.message)
            assert f"the first error is `{first}`" in c.message
            credited += 1
    assert credited > 100


def test_graph_rounding_to_the_stated_places_gets_full_marks():
    for seed in range(1000):
        p = entry("graph_gradients", seed)
        if p.style != "decimals":
            continue
        checks = grade(p, graph_student(p, places=3))
        assert all(c.score == 1.0 for c in checks.values()), (seed, [c.message for c in checks.values() if c.score < 1])


# --- everyone -------------------------------------------------------------------------------------

HAND = [pid for pid, t in registry().items() if t.kind == "hand"]


@pytest.mark.parametrize("pid", HAND)
def test_zeros_everywhere_scores_no_more_than_blank(pid):
    def zeros(value):
        return [zeros(v) for v in value] if isinstance(value, list) else 0

    for seed in range(100):
        p = entry(pid, seed)
        blank = grade_hand(p, parse_answers("".join(f"{a.name} = ...\n" for a in p.answers))).score
        cell = "".join(f"{a.name} = {json.dumps(zeros(a.value))}\n" for a in p.answers if a.kind != "choice")
        assert grade_hand(p, parse_answers(cell)).score <= blank == 0, seed

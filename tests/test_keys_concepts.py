"""Keys of the conceptual problem types, re-derived from the params as the key stores them, with this file's
own rules; and their distractors, over 1,000 variants of each type.

Each key answer is recomputed independently: a parameter count from the layer sizes, each quantity's kind
from what its text names, MSE rankings and the best single change by brute force, the forward values and
local derivatives of a chain by finite differences, what a backward edge needs and where the graph forks from
its list of nodes, the memory arithmetic and the method from the setting's constraints, (1/2)^d.

Every wrong option of every choice answer is a named misconception of that answer with its own feedback (so
the report counts it), and none is right under another reading: the rules above say each is wrong.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import cache

import numpy as np
import pytest

from conftest import key_params
from structures import structure
from backproplab.problems import get, registry
from backproplab.problems.qa import make_variant
from backproplab.problems.variant import Variant
from backproplab.tolerance import close

N_VARIANTS = 1000
NEW = ["learning_quantities", "training_updates", "loss_meaning", "learning_rate_curves", "chain_rule_graph",
       "backward_needs", "match_batch_curves", "choose_batch_method", "diagnose_training_run", "why_it_scales"]


@cache
def variants(pid: str, n: int = N_VARIANTS) -> list[Variant]:
    return [key_params(make_variant(get(pid), seed, structure(pid, seed))) for seed in range(n)]


# --- distractors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pid", NEW)
def test_every_wrong_option_is_a_named_misconception(pid):
    n = 300 if pid == "diagnose_training_run" else N_VARIANTS  # its 1,000 are re-run in test_runs_show_their_defect
    shown_options = 0
    for v in variants(pid, n):
        for a in v.answers:
            if a.kind != "choice":
                continue
            named = [m for m in v.misconceptions if m.answer == a.name]
            assert all(m.name and m.feedback for m in named)
            assert all(m.value != a.value for m in named), (pid, a.name)
            if isinstance(a.value, list):
                if a.name == "ranking":  # the wrong rankings are whole orders (by mean error, ...), not entries
                    continue
                # every entry has a named wrong value: a misconception that changes it alone
                changed = {i for m in named for i, (x, y) in enumerate(zip(m.value, a.value)) if x != y}
                assert changed == set(range(len(a.value))), (pid, a.name)
                continue
            for option in a.choices:
                if option == a.value:
                    continue
                shown_options += 1
                names = [m.name for m in named if m.value == option]
                assert len(names) == 1, (pid, a.name, option, names)
            # the right option's text is not in any misconception's feedback (feedback never gives the answer away)
            assert not any(a.value in m.feedback for m in named if len(a.value) > 12)
    single = any(a.kind == "choice" and not isinstance(a.value, list) for a in variants(pid, 1)[0].answers)
    assert (shown_options > 0) == single


# --- chapter 1 --------------------------------------------------------------------------------------------

def kind_by_name(text: str) -> str:
    """What a quantity of the set-up is, from the words naming it (this file's own rules)."""
    if "gradient" in text or "predictions" in text or "value of the loss" in text:
        return "output"
    if "weights" in text or "bias" in text:
        return "parameter"
    if "inputs" in text or "targets" in text:
        return "data"
    assert re.search(r"learning rate|batch size|epochs|hidden units", text), text
    return "hyperparameter"


def role_by_name(text: str) -> str:
    """What a step does to a quantity, from the words naming it."""
    if re.search(r"^the (weights|biases)", text):
        return "updated"
    if re.search(r"predictions|training loss|gradient|activations", text):
        return "recomputed"
    assert re.search(r"learning rate|inputs|targets|hidden units|loss function", text), text
    return "fixed"


def test_learning_quantities_by_name_and_count():
    for v in variants("learning_quantities"):
        p = v.params
        kinds = [kind_by_name(t) for t in p["quantities"]]
        assert v.answer("kinds").value == kinds
        assert set(kinds) == {"parameter", "hyperparameter", "data", "output"}
        # W1 (h × d) and b1 (h), W2 (k × h) and b2 (k), counted one by one
        count = sum(1 for _ in range(p["hidden"]) for _ in range(p["inputs"])) + p["hidden"]
        count += sum(1 for _ in range(p["outputs"]) for _ in range(p["hidden"])) + p["outputs"]
        assert int(v.answer("n_parameters").value) == count
        for m in v.misconceptions:
            if m.answer == "kinds":
                assert sum(x != y for x, y in zip(m.value, kinds)) == 1  # one quantity wrongly named, really wrong


def test_training_updates_by_name():
    for v in variants("training_updates"):
        roles = [role_by_name(t) for t in v.params["quantities"]]
        assert v.answer("roles").value == roles
        assert set(roles) == {"updated", "recomputed", "fixed"}
        for m in v.misconceptions:
            if m.answer == "roles":
                assert sum(x != y for x, y in zip(m.value, roles)) == 1


def test_loss_meaning_by_brute_force():
    for v in variants("loss_meaning"):
        p = v.params
        y = np.array(p["y"], dtype=float)
        pred = {m: np.array(p["predictions"][m], dtype=float) for m in "ABC"}
        mse = {m: float(np.mean((pred[m] - y) ** 2)) for m in "ABC"}
        assert np.allclose([float(x) for x in v.answer("losses").value], [mse[m] for m in "ABC"])
        assert v.answer("ranking").value == sorted("ABC", key=mse.get)
        assert len(set(mse.values())) == 3
        # move each prediction of the changed model 1 towards its target: the key's choice saves the most
        m = p["changed"]
        saving = []
        for i in range(len(y)):
            moved = pred[m].copy()
            moved[i] -= np.sign(moved[i] - y[i])
            saving.append(mse[m] - float(np.mean((moved - y) ** 2)))
        best = int(np.argmax(saving))
        assert v.answer("best_change").value == str(best + 1)
        assert sorted(saving)[-1] > sorted(saving)[-2]  # unique: no other example is right under another reading
        # the model whose errors cancel really has mean error 0 and is not a perfect fit; it is not the best
        c = p["cancelling"]
        assert np.sum(pred[c] - y) == 0 and mse[c] > 0 and v.answer("ranking").value[0] != c
        for mis in v.misconceptions:
            if mis.answer == "ranking":
                assert mis.value != v.answer("ranking").value


# --- chapter 3 --------------------------------------------------------------------------------------------

OUTER = {"square": lambda z: z * z, "relu": lambda z: max(z, 0.0), "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
         "tanh": math.tanh}


def fd(f, x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


def test_chain_rule_graph_by_finite_differences():
    for v in variants("chain_rule_graph"):
        p = v.params
        w, x, c = (float(Fraction(p["inputs"][k])) for k in ("w", "x", p["third"]))
        s, g = p["third_sign"], OUTER[p["outer"]]
        pp = w * x
        z = pp + s * c
        values = [float(a) for a in v.answer("values").value]
        assert np.allclose(values, [pp, z, g(z)], atol=1e-12)
        local = [fd(g, z), fd(lambda q: q + s * c, pp), fd(lambda t: pp + s * t, c), fd(lambda t: t * x, w),
                 fd(lambda t: w * t, x)]
        assert np.allclose([float(a) for a in v.answer("local").value], local, atol=1e-6)

        def f(w_, x_, c_):
            return g(w_ * x_ + s * c_)

        grads = [fd(lambda t: f(t, x, c), w), fd(lambda t: f(w, t, c), x), fd(lambda t: f(w, x, t), c)]
        assert np.allclose([float(a) for a in v.answer("grads").value], grads, atol=1e-6)


# --- chapter 4 --------------------------------------------------------------------------------------------

def test_backward_needs_from_the_nodes():
    for v in variants("backward_needs"):
        nodes = {n["name"]: n for n in v.params["nodes"]}
        needs = []
        for child, parent in v.params["edges"]:
            n = nodes[child]
            if n["op"] == "*":
                i = n["parents"].index(parent)
                needs.append(n["parents"][1 - i])  # ∂(a·b)/∂a = b
            else:
                needs.append("none")  # ∂(a ± b) = ±1
        assert v.answer("needs").value == needs
        uses: dict[str, int] = {}
        for n in nodes.values():
            for q in n["parents"]:
                uses[q] = uses.get(q, 0) + 1
        forks = [q for q, k in uses.items() if k > 1]
        assert v.answer("fork").value == (forks[0] if forks else "none") and len(forks) <= 1
        for m in v.misconceptions:
            if m.answer == "fork":
                assert m.value not in forks or not forks


# --- chapter 5 --------------------------------------------------------------------------------------------

def test_choose_batch_method_from_the_constraints():
    for v in variants("choose_batch_method"):
        p = v.params
        fits = (p["memory_gb"] * p["mb_per_gb"]) // p["per_example_mb"]
        assert int(v.answer("fits").value) == fits
        setting = p["setting"]
        # the method from the statement's constraints: a stream can only be learned from one example at a time;
        # the exact gradient needs every example in each update, which needs them all in memory; a data set
        # larger than the memory, on a device that computes a batch in parallel, calls for the largest batch
        possible = []
        if p["stream"]:
            possible.append("single-example")
        elif p["exact_gradient"] and 0 < p["N"] <= fits:
            possible.append("full-batch")
        elif p["parallel_device"] and p["N"] > fits:
            possible.append("mini-batch")
        assert possible == [v.answer("method").value] == [setting]
        size = {"full-batch": p["N"], "single-example": 1, "mini-batch": 1 << (fits.bit_length() - 1)}[setting]
        assert int(v.answer("batch_size").value) == size and size <= max(fits, 1)
        if setting == "mini-batch":
            assert p["N"] > fits and size & (size - 1) == 0 and 2 * size > fits


def test_match_batch_curves_methods_are_the_batch_sizes_shown():
    for v in variants("match_batch_curves", 300):
        sizes = v.params["batch_sizes"]
        n = sizes["full-batch"]
        assert sizes["single-example"] == 1 and 1 < sizes["mini-batch"] < n and n % sizes["mini-batch"] == 0
        for plot, method in zip(v.plots, v.answer("methods").value):
            per_epoch = len(plot.lines()[0].xs) / v.params["epochs"]
            assert per_epoch == n // sizes[method]
        assert v.answer("work").value == "equal"  # every method computes N per-example gradients per epoch


# --- chapter 6 --------------------------------------------------------------------------------------------

def test_why_it_scales_probability_of_a_minimum():
    for v in variants("why_it_scales"):
        d = v.params["d"]
        a = v.answer("p_minimum")
        assert close(float(a.value), 0.5 ** d, a.tolerance)
        assert v.answer("critical").value == "saddle" and v.params["P"] >= 10 * v.params["N"]


def test_new_types_are_registered_with_their_outcome():
    reg = registry()
    want = {"learning_quantities": "learning", "training_updates": "learning", "loss_meaning": "learning",
            "learning_rate_curves": "gradient-step", "chain_rule_graph": "chain-rule", "backward_needs": "chain-rule",
            "match_batch_curves": "batching", "choose_batch_method": "batching", "diagnose_training_run": "failures",
            "why_it_scales": "failures"}
    assert {pid: reg[pid].outcome for pid in NEW} == want
    assert all(reg[pid].kind == "hand" for pid in NEW)
    assert [pid for pid in NEW if not reg[pid].concept] == ["chain_rule_graph"]

"""Chapters 3–4 hand problems: every key checked against an independent computation.

The reference here reads only what a key records (the documented `params`
schema, docs/key-schema.md) and recomputes everything with mpmath at 40
digits: forward values directly, every gradient by central finite differences
with h = 1e-12. The truncation error of a central difference is O(h²) ≈ 1e-24
times the third derivative (bounded by a few hundred for these small nets and
functions) and the rounding error ≈ 1e-40 / 1e-12 = 1e-28, so the reference is
good to ~1e-20; keys of irrational networks are computed in float64, whose
accumulated relative error over a few dozen operations stays below 1e-13. The
tolerance 1e-9 · max(1, |value|) is far above both and far below the 6e-4
students are graded to, so a wrong derivation cannot pass.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import mpmath as mp
import nbformat
import numpy as np
import pytest
from conftest import run_cli, solved_course

from conftest import key_params
from structures import structure
from backproplab.problems import get
from backproplab.problems.qa import make_variant, problems_with, same_within

VARIANTS = 1000
mp.mp.dps = 40
H = mp.mpf("1e-12")
TOL = 1e-9


def num(x) -> mp.mpf:
    """A key's number ('3/4', '-2', '0.7891...') as an mpf."""
    p, _, q = str(x).partition("/")
    return mp.mpf(p) / (mp.mpf(q) if q else 1)


def close(got, want) -> bool:
    return abs(float(got) - float(want)) <= TOL * max(1.0, abs(float(want)))


def assert_close_nested(got, want, what: str) -> None:
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f"{what}: shape {got!r} vs {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close_nested(g, w, f"{what}[{i}]")
    else:
        assert close(got, want), f"{what}: key {float(got)!r}, reference {float(want)!r}"


def central(f, x):
    """Central difference of f at x."""
    return (f(x + H) - f(x - H)) / (2 * H)


def variants(problem: str, n: int = VARIANTS, options: dict | None = None):
    """n variants with params as the key stores them: in `options`, or seed k in the problem's
    structure k mod (their number) (tests/structures.py)."""
    ptype = get(problem)
    for seed in range(n):
        yield key_params(make_variant(ptype, seed, structure(problem, seed) if options is None else options))


def assert_misconceptions_distinct(v) -> None:
    """Every named wrong answer is farther from the right one than the grading tolerance."""
    assert problems_with(v) == []
    for m in v.misconceptions:
        a = v.answer(m.answer)
        assert not same_within(m.value, a.value, a.tolerance), (v.problem, m.name, m.answer)


# --- an independent network: reads only params["network"] ------------------------------------

ACT = {
    "identity": lambda z: z,
    "relu": lambda z: z if z > 0 else mp.mpf(0),
    "sigmoid": lambda z: 1 / (1 + mp.exp(-z)),
    "tanh": mp.tanh,
}


class RefNet:
    """The network of a key, recomputed with mpmath; `dz` perturbs one pre-activation."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.W = [[[num(w) for w in row] for row in layer] for layer in spec["W"]]
        self.b = [[num(x) for x in layer] for layer in spec["b"]]
        self.X = [[num(x) for x in row] for row in spec["X"]]
        self.Y = [[num(y) for y in row] for row in spec["Y"]]

    def forward(self, W=None, b=None, dz=None):
        W, b = W or self.W, b or self.b
        L, N = len(W), len(self.X)
        zs, acts, a = [], [], self.X
        for l in range(L):
            z = [[sum(W[l][j][k] * a[n][k] for k in range(len(a[n]))) + b[l][j]
                  + (dz[1] if dz and dz[0] == (l, n, j) else 0) for j in range(len(W[l]))] for n in range(N)]
            kind = self.spec["hidden_activation"] if l < L - 1 else self.spec["output_activation"]
            if kind == "softmax":
                a = [[mp.exp(v) / sum(mp.exp(u) for u in row) for v in row] for row in z]
            else:
                a = [[ACT[kind](v) for v in row] for row in z]
            zs.append(z)
            acts.append(a)
        loss = 0
        for p_row, y_row in zip(a, self.Y):
            for p, y in zip(p_row, y_row):
                if self.spec["loss"] == "mse":
                    loss += (p - y) ** 2 / 2
                elif self.spec["loss"] == "bce":
                    loss -= y * mp.log(p) + (1 - y) * mp.log(1 - p)
                elif y == 1:
                    loss -= mp.log(p)
        return zs, acts, loss / N

    def loss_of_param(self, which: str, l: int, j: int, k: int | None):
        """L as a function of one weight (k given) or bias."""
        def f(x):
            W = [[row[:] for row in layer] for layer in self.W]
            b = [layer[:] for layer in self.b]
            if which == "W":
                W[l][j][k] = x
            else:
                b[l][j] = x
            return self.forward(W, b)[2]
        return f

    def gradients(self) -> dict[str, list]:
        """δ, dW, db of every layer by central differences, named as the answers are."""
        zs, _, _ = self.forward()
        L, N = len(self.W), len(self.X)
        out = {}
        for l in range(L):
            delta = [[central(lambda e, n=n, j=j: self.forward(dz=((l, n, j), e))[2], mp.mpf(0))
                      for j in range(len(zs[l][n]))] for n in range(N)]
            out[f"delta{l + 1}"] = delta if N > 1 else delta[0]
            out[f"dW{l + 1}"] = [[central(self.loss_of_param("W", l, j, k), self.W[l][j][k])
                                  for k in range(len(self.W[l][j]))] for j in range(len(self.W[l]))]
            out[f"db{l + 1}"] = [central(self.loss_of_param("b", l, j, None), self.b[l][j]) for j in range(len(self.b[l]))]
        return out


def check_network_forward(v) -> RefNet:
    ref = RefNet(v.params["network"])
    zs, acts, loss = ref.forward()
    L, N = len(zs), len(zs[0])
    rows = (lambda m: m) if N > 1 else (lambda m: m[0])
    for l in range(L):
        assert_close_nested(v.answer(f"z{l + 1}").value, rows(zs[l]), f"z{l + 1}")
        name = "yhat" if l == L - 1 else f"a{l + 1}"
        assert_close_nested(v.answer(name).value, rows(acts[l]), name)
        kind = v.params["network"]["hidden_activation"] if l < L - 1 else v.params["network"]["output_activation"]
        for z in (x for row in zs[l] for x in row):
            assert not (kind == "relu" and z == 0), "ReLU input exactly 0"
            assert not (kind == "sigmoid" and abs(z) > 3) and not (kind == "tanh" and abs(z) > 2), "saturated"
    assert close(v.answer("loss").value, loss)
    return ref


def check_hand_friendly(v) -> None:
    """Identity/ReLU with MSE: every answer a terminating decimal; otherwise graded to stated decimals."""
    spec = v.params["network"]
    rational = spec["loss"] == "mse" and spec["hidden_activation"] in ("identity", "relu")
    for a in v.answers:
        flat = np.ravel(np.array(a.value, dtype=object))
        if rational:
            for x in flat:
                q = Fraction(str(x)).denominator
                while q % 2 == 0:
                    q //= 2
                while q % 5 == 0:
                    q //= 5
                assert q == 1, f"{a.name} = {x} is not a terminating decimal"
        else:
            assert v.style == "decimals" and "decimal" in v.statement


# --- the tests ----------------------------------------------------------------------------------

def test_network_forward_matches_reference():
    for v in variants("network_forward"):
        check_network_forward(v)
        check_hand_friendly(v)
        assert_misconceptions_distinct(v)


def test_network_backward_gradients_match_finite_differences():
    kinds = set()
    for v in variants("network_backward"):
        spec = v.params["network"]
        kinds.add((spec["hidden_activation"], spec["loss"], spec["sizes"][-1] if spec["loss"] == "ce" else 0))
        ref = check_network_forward_values(v)
        grads = ref.gradients()
        for name, want in grads.items():
            assert_close_nested(v.answer(name).value, want, name)
            assert v.params["claims"]["gradients"][name] is not None
        lr = num(spec["eta"])
        for l, (W, b) in enumerate(zip(ref.W, ref.b), start=1):
            assert_close_nested(v.answer(f"W{l}_new").value,
                                [[w - lr * g for w, g in zip(rw, rg)] for rw, rg in zip(W, grads[f"dW{l}"])], f"W{l}_new")
            assert_close_nested(v.answer(f"b{l}_new").value, [x - lr * g for x, g in zip(b, grads[f"db{l}"])], f"b{l}_new")
        check_hand_friendly(v)
        assert_misconceptions_distinct(v)
        check_backward_misconception_values(v, ref, grads)
    losses = {(loss, classes) for _, loss, classes in kinds}
    assert {("mse", 0), ("bce", 0), ("ce", 2), ("ce", 3)} <= losses, sorted(kinds)
    assert {h for h, _, _ in kinds} == {"identity", "relu", "sigmoid", "tanh"}, sorted(kinds)


def check_network_forward_values(v) -> RefNet:
    """The forward values a backward key claims (params['claims']['values']) against the reference."""
    ref = RefNet(v.params["network"])
    zs, acts, loss = ref.forward()
    claims = v.params["claims"]["values"]
    N = len(zs[0])
    for l in range(len(zs)):
        assert_close_nested([[num(x) for x in r] for r in claims[f"z{l + 1}"]] if N > 1 else
                            [num(x) for x in claims[f"z{l + 1}"]], zs[l] if N > 1 else zs[l][0], f"z{l + 1}")
    assert close(num(claims["loss"]), loss)
    return ref


def check_backward_misconception_values(v, ref: RefNet, grads: dict) -> None:
    """Named wrong answers mean what their names say (checked against the reference gradients)."""
    N = len(ref.X)
    lr = num(v.params["network"]["eta"])
    for m in v.misconceptions:
        stem = m.answer.rstrip("0123456789_new")
        if m.name == "missing 1/N":
            assert_close_nested(m.value, np.multiply(np.array(grads[m.answer], dtype=object), N).tolist(), m.name)
        elif m.name == "sign flipped":
            assert_close_nested(m.value, (-np.array(grads[m.answer], dtype=object)).tolist(), m.name)
        elif m.name == "missing transpose":
            assert_close_nested(m.value, np.array(grads[m.answer], dtype=object).T.tolist(), m.name)
        elif m.name in ("step uphill", "learning rate left out"):
            l = int(m.answer[1:].split("_")[0])
            theta = np.array(ref.W[l - 1] if stem == "W" else ref.b[l - 1], dtype=object)
            g = np.array(grads[f"d{m.answer[0]}{l}"], dtype=object)
            want = theta + lr * g if m.name == "step uphill" else theta - g
            assert_close_nested(m.value, want.tolist(), m.name)


def test_backward_covers_the_required_misconceptions():
    names = set()
    for v in variants("network_backward", 300):
        names |= {m.name for m in v.misconceptions}
    for required in ["f' on the pre-activation", "missing transpose", "one path at a fork", "missing 1/N",
                     "delta without f'", "W updated before delta"]:
        assert required in names


def test_graph_gradients_match_finite_differences():
    ops = {"+": lambda *xs: sum(xs), "-": lambda a, b: a - b, "*": lambda a, b: a * b, **ACT}
    templates, forks = set(), 0
    for v in variants("graph_gradients"):
        templates.add(v.params["template"])
        inputs = {k: num(x) for k, x in v.params["inputs"].items()}
        nodes = v.params["nodes"]

        def evaluate(bump: str | None = None, e=0):
            vals = {k: x + (e if k == bump else 0) for k, x in inputs.items()}
            for n in nodes:
                vals[n["name"]] = ops[n["op"]](*(vals[p] for p in n["parents"])) + (e if n["name"] == bump else 0)
            return vals

        vals = evaluate()
        for n in nodes:
            assert close(v.answer(n["name"]).value, vals[n["name"]]), n["name"]
        for name in list(inputs) + [n["name"] for n in nodes[:-1]]:
            fd = central(lambda e: evaluate(name, e)["f"], mp.mpf(0))
            assert close(v.answer(f"d{name}").value, fd), f"d{name}"
        uses = [p for n in nodes for p in n["parents"]]
        forks += any(uses.count(x) > 1 for x in set(uses))
        assert_misconceptions_distinct(v)
    assert len(templates) >= 6 and forks >= VARIANTS // 4


def test_chain_rule_matches_finite_differences():
    env = {"exp": mp.exp, "log": mp.log, "sin": mp.sin, "sqrt": mp.sqrt, "tanh": mp.tanh}
    for v in variants("chain_rule_composed"):
        p = v.params
        h = lambda x: eval(p["h"], env, {"x": x})  # noqa: E731  (our own key strings)
        g = lambda u: eval(p["g"], env, {"u": u})  # noqa: E731
        f = lambda t: eval(p["f"], env, {"v": t})  # noqa: E731
        x0 = num(p["x"])
        u, vv = h(x0), g(h(x0))
        for name, want in [("u", u), ("v", vv), ("y", f(vv)), ("dh_dx", central(h, x0)), ("dg_du", central(g, u)),
                           ("df_dv", central(f, vv)), ("dydx", central(lambda x: f(g(h(x))), x0))]:
            assert close(v.answer(name).value, want), (name, p)
        assert_misconceptions_distinct(v)


def as_array(value) -> np.ndarray:
    """A key's (nested) list of numbers as a 2-d float array (a vector becomes one row)."""
    return np.atleast_2d(np.vectorize(lambda x: float(num(x)), otypes=[float])(np.array(value, dtype=object)))


def kinds_that_fit(wrong: np.ndarray, right: np.ndarray, hidden_delta: bool) -> set[str]:
    """The kinds of error (as the statement defines them) a wrong line fits, next to the right one:
    every entry times one positive factor other than 1 ('scaled'), times −1 ('sign'), the right
    matrix transposed ('transposed'), or a hidden δ off by different factors ('derivative'): the
    labels the statement gives them."""
    fits = set()
    if wrong.shape == right.shape:
        nonzero = np.abs(right) > 1e-12
        ratios = wrong[nonzero] / right[nonzero]
        uniform = (nonzero.any() and np.all(np.abs(wrong[~nonzero]) < 1e-12)
                   and np.allclose(ratios, ratios[0], rtol=1e-9, atol=0))
        if uniform and abs(ratios[0] + 1) < 1e-9:
            fits.add("sign")
        elif uniform and ratios[0] > 0 and abs(ratios[0] - 1) > 1e-9:
            fits.add("scaled")
        elif not uniform and hidden_delta:
            fits.add("derivative")
    if wrong.shape == right.T.shape and np.allclose(wrong, right.T, rtol=0, atol=1e-9):
        fits.add("transposed")
    return fits


def test_find_the_bug_names_the_first_inconsistent_line():
    kinds = set()
    for v in variants("backprop_find_the_bug"):
        spec = v.params["network"]
        ref = RefNet(spec)
        zs, acts, _ = ref.forward()
        shown = {k: as_array(val) for k, val in v.params["shown"].items()}
        W = [as_array(m) for m in spec["W"]]
        z = [as_array(m) for m in zs]
        a = [as_array(ref.X)] + [as_array(m) for m in acts]
        y, L = as_array(ref.Y), len(W)
        fprime = {"relu": lambda l: (z[l - 1] > 0).astype(float), "identity": lambda l: np.ones_like(z[l - 1]),
                  "sigmoid": lambda l: a[l] * (1 - a[l]), "tanh": lambda l: 1 - a[l] ** 2}[spec["hidden_activation"]]
        first = None
        for l in range(L, 0, -1):
            # Each line as it follows from the lines shown above it.
            delta = (a[L] - y) / len(y) if l == L else (shown[f"delta{l + 1}"] @ W[l]) * fprime(l)
            expect = {f"delta{l}": delta, f"dW{l}": shown[f"delta{l}"].T @ a[l - 1],
                      f"db{l}": shown[f"delta{l}"].sum(axis=0, keepdims=True)}
            for name, want in expect.items():
                if shown[name].shape != want.shape or not np.allclose(shown[name], want, rtol=0, atol=1e-9):
                    assert first is None, f"{name} is inconsistent too, after {first}"
                    first = name
                    fits = kinds_that_fit(shown[name], want, hidden_delta=name.startswith("delta") and l < L)
        assert first == v.answer("wrong_line").value == v.params["planted"]["line"]
        # one reading: the wrong line has the look of its kind and of no other
        assert fits == {v.answer("error_kind").value}, (first, fits, v.answer("error_kind").value)
        kinds.add(v.answer("error_kind").value)
        assert_misconceptions_distinct(v)
    assert kinds == {"scaled", "sign", "transposed", "derivative"}


def test_shapes_match_numpy():
    rng = np.random.default_rng(0)
    for v in variants("network_shapes"):
        sizes, N, conv = v.params["sizes"], v.params["batch"], v.params["layout"]
        shape = {a.name: tuple(int(x) for x in a.value) for a in v.answers}
        A = rng.normal(size=(N, sizes[0]) if conv == "rows" else (sizes[0], N))
        X, cache = A, []
        for l in range(1, len(sizes)):
            W, b = rng.normal(size=shape[f"W{l}"]), rng.normal(size=shape[f"b{l}"])
            Z = A @ W + b if conv == "rows" else W @ A + b
            assert Z.shape == shape[f"Z{l}"] == shape[f"A{l}"]
            cache.append((A, W))
            A = np.tanh(Z)
        dZ = np.ones_like(A)
        for l in range(len(sizes) - 1, 0, -1):
            A_prev, W = cache[l - 1]
            dW = A_prev.T @ dZ if conv == "rows" else dZ @ A_prev.T
            db = dZ.sum(axis=0) if conv == "rows" else dZ.sum(axis=1, keepdims=True)
            assert dW.shape == shape[f"dW{l}"] and db.shape == shape[f"db{l}"]
            dZ = dZ @ W.T if conv == "rows" else W.T @ dZ
        assert dZ.shape == shape["dX"] == X.shape
        assert_misconceptions_distinct(v)


@pytest.mark.parametrize("problem", ["chain_rule_composed", "graph_gradients", "network_forward", "network_backward",
                                     "backprop_find_the_bug", "network_shapes"])
def test_variants_are_reproducible_and_tables_well_formed(problem):
    for seed in range(20):
        v1, v2 = make_variant(get(problem), seed), make_variant(get(problem), seed)
        assert v1.params == v2.params and v1.statement == v2.statement
        for step in v1.steps:
            if step.table:
                assert len({len(row) for row in step.table}) == 1, "ragged table"
                assert all(cell.count("$") % 2 == 0 for row in step.table for cell in row)
        assert v1.statement.count("$") % 2 == 0
        assert all(a.name.isidentifier() for a in v1.answers)


def test_documented_recipe_verifies_keys(tmp_path):
    """The standard-library recipe in docs/key-schema.md runs on our keys and agrees with them."""
    doc = (Path(__file__).parent.parent / "docs" / "key-schema.md").read_text()
    recipe = re.findall(r"```python\n(.*?)```", doc, re.S)[-1]
    entries = [{"type": v.problem, "params": v.params} for v in variants("network_backward", 40)]
    (tmp_path / "alice.json").write_text(json.dumps({"problems": entries}))
    exec(recipe.replace('open("alice.json")', f'open({str(tmp_path / "alice.json")!r})'), {})
    # and it does fail on a wrong claim
    entries[0]["params"]["claims"]["gradients"]["dW1"][0][0] = "1000"
    (tmp_path / "alice.json").write_text(json.dumps({"problems": entries}))
    with pytest.raises(AssertionError):
        exec(recipe.replace('open("alice.json")', f'open({str(tmp_path / "alice.json")!r})'), {})


@pytest.mark.slow
def test_hw2_generate_solve_grade_end_to_end(tmp_path):
    """hw2 through the real CLI: the reference answers score full marks, and a submission
    with named mistakes in the backward pass and the find-the-bug problem is recognised."""
    hw = "hw2-backprop"
    course, layout = solved_course(tmp_path, hw, ["alice", "bob"], solved=["alice", "bob"])
    key = json.loads(layout.key_json("bob").read_text())
    backward = next(p for p in key["problems"] if p["type"] == "network_backward")
    wrong = {m["answer"]: m for m in backward["misconceptions"] if m["name"] == "missing 1/N"}
    assert wrong, "the batch-of-2 backward problem always has the missing 1/N"
    nb_path = layout.submission_dir("bob") / layout.notebook_name
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == backward["key"]:
            cell.source = "\n".join(f"{n} = {json.dumps(wrong[n]['float'])}" if n in wrong else ln
                                    for ln in cell.source.splitlines() for n in [ln.split("=")[0].strip()])
    nbformat.write(nb, nb_path)
    proc = run_cli("grade", hw, "--course", course)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def results(s):
        return json.loads((layout.autograded_dir(s) / "results.json").read_text())

    alice = results("alice")
    assert alice["score"] == alice["max_score"] > 0
    bob = next(p for p in results("bob")["problems"] if p["key"] == backward["key"])
    named = {c["name"]: c for c in bob["checks"]}
    order = [a["name"] for a in backward["answers"] if a["name"] in wrong]
    first, later = order[0], order[1:]
    # The slip is made once, at the first gradient: it costs that answer the assignment's
    # partial credit; every gradient after it follows correctly from it (error carried forward).
    assert named[first]["misconception"] == "missing 1/N"
    assert named[first]["score"] == 0.5
    assert later
    for name in later:
        assert named[name]["follow_through"] and named[name]["score"] == 1.0, named[name]
        assert f"the first error is `{first}" in named[name]["message"]
    assert bob["score"] < bob["points"]

"""Keys of the chapter 5–6 hand problems, checked against independent computations.

Each problem type is generated for 1,000 seeds; every key is recomputed from the
numbers the student sees (the variant's params) with plain floats, numpy, or
mpmath — simulation, finite differences, numerical integration — never with the
generator's own sympy derivation.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from functools import cache

import mpmath
import numpy as np
import pytest

from conftest import key_params
from structures import structure
from backproplab.problems import get, registry
from backproplab.problems.exact import to_float
from backproplab.problems.overfitting import FIXES
from backproplab.problems.qa import make_variant, problems_with
from backproplab.problems.variant import Variant

N_VARIANTS = 1000
CH5_CH6 = ["updates_per_epoch", "minibatch_gradient", "momentum_steps", "adam_steps", "sigmoid_chain",
           "depth_scale", "init_scale", "clip_global_norm", "overshooting", "local_minimum",
           "read_training_curves"]


@cache
def variants(pid: str) -> list[Variant]:
    """The variants of seeds 0..N_VARIANTS-1 (each already passed QA in make_variant), seed k in
    the problem's structure k mod (their number) (tests/structures.py)."""
    return [key_params(make_variant(get(pid), seed, structure(pid, seed))) for seed in range(N_VARIANTS)]


def num(value) -> float:
    """A param stored as an exact string ('3/4') as a float."""
    return float(Fraction(value))


def key(v: Variant, name: str):
    return to_float(v.answer(name).value)


def close(got, want, tol: float = 1e-9) -> bool:
    return np.allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=tol, atol=tol)


def test_all_types_registered_in_chapters_5_and_6():
    reg = registry()
    for pid in CH5_CH6:
        assert reg[pid].chapter in (5, 6) and reg[pid].kind == "hand"


@pytest.mark.parametrize("pid", CH5_CH6)
def test_variants_are_sound(pid):
    """Reproducible, JSON-able, names are identifiers, choices hold the answer, feedback hides the key."""
    vs = variants(pid)
    again = make_variant(get(pid), 7, structure(pid, 7))
    assert json.dumps(again.params) == json.dumps(vs[7].params)
    # init_scale's numbers are one fan-in and one scale: a few hundred combinations in all;
    # depth_scale's four numbers some two thousand, so 1,000 draws repeat about half of them
    enough = {"init_scale": N_VARIANTS // 4, "depth_scale": N_VARIANTS // 3}.get(pid, N_VARIANTS // 2)
    assert len({json.dumps(v.params, sort_keys=True) for v in vs}) > enough, "too few distinct variants"
    for v in vs[:200]:
        json.dumps(v.params)
        assert not problems_with(v)
        for a in v.answers:
            assert a.name.isidentifier()
            if a.kind == "choice":
                assert a.value in a.choices and len(set(a.choices)) == len(a.choices)
        for m in v.misconceptions:
            right = v.answer(m.answer).value
            if not isinstance(right, (str, list)) and not float(right).is_integer():
                assert str(right) not in m.feedback


def test_updates_per_epoch_by_slicing_a_data_set():
    seen_drop = set()
    for v in variants("updates_per_epoch"):
        n, b, e, drop = v.params["N"], v.params["B"], v.params["E"], v.params["drop_last"]
        batches = [list(range(n))[i:i + b] for i in range(0, n, b)]
        if drop:
            batches = [bt for bt in batches if len(bt) == b]
        seen_drop.add(drop)
        assert key(v, "per_epoch") == len(batches)
        assert key(v, "total") == e * len(batches)
        assert key(v, "last_batch") == len(batches[-1])
        assert key(v, "full_batch_total") == e
        assert key(v, "sgd_total") == n * e
    assert seen_drop == {True, False}


def batch_loss(w: float, xs, ys, half: float) -> float:
    return half * sum((w * x - y) ** 2 for x, y in zip(xs, ys)) / len(xs)


def central_difference(f, w: float, h: float = 1e-6) -> float:
    return (f(w + h) - f(w - h)) / (2 * h)


def test_minibatch_gradient_by_finite_differences():
    for v in variants("minibatch_gradient"):
        p = v.params
        w, eta = num(p["w"]), num(p["eta"])
        xs, ys = [num(x) for x in p["x"]], [num(y) for y in p["y"]]
        half = 1.0 if p["mse_convention"] == "mean" else 0.5
        per = [central_difference(lambda t: batch_loss(t, [x], [y], half), w) for x, y in zip(xs, ys)]
        full = central_difference(lambda t: batch_loss(t, xs, ys, half), w)
        idx = [i - 1 for i in p["batch"]]
        mini = central_difference(lambda t: batch_loss(t, [xs[i] for i in idx], [ys[i] for i in idx], half), w)
        assert close(key(v, "per_example"), per, 1e-6)
        assert close(key(v, "full_batch"), full, 1e-6)
        assert close(key(v, "single"), per[p["single"] - 1], 1e-6)
        assert close(key(v, "minibatch"), mini, 1e-6)
        assert close(key(v, "w_new"), w - eta * mini, 1e-6)
        # The mini-batch gradient is the mean of its examples' gradients.
        assert close(key(v, "minibatch"), np.mean([per[i] for i in idx]), 1e-6)


def test_momentum_by_float_iteration():
    two_step = [key_params(make_variant(get("momentum_steps"), s, {"steps": 2})) for s in range(50)]
    for v in variants("momentum_steps") + two_step:
        p = v.params
        a, c, d, w, eta, beta = (num(p[k]) for k in ("a", "c", "d", "w0", "eta", "beta"))
        vel, ws, vs = num(p["v0"]), [], []
        for _ in range(p["steps"]):
            g = central_difference(lambda t: a * (t - c) ** 2 + d, w)
            vel = beta * vel + (g if p["momentum_convention"] == "sum" else (1 - beta) * g)
            w -= eta * vel
            vs.append(vel), ws.append(w)
        assert close(key(v, "v"), vs, 1e-7) and close(key(v, "w"), ws, 1e-7)
        # A student who rounds g, v and w to 4 decimals at every step is still accepted.
        vel, w, ws, vs = 0.0, num(p["w0"]), [], []
        for _ in range(p["steps"]):
            g = round(2 * a * (w - c), 4)
            vel = round(beta * vel + (g if p["momentum_convention"] == "sum" else (1 - beta) * g), 4)
            w = round(w - eta * vel, 4)
            vs.append(vel), ws.append(w)
        for name, got in (("v", vs), ("w", ws)):
            assert all(v.answer(name).tolerance.accepts(x, y) for x, y in zip(got, key(v, name)))


def sig4(x: float) -> float:
    """`x` rounded to 4 significant figures."""
    return float(f"{x:.4g}")


def test_adam_by_float_iteration():
    for v in variants("adam_steps"):
        p = v.params
        w, eta, b1, b2, eps = (num(p[k]) for k in ("w0", "eta", "beta1", "beta2", "epsilon"))
        m, s = num(p["m0"]), num(p["v0"])
        rows = {"m": [], "v": [], "m_hat": [], "v_hat": [], "w": []}
        for t, g in enumerate((num(x) for x in p["g"]), start=1):
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g * g
            mh, vh = m / (1 - b1**t), s / (1 - b2**t)
            w = w - eta * mh / (math.sqrt(vh) + eps)
            for name, val in zip(rows, (m, s, mh, vh, w)):
                rows[name].append(val)
        for name, vals in rows.items():
            assert close(key(v, name), vals, 1e-9), name
        # A student who keeps 4 significant figures of m, v, m̂, v̂ and 4 decimals of w is accepted.
        w, m, s = num(p["w0"]), 0.0, 0.0
        for t, g in enumerate((num(x) for x in p["g"]), start=1):
            m, s = sig4(b1 * m + (1 - b1) * g), sig4(b2 * s + (1 - b2) * g * g)
            mh, vh = sig4(m / (1 - b1**t)), sig4(s / (1 - b2**t))
            w = round(w - eta * mh / math.sqrt(vh), 4)
            for name, got in (("m", m), ("v", s), ("m_hat", mh), ("v_hat", vh), ("w", w)):
                assert v.answer(name).tolerance.accepts(got, key(v, name)[t - 1]), (name, t)
        g1 = num(p["g"][0])
        assert all(m != 0 for m in rows["m"]), "a first moment of exactly 0: that step does not move w"
        for a in v.answers:  # every answer has an absolute floor: a relative tolerance alone accepts only an exact 0
            assert a.kind == "choice" or a.tolerance.abs > 0, a.name
        assert close(key(v, "first_step"), rows["w"][0] - num(p["w0"]), 1e-9)
        assert abs(key(v, "first_step") + eta * math.copysign(1, g1)) < 1e-6  # about −η·sign(g₁)
        assert "bias correction" in v.answer("why").value.lower()


def test_sigmoid_chain_with_mpmath():
    mpmath.mp.dps = 30
    sigmoid = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
    # The largest σ′ found numerically, not from the formula σ(1 − σ).
    best = mpmath.findroot(lambda z: mpmath.diff(sigmoid, z, 2), 0.3)
    top = mpmath.diff(sigmoid, best)
    for v in variants("sigmoid_chain"):
        zs = [mpmath.mpf(num(z)) for z in v.params["z"]]
        ws = [num(w) for w in v.params["w"]]
        primes = [mpmath.diff(sigmoid, z) for z in zs]
        assert close(key(v, "sigma_primes"), primes, 1e-9)
        act = math.prod(float(x) for x in primes)
        assert close(key(v, "activation_factor"), act, 1e-9)
        assert close(key(v, "gradient"), act * math.prod(ws), 1e-9)
        assert close(key(v, "bound"), float(top) ** len(zs), 1e-9)
        # A student who rounds each σ′ to 4 decimals and multiplies is accepted.
        rounded = math.prod(round(float(x), 4) for x in primes)
        assert v.answer("activation_factor").tolerance.accepts(rounded, act)


def test_depth_scale_by_repeated_multiplication():
    for v in variants("depth_scale"):
        p = v.params
        small, big, limit = Fraction(p["s_small"]), Fraction(p["s_big"]), Fraction(p["limit"])
        f_small = f_big = Fraction(1)
        for _ in range(p["L"]):
            f_small, f_big = f_small * small, f_big * big
        assert close(key(v, "vanishing_factor"), float(f_small)) and close(key(v, "exploding_factor"), float(f_big))
        depth = next(d for d in range(1, 1000) if small**d < limit)
        assert key(v, "depth") == depth


def test_depth_scale_asks_for_the_gradient_the_chain_of_layers_gives():
    """The network the statement describes, built: L layers, each multiplying what passes through it
    by s. The gradient with respect to the input, over the gradient with respect to the output, is
    the derivative of the output by the input (found by a central difference), and that is the key;
    the statement names both ends and says each layer counts once, so s^(L-1) has no reading."""
    mpmath.mp.dps = 40
    for v in variants("depth_scale")[:300]:
        p = v.params
        for s_name, answer in (("s_small", "vanishing_factor"), ("s_big", "exploding_factor")):
            s = mpmath.mpf(Fraction(p[s_name]).numerator) / Fraction(p[s_name]).denominator

            def network(x, s=s):
                for _ in range(p["L"]):
                    x = s * x
                return x

            slope = mpmath.diff(network, 1)
            assert abs(float(slope) / key(v, answer) - 1) < 1e-12, (answer, p)
        assert f"each of the {p['L']} layers" in v.statement and "exactly once" in v.statement
        assert "input $x$" in v.statement and "the output" in v.statement
        # the power form the statement invites is read as the key's value
        for name in ("vanishing_factor", "exploding_factor"):
            assert math.isclose(float(v.answer(name).hand_form), key(v, name), rel_tol=1e-12)


def test_init_scale_from_the_second_moment_of_the_activation():
    """Keep n·Var(w)·E[φ(z)²]/Var(z) = 1, with E[φ(z)²] found by numerical integration (z ~ N(0, 1))."""
    mpmath.mp.dps = 20
    density = lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
    relu_moment = mpmath.quad(lambda z: max(z, 0) ** 2 * density(z), [-mpmath.inf, 0, mpmath.inf])
    # tanh in its linear regime near 0 passes the signal with slope tanh′(0)² = 1.
    moment = {"ReLU": float(relu_moment), "tanh": float(mpmath.diff(mpmath.tanh, 0)) ** 2}
    for v in variants("init_scale"):
        p = v.params
        n, m = p["n"], moment[p["activation"]]
        assert num(p["variance_factor"]) == 1 / m  # the rule the key states: Var(w) = variance_factor / n
        std = math.sqrt(1 / (n * m))
        gain = num(p["sigma0"]) * math.sqrt(n * m)
        assert close(key(v, "std"), std) and close(key(v, "variance"), std**2)
        assert close(key(v, "gain"), gain) and close(key(v, "total_gain"), gain ** p["layers"])


def test_init_scale_holds_for_the_network_the_statement_describes():
    """Weights drawn as the statement says, the biases 0: for ReLU the root mean square of the
    pre-activations is multiplied by `gain` per layer and `total_gain` through the stack, in a
    simulated stack (within the Monte Carlo error); for tanh the statement says to treat tanh as
    the identity, and then it holds too, while a real tanh stack with a gain above 1 saturates."""
    rng = np.random.default_rng(5)
    checked, saturated = {"ReLU": 0, "tanh": 0}, 0
    for v in variants("init_scale"):
        p = v.params
        act = p["activation"]
        if checked[act] >= 8 or p["n"] > 72:
            continue
        checked[act] += 1
        n, sigma0, layers = p["n"], num(p["sigma0"]), p["layers"]
        phi = (lambda z: np.maximum(z, 0)) if act == "ReLU" else (lambda z: z)  # tanh as the statement says
        # "averaged over the random weights": every sample through weights of its own
        z = rng.normal(size=(1000, n))
        scales = [np.sqrt(np.mean(z**2))]
        for _ in range(layers):
            z = np.einsum("sk,skj->sj", phi(z), rng.normal(0.0, sigma0, size=(len(z), n, n)))
            scales.append(np.sqrt(np.mean(z**2)))
        per_layer = (scales[-1] / scales[0]) ** (1 / layers)
        assert abs(per_layer / key(v, "gain") - 1) < 0.05, (p, per_layer)
        assert "biases are 0" in v.statement
        if act == "tanh":
            assert "Treat tanh as the identity" in v.statement and "saturates" in v.statement
            if key(v, "gain") > 2:  # why it must say so: a real tanh stack grows far less
                z = rng.normal(size=(1000, n))
                for _ in range(layers):
                    z = np.einsum("sk,skj->sj", np.tanh(z), rng.normal(0.0, sigma0, size=(len(z), n, n)))
                assert np.sqrt(np.mean(z**2)) < 0.5 * key(v, "total_gain")
                saturated += 1
    assert min(checked.values()) > 0 and saturated > 0


def test_clip_global_norm_with_numpy():
    for v in variants("clip_global_norm"):
        gw = np.array([num(x) for x in v.params["g_W"]])
        gb = np.array([num(x) for x in v.params["g_b"]])
        c = num(v.params["threshold"])
        total = np.linalg.norm(np.concatenate([gw, gb]))
        factor = min(1.0, c / total)
        assert close(key(v, "global_norm"), total) and close(key(v, "factor"), factor)
        assert close(key(v, "clipped_W"), gw * factor) and close(key(v, "clipped_b"), gb * factor)
        clipped = np.concatenate([key(v, "clipped_W"), key(v, "clipped_b")])
        assert math.isclose(np.linalg.norm(clipped), c)


def classify(xs: list[float], c: float) -> str:
    """What 200 iterates do around the minimum c, read off the iterates themselves."""
    d = [x - c for x in xs]
    if abs(d[-1]) > 1e3 * abs(d[0]):
        return "overshoots and diverges"
    if math.isclose(abs(d[-1]), abs(d[0]), rel_tol=1e-9):
        return "bounces between two points forever"
    same_side = all(a * b > 0 for a, b in zip(d, d[1:]) if abs(a) > 1e-12 and abs(b) > 1e-12)
    return "converges without overshooting" if same_side else "overshoots but converges"


def gd(f, x: float, eta: float, steps: int) -> list[float]:
    xs = [x]
    for _ in range(steps):
        xs.append(xs[-1] - eta * central_difference(f, xs[-1], 1e-5))
    return xs


def test_overshooting_by_running_gradient_descent():
    seen = set()
    for v in variants("overshooting"):
        p = v.params
        a, c, d, x0, eta = (num(p[k]) for k in ("a", "c", "d", "x0", "eta"))
        f = lambda t: a * (t - c) ** 2 + d  # noqa: E731
        xs = [x0]
        for _ in range(200):  # the exact map, so divergence does not meet round-off in the difference
            xs.append(xs[-1] - eta * 2 * a * (xs[-1] - c))
        assert close(key(v, "iterates"), gd(f, x0, eta, 3)[1:], 1e-6)
        assert close(key(v, "factor"), (xs[1] - c) / (x0 - c))
        assert v.answer("behaviour").value == classify(xs, c)
        seen.add(classify(xs, c))
        # The largest stable rate by bisection: converging below it, not at it.
        lo, hi = 0.0, 100.0
        for _ in range(60):
            mid = (lo + hi) / 2
            y = x0
            for _ in range(400):
                y -= mid * 2 * a * (y - c)
            lo, hi = (mid, hi) if abs(y - c) < abs(x0 - c) / 2 else (lo, mid)
        assert abs(key(v, "eta_max") - lo) < 1e-2
    assert len(seen) == 4


def test_local_minimum_by_running_gradient_descent():
    vs = variants("local_minimum")
    roots = np.array([v.params["roots"] for v in vs], dtype=float)
    x0 = np.array([num(v.params["x0"]) for v in vs])
    eta = np.array([num(v.params["eta"]) for v in vs])
    coeffs = [np.polyint(np.poly(r)) for r in roots]  # f from its derivative's roots, by numpy

    x = x0.copy()
    for _ in range(20000):  # gradient descent on all variants at once, with f′ as the statement gives it
        x -= eta * (x - roots[:, 0]) * (x - roots[:, 1]) * (x - roots[:, 2])
    # The first step with f′ from central differences of f.
    first = [x0i - e * central_difference(lambda t: np.polyval(c, t), x0i, 1e-5) for c, x0i, e in zip(coeffs, x0, eta)]
    kinds = set()
    for v, c, xv, r, x1 in zip(vs, coeffs, x, roots, first):
        assert abs(xv - key(v, "reached")) < 1e-6
        grid = np.linspace(r[0] - 5, r[2] + 5, 20001)
        global_x = grid[np.argmin(np.polyval(c, grid))]
        kind = "global" if abs(global_x - xv) < 1e-2 else "local"
        assert v.answer("kind").value == kind
        kinds.add(kind)
        assert close(key(v, "first_step"), x1, 1e-6)
    assert kinds == {"local", "global"}


def test_training_curves_key_is_what_the_plot_shows():
    kinds = set()
    for v in variants("read_training_curves"):
        train, val, floor = v.params["train"], v.params["val"], v.params["floor"]
        best = int(np.argmin(val))
        assert key(v, "stop_epoch") == best + 1
        assert list(val).count(val[best]) == 1
        # Overfitting: validation rises after its minimum while training keeps falling.
        rising = val[-1] > val[best] and best < len(val) - 1
        falling = all(b <= a for a, b in zip(train, train[1:]))
        high = min(train) > floor + 0.3 and min(val) > floor + 0.3
        want = "overfitting" if rising and falling else "underfitting" if high and best == len(val) - 1 else None
        assert v.answer("diagnosis").value == want
        kinds.add(want)
        # Exactly one option is a fix for this diagnosis.
        fix = v.answer("fix")
        assert fix.value in FIXES[want]
        assert [c for c in fix.choices if c in FIXES[want]] == [fix.value]
    assert kinds == {"overfitting", "underfitting"}


def test_plots_hold_their_data_and_only_the_curves_go_to_students():
    for pid in CH5_CH6:
        for v in variants(pid)[:50]:
            for plot in v.plots:
                (x0, x1), (y0, y1) = plot.frame.xlim, plot.frame.ylim
                for line in plot.lines():
                    assert len(line.xs) == len(line.ys) <= 100
                    # every point of a short line (markers, iterates) is inside the frame
                    assert len(line.xs) == 100 or all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in zip(line.xs, line.ys))
                assert plot.audience == ("student" if pid == "read_training_curves" else "key")
        if pid == "read_training_curves":  # the key's epoch is the argmin of the plotted validation loss
            for v in variants(pid)[:50]:
                val = next(line for line in v.plots[0].lines() if line.label == "validation loss")
                assert int(v.answer("stop_epoch").value) == 1 + int(np.argmin(val.ys))


@pytest.mark.slow
def test_hw3_generate_solve_grade_names_every_first_mistake(tmp_path):
    """hw3 end to end: a solved notebook scores full marks, one misconception per problem is named (with
    the assignment's partial credit), and a blank notebook scores zero."""
    import nbformat
    import tomllib

    from backproplab.paths import data_dir

    from conftest import run_cli, solved_course

    hw = "hw3-optimizers"
    course, layout = solved_course(tmp_path, hw, ["alice", "bob", "carol"], solved=["alice", "bob"])
    layout.submission_dir("carol").mkdir(parents=True)
    (layout.submission_dir("carol") / layout.notebook_name).write_bytes(layout.released_notebook("carol").read_bytes())

    # Bob makes the first named mistake of every problem.
    bob = json.loads(layout.key_json("bob").read_text())
    path = layout.submission_dir("bob") / layout.notebook_name
    nb = nbformat.read(path, as_version=4)
    made = {}
    for prob in bob["problems"]:
        m = prob["misconceptions"][0]
        made[prob["key"]] = m
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == prob["key"]:
                cell.source = "\n".join(f"{m['answer']} = {json.dumps(m['float'])}"
                                        if ln.split("=")[0].strip() == m["answer"] else ln
                                        for ln in cell.source.splitlines())
    nbformat.write(nb, path)

    run_cli("grade", hw, "--course", course, "--workers", "2", check=True)
    results = {s: json.loads((layout.autograded_dir(s) / "results.json").read_text())
               for s in ("alice", "bob", "carol")}
    spec = tomllib.loads((data_dir("assignments") / hw / "assignment.toml").read_text())
    total = sum(p["points"] for p in spec["problem"])
    assert results["alice"]["score"] == results["alice"]["max_score"] == total
    assert results["carol"]["score"] == 0
    for prob, spec_p in zip(results["bob"]["problems"], spec["problem"]):
        m = made[prob["key"]]
        check = next(c for c in prob["checks"] if c["name"] == m["answer"])
        assert check["misconception"] == m["name"], (prob["key"], check)
        assert check["score"] == spec_p.get("credit", {}).get(m["name"], 0.0)
        assert all(c["score"] == 1 for c in prob["checks"] if c["name"] != m["answer"])

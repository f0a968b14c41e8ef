"""The curve pictures show what was run: each is re-run here, from the key's params, with this file's own
code (plain numpy loops, no backproplab simulation), and the defect the key names is checked on the re-run.

- chapter 6, `diagnose_training_run`, 1,000 variants: the plotted losses and gradient norms are the re-run's;
  a diverging run really diverges (and its rate is above 2/λ_max of the loss's own Hessian), an oscillating one
  bounces without settling and without blowing up, a plateau's gradient norm is really tiny while its sigmoid
  is saturated on every example, a local-minimum run really converges (gradient → 0) far above the noise floor
  while restarts from other starts reach a far lower loss, an overfitting run's validation loss really rises
  while its training loss falls below the floor, a healthy run ends at the floor. And every change offered is
  applied to the run: each wrong option does not fix it, the right one does (where it can be simulated).
- chapter 5, `match_batch_curves`: the three logs are re-run with the stored shuffle orders; the full batch's
  log is smooth, the mini-batch log noisier, the single-example log noisiest, over the same epochs.
- chapter 2, `learning_rate_curves`: the 'large' rate's loss grows and the rate is above 2/λ_max; the
  'medium' rate's falls faster than the 'small' one's.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from conftest import key_params
from backproplab.problems import get
from backproplab.problems.diagnosis import FIXES
from backproplab.problems.qa import make_variant

N_VARIANTS = 1000
CHUNKS = 10
FIX_OF_TEXT = {text: key for key, text in FIXES.items()}


@cache
def diagnosis_variants(chunk: int) -> list:
    size = N_VARIANTS // CHUNKS
    return [key_params(make_variant(get("diagnose_training_run"), seed)) for seed in range(chunk * size, (chunk + 1) * size)]


# --- this file's own models: loss and gradient on one data set -------------------------------------------

def model_loss(model: str, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    if model in ("line-mse", "line-logcosh"):
        w, b = theta
        r = w * x + b - y
        if model == "line-mse":
            return float(np.sum(r ** 2) / len(y)), np.array([np.sum(2 * r * x), np.sum(2 * r)]) / len(y)
        return float(np.sum(np.log(np.cosh(r))) / len(y)), np.array([np.sum(np.tanh(r) * x), np.sum(np.tanh(r))]) / len(y)
    if model == "sigmoid-unit":
        w, b = theta
        s = np.array([1 / (1 + math.exp(-(w * xi + b))) for xi in x])
        r = s - y
        d = 2 * r * s * (1 - s)
        return float(np.sum(r ** 2) / len(y)), np.array([np.sum(d * x), np.sum(d)]) / len(y)
    if model == "sine":
        (omega,) = theta
        r = np.sin(omega * x) - y
        return float(np.sum(r ** 2) / len(y)), np.array([np.sum(2 * r * np.cos(omega * x) * x) / len(y)])
    assert model == "features"
    r = np.einsum("ij,j->i", x, theta) - y
    return float(np.sum(r ** 2) / len(y)), np.einsum("ij,i->j", x, 2 * r) / len(y)


def gd(model: str, data: dict, start, eta: float, epochs: int, decay: float = 0.0, clip: float | None = None,
       beta: float = 0.0):
    """Full-batch gradient descent (optionally with L2 decay, norm clipping, heavy-ball momentum): training loss,
    validation loss and gradient norm before each step and after the last; the final parameters."""
    theta = np.array(start, dtype=float)
    velocity = np.zeros_like(theta)
    train, val, grad = [], [], []
    for t in range(epochs + 1):
        loss, g = model_loss(model, theta, data["x"], data["y"])
        train.append(loss)
        val.append(model_loss(model, theta, data["x_val"], data["y_val"])[0])
        grad.append(float(np.sqrt(np.sum(g ** 2))))
        if t == epochs:
            break
        g = g + 2 * decay * theta
        if clip is not None and np.sqrt(np.sum(g ** 2)) > clip:
            g = g * clip / np.sqrt(np.sum(g ** 2))
        velocity = beta * velocity + g
        theta = theta - eta * velocity
    return np.array(train), np.array(val), np.array(grad), theta


def arrays(data: dict) -> dict:
    return {k: np.array(v, dtype=float) for k, v in data.items()}


def more_data(p: dict, rng: np.random.Generator) -> dict:
    """The training set with a fresh sample from the same function and noise added: as many examples again for
    the sigmoid unit, twenty times as many for the model with as many weights as examples."""
    d, truth = arrays(p["data"]), p["truth"]
    n = len(d["y"])
    if p["model"] == "sigmoid-unit":
        x = np.round(rng.uniform(-2, 2, n), 3)
        y = np.round(1 / (1 + np.exp(-(truth["w"] * x + truth["b"]))) + rng.normal(0, 0.1, n), 3)
    else:
        assert p["model"] == "features"
        x = np.round(rng.normal(0, 1, (20 * n, d["x"].shape[1])), 3)
        y = np.round(x @ np.array(truth["weights"]) + rng.normal(0, 0.5, 20 * n), 3)
    return d | {"x": np.concatenate([d["x"], x]), "y": np.concatenate([d["y"], y])}


def least_line_loss(p: dict) -> float:
    """The least training loss a line can have on the run's data: least squares for MSE; for log-cosh (convex),
    Newton's method from the function that made the data."""
    d = arrays(p["data"])
    if p["model"] == "line-mse":
        a = np.stack([d["x"], np.ones_like(d["x"])], axis=1)
        theta = np.linalg.lstsq(a, d["y"], rcond=None)[0]
        return float(np.mean((a @ theta - d["y"]) ** 2))
    a = np.stack([d["x"], np.ones_like(d["x"])], axis=1)
    theta = np.array([p["truth"]["w"], p["truth"]["b"]])
    for _ in range(30):  # Newton's method: the gradient and Hessian of the mean of log cosh(a θ − y)
        r = a @ theta - d["y"]
        hessian = (a * (1 / np.cosh(r) ** 2)[:, None]).T @ a / len(r)
        theta = theta - np.linalg.solve(hessian, a.T @ np.tanh(r) / len(r))
    return float(np.mean(np.log(np.cosh(a @ theta - d["y"]))))


def line_lambda_max(x: np.ndarray, scale: float) -> float:
    """λ_max of the Hessian of a line's loss: scale · (1/n) Σ [x, 1]ᵀ[x, 1] (scale 2 for MSE, 1 for log-cosh at 0)."""
    a = np.stack([x, np.ones_like(x)], axis=1)
    return float(np.max(np.linalg.eigvalsh(scale * a.T @ a / len(x))))


# --- the defect, on the re-run ----------------------------------------------------------------------------

def check_defect(defect: str, p: dict, train, val, grad) -> None:
    floor = p["floor"]
    if defect == "diverging":
        assert train[-1] > 1000 * train[0] and np.all(np.diff(train[-10:]) > 0)
        assert p["eta"] * line_lambda_max(np.array(p["data"]["x"]), 2.0) > 2
    elif defect == "oscillating":
        tail = train[len(train) // 2:]
        steps = np.diff(tail)
        assert np.mean(steps[1:] * steps[:-1] < 0) >= 0.7  # up, down, up, ...
        assert np.median(np.abs(steps)) >= 0.1 * np.median(tail) and tail.min() >= 3 * floor
        assert train.max() <= 2 * train[0]  # bounded: it does not diverge
    elif defect == "plateau":
        assert grad.max() < 1e-3 and train.max() - train.min() < 0.02 * train[0] and train.min() > 5 * floor
        w, b = p["start"]
        z = w * np.array(p["data"]["x"]) + b
        assert np.all(np.abs(z) > 5), "the sigmoid is saturated on every training example"
    elif defect == "local-minimum":
        assert grad[-1] < 1e-4 * grad[0] and train[-1] > 6 * floor and train[0] > 1.3 * train[-1]
    elif defect == "overfitting":
        best = int(np.argmin(val))
        assert 0 < best < len(val) - 1 and val[-1] >= 1.3 * val[best] and train[-1] < floor <= val[-1] / 1.5
        assert np.all(np.diff(train) < 0)
    else:
        assert defect == "healthy"
        assert 0.8 * floor <= train[-1] <= 1.4 * floor and val[-1] <= 1.4 * floor and val[-1] <= 1.05 * val.min()


def still_broken(defect: str, p: dict, train, val, original) -> bool:
    """Is the run, changed by a wrong fix, still showing its defect (or no better than before)?"""
    floor = p["floor"]
    if defect == "diverging":
        return train[-1] > train[0]
    if defect == "oscillating":
        return train[-30:].min() >= 3 * floor
    if defect == "plateau":
        return train[-1] >= 0.9 * train[0]
    if defect == "local-minimum":
        return train[-1] >= 0.8 * original["train"][-1] and train[-1] > 6 * floor
    assert defect == "overfitting"
    return val[-1] >= 0.9 * original["val"][-1]


def changed_runs(fix: str, p: dict, rng: np.random.Generator) -> list[tuple]:
    """The run again with `fix` applied (several runs for restarts); None when it cannot be simulated here."""
    d, start, eta, epochs = arrays(p["data"]), p["start"], p["eta"], p["epochs"]
    m = p["model"]
    if fix == "rate":
        return [gd(m, d, start, eta / 10, 10 * epochs)]
    if fix == "clip":
        return [gd(m, d, start, eta, epochs, clip=1.0)]
    if fix == "init":
        return [gd(m, d, np.zeros(len(start)), eta, epochs)]
    if fix == "restart":
        lo, hi = (0.5, 4.0) if m == "sine" else (-3.0, 3.0)
        return [gd(m, d, rng.uniform(lo, hi, len(start)), eta, epochs) for _ in range(15)]
    if fix == "decay":  # as you would tune it: a few strengths (the right fix needs one of them to work)
        return [gd(m, d, start, eta, epochs, decay=strength) for strength in (0.03, 0.1, 0.3)]
    if fix == "epochs":
        return [gd(m, d, start, eta, 3 * epochs)]
    if fix == "faster":
        return [gd(m, d, start, 2 * eta, epochs)]
    if fix == "momentum":
        return [gd(m, d, start, eta, epochs, beta=0.9)]
    if fix == "data":
        bigger = more_data(p, rng)
        rate = eta
        if m == "features":  # the rate that was 0.95/λ_max for the old set, for the new one
            rate = 0.95 / float(np.max(np.linalg.eigvalsh(2 * bigger["x"].T @ bigger["x"] / len(bigger["y"]))))
        return [gd(m, bigger, start, rate, epochs)]
    return []  # normalise (batch normalisation), a larger model, no change: argued in diagnosis.py, not simulated


def fixed(defect: str, fix: str, p: dict, runs: list[tuple], original: dict) -> bool:
    """Does the right fix, applied, really fix the run?"""
    floor = p["floor"]
    if defect in ("diverging", "oscillating"):  # settled at the least training loss the line can have
        train = runs[0][0]
        return train[-1] <= 1.01 * least_line_loss(p) and np.all(np.abs(np.diff(train[-10:])) <= 1e-6 * train[-1])
    if defect == "plateau":
        return runs[0][0][-1] < 0.5 * runs[0][0][0]
    if defect == "local-minimum":
        return min(r[0][-1] for r in runs) < original["train"][-1] / 3
    assert defect == "overfitting"
    if fix == "early":
        return min(original["val"]) < original["val"][-1] / 1.3
    if fix == "decay":
        return min(r[1][-1] for r in runs) < 0.9 * original["val"][-1]
    val = runs[0][1]
    if fix == "data":  # the validation loss ends lower: below the run's best, or near the noise floor
        return val[-1] < original["val"][-1] and (val[-1] <= min(original["val"]) or val[-1] <= 1.3 * floor)
    return val[-1] < 0.9 * original["val"][-1]


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_each_diagnosis_run_shows_its_defect_and_only_the_right_fix_fixes_it(chunk):
    rng = np.random.default_rng(chunk)
    seen, simulated = set(), {"wrong": 0, "right": 0}
    for v in diagnosis_variants(chunk):
        p = v.params
        defect = v.answer("diagnosis").value
        assert p["defect"] == defect
        train, val, grad, _ = gd(p["model"], arrays(p["data"]), p["start"], p["eta"], p["epochs"])
        # the picture is this run
        assert np.allclose(train, p["train"], rtol=1e-7) and np.allclose(val, p["val"], rtol=1e-7)
        assert np.allclose(grad, p["grad"], rtol=1e-6, atol=1e-12)
        (loss_plot, grad_plot) = v.plots
        assert [list(line.ys) for line in loss_plot.lines()[:2]] == [p["train"], p["val"]]
        assert list(grad_plot.lines()[0].ys) == p["grad"]
        check_defect(defect, p, train, val, grad)
        seen.add(defect)
        fix = v.answer("fix")
        original = {"train": train, "val": val}
        for text in fix.choices:
            key = FIX_OF_TEXT[text]
            runs = changed_runs(key, p, rng)
            if text == fix.value:
                if defect != "healthy" and (runs or key == "early"):
                    assert fixed(defect, key, p, runs, original), (v.params["defect"], key)
                    simulated["right"] += 1
            elif defect == "healthy":
                continue  # nothing to fix: the run ends at the floor (checked above)
            elif key == "none":
                continue  # the defect is there: checked above
            elif key == "early":  # the best validation loss along the run is still far above the floor
                assert val.min() >= 3 * p["floor"], defect
                simulated["wrong"] += 1
            elif runs:
                assert all(still_broken(defect, p, r[0], r[1], original) for r in runs), (defect, key)
                simulated["wrong"] += 1
    assert seen == {"diverging", "oscillating", "plateau", "local-minimum", "overfitting", "healthy"}
    assert simulated["wrong"] > 100 and simulated["right"] > 40


def test_a_local_minimum_is_worse_than_the_global_one():
    """On the loss's own grid, the run ends in a basin whose minimum is far above the best one."""
    for v in diagnosis_variants(0):
        p = v.params
        if p["defect"] != "local-minimum":
            continue
        d = arrays(p["data"])
        grid = np.linspace(0.2, 8, 2000)
        losses = np.array([np.mean((np.sin(o * d["x"]) - d["y"]) ** 2) for o in grid])
        assert losses.min() < p["train"][-1] / 3
        omega = gd("sine", d, p["start"], p["eta"], p["epochs"])[3][0]
        assert abs(omega - grid[np.argmin(losses)]) > 0.3


# --- chapter 5: full batch, mini-batches, single examples -------------------------------------------------

def sgd_log(x, y, start, eta, batch, orders):
    """Mini-batch SGD on ŷ = w x + b, logging each batch's MSE before its update, at epoch + (first index)/N."""
    w, b = start
    n = len(x)
    at, log = [], []
    for epoch, order in enumerate(orders):
        for k in range(0, n, batch):
            idx = np.array(order[k:k + batch])
            r = w * x[idx] + b - y[idx]
            at.append(epoch + k / n)
            log.append(float(np.mean(r ** 2)))
            w, b = w - eta * float(np.mean(2 * r * x[idx])), b - eta * float(np.mean(2 * r))
    return at, log


def jaggedness(log) -> float:
    """Share of consecutive log-loss steps that go up: 0 for a falling curve."""
    d = np.diff(np.log(log))
    return float(np.mean(d > 0))


def test_full_batch_mini_batch_and_single_example_logs_are_what_they_say():
    for seed in range(300):
        v = key_params(make_variant(get("match_batch_curves"), seed))
        p = v.params
        x, y = np.array(p["x"]), np.array(p["y"])
        rng = np.random.default_rng(p["shuffle_seed"])
        orders = [rng.permutation(len(x)).tolist() for _ in range(p["epochs"])]
        logs = {}
        for method, size in p["batch_sizes"].items():
            at, log = sgd_log(x, y, p["start"], p["eta"], size, orders)
            assert np.allclose(log, p["logs"][method]["loss"], rtol=1e-9) and np.allclose(at, p["logs"][method]["at"])
            assert len(log) == p["epochs"] * -(-len(x) // size)  # updates per epoch: ⌈N/B⌉
            logs[method] = log
        # the same epochs; the smaller the batch, the noisier the log
        assert jaggedness(logs["full-batch"]) == 0
        assert jaggedness(logs["mini-batch"]) > 0.1
        assert jaggedness(logs["single-example"]) > 0.1
        jump = {m: float(np.mean(np.abs(np.diff(np.log(log))))) for m, log in logs.items()}  # per update, log scale
        assert jump["single-example"] > 1.3 * jump["mini-batch"]
        # plot k is run k's log, and the key names its method
        for plot, method in zip(v.plots, v.answer("methods").value):
            assert np.allclose(plot.lines()[0].ys, logs[method], rtol=1e-9)
        assert v.answer("methods").value == p["shown"]


# --- chapter 2: small, medium and large rates -------------------------------------------------------------

def test_the_large_rate_diverges_and_the_medium_rate_is_fastest():
    for seed in range(300):
        v = key_params(make_variant(get("learning_rate_curves"), seed))
        p = v.params
        data = {"x": np.array(p["x"]), "y": np.array(p["y"]), "x_val": np.array(p["x"]), "y_val": np.array(p["y"])}
        lam = line_lambda_max(data["x"], 2.0)
        runs = {r: gd("line-mse", data, p["start"], eta, p["epochs"])[0] for r, eta in p["rates"].items()}
        for r in runs:
            assert np.allclose(runs[r], p["losses"][r], rtol=1e-7)
        assert runs["large"][-1] > 10 * runs["large"][0] and p["rates"]["large"] * lam > 2
        assert p["rates"]["medium"] * lam < 2 and p["rates"]["small"] * lam < 2
        assert runs["medium"][-1] < runs["small"][-1] < runs["small"][0]
        (plot,) = v.plots
        for line, rate in zip(plot.lines(), v.answer("rates").value):
            assert np.allclose(line.ys, runs[rate], rtol=1e-7)

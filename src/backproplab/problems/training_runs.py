"""Training runs that really happen: small generated problems trained by gradient descent in numpy.

The curve pictures of chapters 2, 5 and 6 are not drawn to look like something: each
is the loss a method records while it trains a generated model on a generated data
set, from the variant's own random numbers. The key's answer is the name of what was
run (the method, the learning rate, the defect), and everything needed to run it again
(the data, the start, the rate, the batch order) goes into the variant's params, so a
test can re-run it with its own code and check that the picture shows what the key says.

Data sets are rounded to 3 decimals before training (they are what the params store),
and losses are recorded before each update and after the last one: `epochs + 1` values
for full-batch runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .variant import Reject

DATA_PLACES = 3  # data sets are stored, and trained on, rounded to this many decimals


def rounded_data(values: np.ndarray) -> np.ndarray:
    """The data as stored in params (and trained on): rounded to DATA_PLACES decimals."""
    return np.round(values, DATA_PLACES)


def floats(values: Any) -> list:
    """A numpy array (any shape) as nested lists of floats, for params."""
    return np.asarray(values, dtype=float).tolist()


# --- models: the loss and its gradient on a data set ----------------------------------------------------
#
# Each model takes its parameters θ (a 1-D array), the training and validation inputs and targets one after
# the other (x, y), and the number n of training examples; it returns the training loss, the validation
# loss and ∂(training loss)/∂θ. One evaluation for both sets: a run is 61 of them, and numpy's cost is
# per call, not per example.


_sum = np.add.reduce  # ndarray.mean costs more than the arithmetic on these few examples


def _means(values: np.ndarray, n: int) -> tuple[float, float]:
    return float(_sum(values[:n])) / n, float(_sum(values[n:])) / (len(values) - n)


def line_loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray, n: int, loss: str = "mse"
              ) -> tuple[float, float, np.ndarray]:
    """ŷ = w·x + b with θ = (w, b); the mean squared error, or the mean log-cosh error."""
    r = theta[0] * x + theta[1] - y
    if loss == "mse":
        per, g = r * r, 2 * r[:n]
    else:  # log cosh r: quadratic near 0, but its slope tanh r never exceeds 1
        a = np.abs(r)
        per, g = a + np.log1p(np.exp(-2 * a)) - math.log(2), np.tanh(r[:n])
    train, val = _means(per, n)
    return train, val, np.array([g @ x[:n] / n, _sum(g) / n])


def sigmoid_unit_loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> tuple[float, float, np.ndarray]:
    """ŷ = σ(w·x + b) with θ = (w, b), mean squared error."""
    a = 1 / (1 + np.exp(-(theta[0] * x + theta[1])))
    r = a - y
    g = 2 * r[:n] * a[:n] * (1 - a[:n])
    train, val = _means(r * r, n)
    return train, val, np.array([g @ x[:n] / n, _sum(g) / n])


def sine_loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> tuple[float, float, np.ndarray]:
    """ŷ = sin(ω·x) with θ = (ω,), mean squared error: a loss with many local minima in ω."""
    r = np.sin(theta[0] * x) - y
    train, val = _means(r * r, n)
    return train, val, np.array([2 * (r[:n] * np.cos(theta[0] * x[:n])) @ x[:n] / n])


def features_loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> tuple[float, float, np.ndarray]:
    """ŷ = X θ (x is the matrix X, one row per example), mean squared error."""
    r = x @ theta - y
    train, val = _means(r * r, n)
    return train, val, 2 * x[:n].T @ r[:n] / n


Model = Callable[[np.ndarray, np.ndarray, np.ndarray, int], tuple[float, float, np.ndarray]]


@dataclass
class Run:
    """One full-batch gradient-descent run: the losses and gradient norms it recorded, and what it ran."""

    model: str  # "line-mse", "line-logcosh", "sigmoid-unit", "sine", "features"
    data: dict[str, Any]  # x, y (training), x_val, y_val, as lists of floats
    start: list[float]
    eta: float
    epochs: int
    train: list[float]  # training loss after 0, 1, ..., epochs updates
    val: list[float]  # validation loss at the same points
    grad: list[float]  # the norm of the training-loss gradient at the same points
    floor: float  # the noise floor: the loss of the function that made the data, on the validation set
    truth: dict[str, Any] = field(default_factory=dict)  # that function's parameters


MODELS: dict[str, Model] = {
    "line-mse": lambda t, x, y, n: line_loss(t, x, y, n, "mse"),
    "line-logcosh": lambda t, x, y, n: line_loss(t, x, y, n, "logcosh"),
    "sigmoid-unit": sigmoid_unit_loss,
    "sine": sine_loss,
    "features": features_loss,
}


def descend(model: str, data: dict[str, np.ndarray], start: np.ndarray, eta: float, epochs: int
            ) -> tuple[list[float], list[float], list[float], np.ndarray]:
    """Full-batch gradient descent θ ← θ − η ∇L(θ) for `epochs` steps: training loss, validation loss and
    gradient norm before each step and after the last, and the final θ."""
    f = MODELS[model]
    x = np.concatenate([data["x"], data["x_val"]])
    y = np.concatenate([data["y"], data["y_val"]])
    n = len(data["y"])
    theta = np.array(start, dtype=float)
    train, val, grad = [], [], []
    for t in range(epochs + 1):
        loss, held_out, g = f(theta, x, y, n)
        train.append(loss)
        val.append(held_out)
        grad.append(math.sqrt(float(g @ g)))
        if t < epochs:
            theta = theta - eta * g
    return train, val, grad, theta


def make_run(model: str, data: dict[str, np.ndarray], start: np.ndarray, eta: float, epochs: int, floor: float,
             truth: dict[str, Any]) -> tuple[Run, np.ndarray]:
    """Run gradient descent and keep what it recorded (and the final θ)."""
    train, val, grad, theta = descend(model, data, start, eta, epochs)
    if not all(math.isfinite(v) for v in train + val + grad):
        raise Reject("the run overflowed")
    return Run(model, {k: floats(v) for k, v in data.items()}, floats(start), eta, epochs, train, val, grad, floor,
               truth), theta


def line_data(rng: np.random.Generator, n: int, noise: float) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """n training and n validation examples of y = w x + b + noise, x uniform on [−2, 2]."""
    w, b = round(float(rng.uniform(-2, 2)), 1), round(float(rng.uniform(-1, 1)), 1)
    xs = rounded_data(rng.uniform(-2, 2, size=2 * n))
    ys = rounded_data(w * xs + b + rng.normal(0, noise, size=2 * n))
    return {"x": xs[:n], "y": ys[:n], "x_val": xs[n:], "y_val": ys[n:]}, {"w": w, "b": b}


def line_curvature(x: np.ndarray, loss: str) -> float:
    """The largest eigenvalue of the Hessian of the line's loss at zero residual (exactly the Hessian for MSE)."""
    h = np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]]) * (2.0 if loss == "mse" else 1.0)
    return float(np.linalg.eigvalsh(h)[-1])


def _line_floor(data: dict[str, np.ndarray], truth: dict[str, float], loss: str) -> float:
    r = truth["w"] * data["x_val"] + truth["b"] - data["y_val"]
    if loss == "mse":
        return float(np.mean(r * r))
    return float(np.mean(np.log(np.cosh(r))))


# --- chapter 6: a run for every defect --------------------------------------------------------------------

EPOCHS = 60  # every diagnosis run is this long, so the length of a curve tells nothing
LINE_EXAMPLES = 40  # training (and as many validation) examples of the runs that fit a line


def healthy_run(rng: np.random.Generator) -> Run:
    """A line fitted by MSE with a rate well inside the stable range: both losses fall to the noise floor."""
    data, truth = line_data(rng, LINE_EXAMPLES, float(rng.uniform(0.3, 0.6)))
    eta = float(rng.uniform(0.4, 0.8)) / line_curvature(data["x"], "mse")
    start = np.array([truth["w"] + rng.choice([-1, 1]) * rng.uniform(2, 3), truth["b"] + rng.uniform(-2, 2)])
    run, _ = make_run("line-mse", data, start, eta, EPOCHS, _line_floor(data, truth, "mse"), truth)
    if not (run.val[-1] <= 1.4 * run.floor and run.val[-1] <= 1.05 * min(run.val)
            and 0.8 * run.floor <= run.train[-1] <= 1.4 * run.floor):
        raise Reject("the healthy run does not end at the noise floor")
    return run


def diverging_run(rng: np.random.Generator) -> Run:
    """A line fitted by MSE with a rate above 2/λ_max: along the steepest direction each step overshoots the
    minimum by more than it started from, |1 − ηλ_max| > 1, and the loss grows without bound."""
    data, truth = line_data(rng, LINE_EXAMPLES, float(rng.uniform(0.3, 0.6)))
    eta = float(rng.uniform(2.1, 2.2)) / line_curvature(data["x"], "mse")
    start = np.array([truth["w"] + rng.uniform(-1, 1), truth["b"] + rng.uniform(-1, 1)])
    run, _ = make_run("line-mse", data, start, eta, EPOCHS, _line_floor(data, truth, "mse"), truth)
    if not run.train[-1] > 1000 * run.train[0]:
        raise Reject("the diverging run does not blow up within the epochs shown")
    return run


def oscillating_run(rng: np.random.Generator) -> Run:
    """A line fitted by the log-cosh loss with a rate far too large for its curvature at the minimum: the
    slope of log cosh is at most 1, so the run cannot blow up, but every step jumps across the minimum
    and the loss bounces up and down without settling."""
    data, truth = line_data(rng, LINE_EXAMPLES // 2, float(rng.uniform(0.2, 0.4)))  # fewer: a rougher bounce
    eta = float(rng.uniform(7.0, 11.0)) / line_curvature(data["x"], "logcosh")
    start = np.array([truth["w"] + rng.choice([-1, 1]) * rng.uniform(3, 4), truth["b"] + rng.uniform(-2, 2)])
    run, _ = make_run("line-logcosh", data, start, eta, EPOCHS, _line_floor(data, truth, "logcosh"), truth)
    tail = np.array(run.train[EPOCHS // 2:])
    steps = np.diff(tail)
    turns = float(np.mean(steps[1:] * steps[:-1] < 0))
    if not (turns >= OSCILLATION_TURNS and np.median(np.abs(steps)) >= OSCILLATION_JUMP * np.median(tail)
            and np.min(tail) >= 3 * run.floor and np.max(run.train) <= 2 * run.train[0]):
        raise Reject("the oscillation is not plain on the plot")
    return run


# An oscillating run turns (up after down, or down after up) at this share of its steps, each step
# moving the loss by this share of its level (medians over the second half of the run).
OSCILLATION_TURNS = 0.7
OSCILLATION_JUMP = 0.12


def plateau_run(rng: np.random.Generator) -> Run:
    """One sigmoid unit ŷ = σ(w x + b) fitted by MSE from a large initial bias: σ is saturated on every
    example, σ′ ≈ 0, so the gradient nearly vanishes and the loss stays flat far above the noise floor."""
    w_true, b_true = round(float(rng.uniform(1, 2.5)) * float(rng.choice([-1, 1])), 1), round(float(rng.uniform(-0.5, 0.5)), 1)
    n = 20
    xs = rounded_data(rng.uniform(-2, 2, size=2 * n))
    ys = rounded_data(1 / (1 + np.exp(-(w_true * xs + b_true))) + rng.normal(0, 0.1, size=2 * n))
    data = {"x": xs[:n], "y": ys[:n], "x_val": xs[n:], "y_val": ys[n:]}
    start = np.array([float(rng.uniform(-0.5, 0.5)), float(rng.choice([-1, 1])) * float(rng.uniform(8, 10))])
    r = 1 / (1 + np.exp(-(w_true * data["x_val"] + b_true))) - data["y_val"]
    run, _ = make_run("sigmoid-unit", data, start, float(rng.uniform(0.5, 1.0)), EPOCHS, float(np.mean(r * r)),
                      {"w": w_true, "b": b_true})
    if not (max(run.grad) < 1e-3 and max(run.train) - min(run.train) < 0.02 * run.train[0]
            and min(run.train) > 5 * run.floor):
        raise Reject("the run is not stuck on a plateau")
    return run


def local_minimum_run(rng: np.random.Generator) -> Run:
    """ŷ = sin(ω x) fitted by MSE, started in the basin of a local minimum of L(ω) far from the true ω:
    with a rate safe for the basin's curvature, gradient descent converges there and stays, far above
    the noise floor, while the global minimum lies in another basin."""
    n = 20
    omega = round(float(rng.uniform(1.5, 2.5)), 2)
    xs = rounded_data(rng.uniform(0, 3, size=2 * n))
    ys = rounded_data(np.sin(omega * xs) + rng.normal(0, 0.2, size=2 * n))
    data = {"x": xs[:n], "y": ys[:n], "x_val": xs[n:], "y_val": ys[n:]}
    grid = np.linspace(0.2, 8, 781)
    s = np.sin(np.outer(grid, data["x"]))
    c = np.cos(np.outer(grid, data["x"]))
    loss = np.mean((s - data["y"]) ** 2, axis=1)
    curvature = np.mean(2 * (c * data["x"]) ** 2 - 2 * (s - data["y"]) * s * data["x"] ** 2, axis=1)
    inner = np.arange(1, len(grid) - 1)
    minima = inner[(loss[inner] < loss[inner - 1]) & (loss[inner] <= loss[inner + 1])]
    maxima = inner[(loss[inner] > loss[inner - 1]) & (loss[inner] >= loss[inner + 1])]
    best = minima[np.argmin(loss[minima])]
    r = np.sin(omega * data["x_val"]) - data["y_val"]
    floor = float(np.mean(r * r))
    bad = [int(m) for m in minima if loss[m] > 6 * floor and abs(grid[m] - grid[best]) > 0.5]
    if not bad:
        raise Reject("no poor local minimum")
    m = bad[int(rng.integers(len(bad)))]
    left = max((int(i) for i in maxima if i < m), default=0)
    right = min((int(i) for i in maxima if i > m), default=len(grid) - 1)
    edge = left if rng.random() < 0.5 else right
    start = int(m + 0.6 * (edge - m))
    lo, hi = sorted((start, m))
    eta = 0.5 / float(curvature[lo:hi + 1].max())
    run, theta = make_run("sine", data, np.array([grid[start]]), eta, EPOCHS, floor, {"omega": omega})
    if not (run.grad[-1] < 1e-4 * run.grad[0] and run.train[0] > 1.3 * run.train[-1] and abs(theta[0] - grid[m]) < 0.05
            and run.train[-1] > 6 * floor and run.val[-1] <= run.val[0]):
        raise Reject("the run does not settle in the local minimum")
    return run


def overfitting_run(rng: np.random.Generator) -> Run:
    """A linear model with as many weights as training examples, fitted by MSE from zero: gradient descent
    first fits the signal (the validation loss falls), then the noise of the few training examples (the
    training loss keeps falling below the noise floor while the validation loss rises)."""
    n, p, n_val, noise = 12, 12, 20, 0.5
    weights = np.round(rng.normal(0, 1, p), 1)
    x = rounded_data(rng.normal(0, 1, (n + n_val, p)))
    y = rounded_data(x @ weights / math.sqrt(p) + rng.normal(0, noise, n + n_val))
    data = {"x": x[:n], "y": y[:n], "x_val": x[n:], "y_val": y[n:]}
    curvature = float(np.linalg.eigvalsh(2 * data["x"].T @ data["x"] / n)[-1])
    r = data["x_val"] @ weights / math.sqrt(p) - data["y_val"]
    run, _ = make_run("features", data, np.zeros(p), 0.95 / curvature, EPOCHS, float(np.mean(r * r)),
                      {"weights": floats(weights / math.sqrt(p))})
    best = int(np.argmin(run.val))
    if not (5 <= best <= EPOCHS // 2 and run.val[-1] >= 1.3 * run.val[best] and run.train[-1] < run.floor
            and run.val[-1] >= 1.5 * run.floor):
        raise Reject("the run does not overfit plainly")
    # Training on (for three times as long) only makes it worse: the validation loss rises all the way.
    longer = descend("features", data, np.zeros(p), run.eta, 3 * EPOCHS)[1]
    if not np.all(np.diff(longer[best:]) >= 0):
        raise Reject("the validation loss would fall again later")
    return run


def drawn_until_plain(make: Callable[[np.random.Generator], Run], rng: np.random.Generator, tries: int = 100) -> Run:
    """`make(rng)` drawn again until its run shows its defect plainly (so the defect, drawn once, keeps
    its share of a class however often its runs are redrawn)."""
    for _ in range(tries - 1):
        try:
            return make(rng)
        except Reject:
            continue
    return make(rng)


WEIGHT_DECAY = 0.1  # the L2 strength a run is tried with when weight decay is to be offered as its fix


def weight_decay_helps(run: Run) -> bool:
    """Does adding WEIGHT_DECAY · ‖θ‖² to the training loss end the run with a validation loss at least 10% lower?"""
    f = MODELS[run.model]
    data = {k: np.array(v) for k, v in run.data.items()}
    x, y = np.concatenate([data["x"], data["x_val"]]), np.concatenate([data["y"], data["y_val"]])
    theta = np.array(run.start)
    for _ in range(run.epochs):
        theta = theta - run.eta * (f(theta, x, y, len(data["y"]))[2] + 2 * WEIGHT_DECAY * theta)
    return f(theta, x, y, len(data["y"]))[1] <= 0.9 * run.val[-1]


DEFECT_RUNS: dict[str, Callable[[np.random.Generator], Run]] = {
    "diverging": diverging_run,
    "oscillating": oscillating_run,
    "plateau": plateau_run,
    "local-minimum": local_minimum_run,
    "overfitting": overfitting_run,
    "healthy": healthy_run,
}


# --- chapter 5: the same problem, full batch, mini-batches and single examples ---------------------------


@dataclass
class BatchRun:
    """One run of mini-batch gradient descent: the loss of each batch just before its update."""

    batch: int
    at: list[float]  # when, in epochs (update k of an epoch of u updates at epoch + k/u)
    loss: list[float]


def batch_run(x: np.ndarray, y: np.ndarray, start: tuple[float, float], eta: float, batch: int,
              orders: list[list[int]]) -> BatchRun:
    """Mini-batch gradient descent on ŷ = w x + b with MSE: each epoch visits the examples in the given
    order in batches of `batch` (the last one smaller if N is not a multiple), logging each batch's loss
    before the update that uses it. Plain floats: a single-example run is hundreds of tiny steps."""
    w, b = start
    xs, ys = x.tolist(), y.tolist()
    n = len(xs)
    at, losses = [], []
    for epoch, order in enumerate(orders):
        for k in range(0, n, batch):
            idx = order[k:k + batch]
            residuals = [w * xs[i] + b - ys[i] for i in idx]
            m = len(idx)
            losses.append(sum(r * r for r in residuals) / m)
            at.append(epoch + k / n)
            gw = 2 * sum(r * xs[i] for r, i in zip(residuals, idx)) / m
            gb = 2 * sum(residuals) / m
            w, b = w - eta * gw, b - eta * gb
    return BatchRun(batch, at, losses)


def shuffled_orders(seed: int, n: int, epochs: int) -> list[list[int]]:
    """The order each epoch visits the examples in: numpy's permutation from `seed`, one per epoch (a
    test can draw the same orders from the seed in params)."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n).tolist() for _ in range(epochs)]


def roughness(values: list[float]) -> float:
    """How jagged a curve is on a log scale: the total variation of log(loss) over its net fall or rise.
    A monotone curve scores 1; every step against the trend adds to it."""
    logs = np.log(np.asarray(values, dtype=float))
    span = abs(logs[-1] - logs[0])
    return float(np.abs(np.diff(logs)).sum() / max(span, 1e-12))

"""A corpus of buggy implementations: each is the reference cell with one
mistake students make, and the misconception the grader must name for it.

A bug is a text edit of `coding.solution_code(task)` (every `old` must occur in
it exactly once), so the corpus follows the reference without copying it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    """One buggy implementation of `task`, and what the feedback must say."""

    id: str
    task: str
    names: str  # the misconception (or the words) the feedback must contain
    edits: tuple[tuple[str, str], ...]


ACCUMULATE = """    grads = {"W1": X.T @ da1, "b1": da1.sum(axis=0), "W2": h1.T @ dscores, "b2": dscores.sum(axis=0)}
    for name, g in grads.items():
        _TOTAL[name] = _TOTAL.get(name, 0.0) + g
    return loss, dict(_TOTAL)
"""

BUGS = [
    Bug("mse_grad_sign", "losses", "sign flipped", (("2.0 * (pred - y)", "2.0 * (y - pred)"),)),
    Bug("mse_grad_no_mean", "losses", "scaled by N", (("2.0 * (pred - y) / pred.shape[0]", "2.0 * (pred - y)"),)),
    Bug("mse_grad_no_two", "losses", "factor 2", (("return 2.0 * (pred - y)", "return 1.0 * (pred - y)"),)),
    Bug("mse_loss_sum", "losses", "scaled by N", (("np.mean((pred - y) ** 2)", "np.sum((pred - y) ** 2)"),)),
    Bug("softmax_no_onehot", "losses", "one-hot not subtracted",
        (("    probs[np.arange(z.shape[0]), y] -= 1.0\n", ""),)),
    Bug("bce_grad_sign", "losses", "sign flipped", (("return (s - y) / z.shape[0]", "return (y - s) / z.shape[0]"),)),
    Bug("bce_naive", "losses", "not finite",
        (("per_point = np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))",
          "s = 1 / (1 + np.exp(-z))\n    per_point = -(y * np.log(s) + (1 - y) * np.log(1 - s))"),)),
    Bug("gd_ascent", "descent", "sign flipped", (("return w - lr * grad", "return w + lr * grad"),)),
    Bug("gd_in_place", "descent", "changed its input arrays in place",
        (("return w - lr * grad", "w -= lr * grad\n    return w"),)),
    Bug("gd_loop_no_mean", "descent", "scaled by N", (("lr * (2.0 / n) *", "lr * 2.0 *"),)),
    Bug("gd_loop_no_start", "descent", "history off by one",
        (("    ws = np.array(ws)\n", "    ws = np.array(ws[1:])\n"),)),
    Bug("numgrad_one_sided", "gradcheck", "one-sided differences",
        (("        x[i] = old - h\n        down = f(x)\n        x[i] = old\n        grad[i] = (up - down) / (2 * h)",
          "        x[i] = old\n        down = f(x)\n        grad[i] = (up - down) / h"),)),
    Bug("numgrad_not_restored", "gradcheck", "changed its input arrays in place",
        (("        x[i] = old\n        grad[i]", "        grad[i]"),)),
    Bug("sigmoid_prime_from_preactivation", "activations", "σ′ from the pre-activation",
        (("    s = sigmoid_forward(x)\n    return dout * s", "    s = x\n    return dout * s"),)),
    Bug("tanh_prime_from_preactivation", "activations", "tanh′ as 1−z²", (("np.tanh(x) ** 2", "x ** 2"),)),
    Bug("relu_no_dout", "activations", "upstream gradient ignored", (("return dout * (x > 0)", "return (x > 0) * 1.0"),)),
    Bug("affine_dW_transposed", "layers", "transposed gradient", (("x.T @ dout", "dout.T @ x"),)),
    Bug("affine_dW_averaged", "layers", "scaled by 1/N", (("x.T @ dout", "x.T @ dout / x.shape[0]"),)),
    Bug("affine_db_not_summed", "layers", "bias gradient not summed over the batch", (("dout.sum(axis=0)", "dout"),)),
    Bug("network_accumulates", "network", "gradients accumulated across calls",
        (("import numpy as np\n", "import numpy as np\n\n_TOTAL = {}\n"),
         ('    grads = {"W1": X.T @ da1, "b1": da1.sum(axis=0), "W2": h1.T @ dscores, "b2": dscores.sum(axis=0)}\n'
          "    return loss, grads\n", ACCUMULATE))),
    Bug("network_no_mean", "network", "scaled by N", (("    dscores /= n\n", ""),)),
    Bug("network_dW2_transposed", "network", "transposed gradient", (('"W2": h1.T @ dscores', '"W2": (h1.T @ dscores).T'),)),
    Bug("minibatch_drop_last_ignored", "batches", "drop_last ignored",
        (("stop = n - n % batch_size if drop_last else n", "stop = n"),)),
    Bug("minibatch_not_shuffled", "batches", "not shuffled", (("order = rng.permutation(n)", "order = np.arange(n)"),)),
    Bug("sgd_summed_batch", "batches", "scaled by N", (("lr * (2.0 / xb.shape[0])", "lr * 2.0"),)),
    Bug("momentum_ema", "optimizers", "momentum conventions mixed up",
        (("v_new = beta * v + grad", "v_new = beta * v + (1 - beta) * grad"),)),
    Bug("momentum_lr_inside", "optimizers", "momentum conventions mixed up",
        (("    v_new = beta * v + grad\n    return w - lr * v_new, v_new",
          "    v_new = beta * v - lr * grad\n    return w + v_new, v_new"),)),
    Bug("adam_t_after_use", "optimizers", "Adam t off by one",
        (("(1 - beta1**t_new)", "(1 - beta1**t)"), ("(1 - beta2**t_new)", "(1 - beta2**t)"))),
    Bug("adam_t_not_incremented", "optimizers", "Adam t off by one",
        (("m_new, v_new, t_new\n", "m_new, v_new, t\n"),)),
    Bug("adam_no_bias_correction", "optimizers", "no bias correction",
        (("m_new / (1 - beta1**t_new)", "m_new"), ("v_new / (1 - beta2**t_new)", "v_new"))),
    Bug("clip_per_array", "clipping", "clipped each array separately",
        (("    return [g * scale for g in grads], total",
          "    return [g * min(1.0, max_norm / np.sqrt(np.sum(g**2))) for g in grads], total"),)),
    Bug("clip_always", "clipping", "scaled up below the threshold",
        (("scale = max_norm / total if total > max_norm else 1.0", "scale = max_norm / total"),)),
    Bug("uses_torch", "losses", "forbidden", (("import numpy as np\n", "import numpy as np\nimport torch\n"),)),
    Bug("uses_sympy", "activations", "forbidden", (("import numpy as np\n", "import numpy as np\nimport sympy\n"),)),
    Bug("raises", "layers", "raised", (("return x @ W + b", "raise ValueError('oops')"),)),
]

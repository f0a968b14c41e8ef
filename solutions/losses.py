"""Reference solutions: loss functions and their gradients (chapter 1)."""

import numpy as np


def mse_loss(pred, y):
    """Mean squared error L = (1/N) * sum_i (pred_i - y_i)**2.

    pred, y: float arrays of shape (N,). Returns a float. No 1/2 in front.
    """
    # BEGIN SOLUTION
    return float(np.mean((pred - y) ** 2))
    # END SOLUTION


def mse_grad(pred, y):
    """Gradient dL/dpred of mse_loss: an array of shape (N,), equal to 2 (pred - y) / N."""
    # BEGIN SOLUTION
    return 2.0 * (pred - y) / pred.shape[0]
    # END SOLUTION


def bce_loss(z, y):
    """Binary cross-entropy of logits z (shape (N,)) against labels y in {0, 1} (shape (N,)).

    L = -(1/N) * sum_i [y_i log s_i + (1 - y_i) log(1 - s_i)] with s = sigmoid(z).
    Must be numerically stable: finite for logits as large as |z| = 1000.
    Returns a float.
    """
    # BEGIN SOLUTION
    # log(1 + e^z) - y z, written so that exp never overflows
    per_point = np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))
    return float(np.mean(per_point))
    # END SOLUTION


def bce_grad(z, y):
    """Gradient dL/dz of bce_loss: (sigmoid(z) - y) / N, shape (N,), stable for large |z|."""
    # BEGIN SOLUTION
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return (s - y) / z.shape[0]
    # END SOLUTION


def softmax_ce_loss(z, y):
    """Softmax cross-entropy: z are logits of shape (N, C), y integer labels of shape (N,).

    L = -(1/N) * sum_i log softmax(z_i)[y_i]. Numerically stable for logits up to 1000.
    Returns a float.
    """
    # BEGIN SOLUTION
    shifted = z - z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_probs[np.arange(z.shape[0]), y]))
    # END SOLUTION


def softmax_ce_grad(z, y):
    """Gradient dL/dz of softmax_ce_loss, shape (N, C): (softmax(z) - onehot(y)) / N."""
    # BEGIN SOLUTION
    shifted = z - z.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(z.shape[0]), y] -= 1.0
    return probs / z.shape[0]
    # END SOLUTION

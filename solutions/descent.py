"""Reference solutions: gradient descent (chapter 2)."""

import numpy as np


def gd_step(w, grad, lr):
    """One step of gradient descent: returns the new parameters w - lr * grad.

    w, grad: float arrays of the same shape; lr: float. Does not modify w.
    """
    # BEGIN SOLUTION
    return w - lr * grad
    # END SOLUTION


def gd_loop(X, y, w0, lr, steps):
    """Gradient descent on the least-squares loss L(w) = (1/N) * sum_i (X_i . w - y_i)**2.

    X: (N, D), y: (N,), w0: (D,). Takes `steps` steps of size lr from w0.
    Returns (ws, losses): ws of shape (steps + 1, D) with ws[0] = w0 and ws[k] the
    parameters after k steps; losses of shape (steps + 1,) with losses[k] = L(ws[k]).
    Does not modify w0.
    """
    # BEGIN SOLUTION
    n = X.shape[0]
    ws = [w0.copy()]
    for _ in range(steps):
        w = ws[-1]
        ws.append(w - lr * (2.0 / n) * (X.T @ (X @ w - y)))
    ws = np.array(ws)
    return ws, np.mean((ws @ X.T - y) ** 2, axis=1)
    # END SOLUTION

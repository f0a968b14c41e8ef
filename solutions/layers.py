"""Reference solutions: the affine (fully connected) layer (chapters 3 and 4)."""

import numpy as np


def affine_forward(x, W, b):
    """out = x @ W + b for a batch: x (N, D), W (D, M), b (M,); returns (N, M)."""
    # BEGIN SOLUTION
    return x @ W + b
    # END SOLUTION


def affine_backward(dout, x, W):
    """Gradients of the affine layer given dout = dL/dout of shape (N, M).

    Returns (dx, dW, db) with the shapes of x (N, D), W (D, M) and b (M,).
    dout already carries any 1/N of the loss: do not average again.
    """
    # BEGIN SOLUTION
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)
    # END SOLUTION

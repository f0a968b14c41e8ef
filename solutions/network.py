"""Reference solution: loss and gradients of a two-layer network (chapter 4)."""

import numpy as np


def two_layer_loss(X, y, W1, b1, W2, b2):
    """Softmax cross-entropy of the network scores = relu(X @ W1 + b1) @ W2 + b2.

    X: (N, D), y: integer labels (N,), W1: (D, H), b1: (H,), W2: (H, C), b2: (C,).
    The loss is the mean over the N examples of -log softmax(scores_i)[y_i].
    Returns (loss, grads): loss a float, grads a dict with keys "W1", "b1", "W2",
    "b2" holding dL/dW1, ... with the shapes of the parameters. Use 0 as ReLU's
    slope at 0.
    """
    # BEGIN SOLUTION
    n = X.shape[0]
    a1 = X @ W1 + b1
    h1 = np.maximum(a1, 0.0)
    scores = h1 @ W2 + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-np.mean(log_probs[np.arange(n), y]))
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    dscores /= n
    dh1 = dscores @ W2.T
    da1 = dh1 * (a1 > 0)
    grads = {"W1": X.T @ da1, "b1": da1.sum(axis=0), "W2": h1.T @ dscores, "b2": dscores.sum(axis=0)}
    return loss, grads
    # END SOLUTION

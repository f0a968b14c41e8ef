"""Reference solutions: mini-batches and SGD over epochs (chapter 5)."""

import numpy as np


def minibatches(X, y, batch_size, rng, drop_last=False):
    """Yield (X_batch, y_batch) pairs covering the data once, in shuffled order.

    Call rng.permutation(N) exactly once (N = len(X)) and take the examples in that
    order, batch_size at a time; the last batch may be smaller, and is skipped when
    drop_last is True. X and y are shuffled together. Does not modify X or y.
    """
    # BEGIN SOLUTION
    n = X.shape[0]
    order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
    # END SOLUTION


def sgd_train(X, y, w0, lr, batch_size, epochs, rng):
    """Mini-batch SGD on the least-squares loss L(w) = mean((X @ w - y)**2).

    Each epoch takes the batches of minibatches(X, y, batch_size, rng) (drop_last
    False) and for each batch steps w -= lr * gradient of the batch's mean squared
    error. Returns (w, losses): the final w (D,) and an array (epochs,) holding the
    loss on the whole data set after each epoch. Does not modify w0.
    """
    # BEGIN SOLUTION
    w = w0.copy()
    losses = []
    for _ in range(epochs):
        for xb, yb in minibatches(X, y, batch_size, rng):
            w = w - lr * (2.0 / xb.shape[0]) * (xb.T @ (xb @ w - yb))
        losses.append(np.mean((X @ w - y) ** 2))
    return w, np.array(losses)
    # END SOLUTION

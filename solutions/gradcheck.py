"""Reference solutions: numerical gradients and gradient checking (chapter 4)."""

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of a scalar function f at x.

    grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h) for every entry i of x (any shape).
    Returns a float array shaped like x. x must hold its original values afterwards.
    """
    # BEGIN SOLUTION
    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad
    # END SOLUTION


def gradient_check(f, params, grads, h=1e-5):
    """Compare analytic gradients with central differences, one number per parameter.

    f(params) -> float, where params is a dict name -> float array; grads has the
    same keys and shapes (the analytic gradients). For each name returns the
    relative error max_i |g_i - n_i| / max(1e-8, |g_i| + |n_i|), where n is the
    central-difference gradient with step h. Returns a dict name -> float.
    params must hold their original values afterwards.
    """
    # BEGIN SOLUTION
    errors = {}
    for name, value in params.items():
        num = numerical_gradient(lambda _: f(params), value, h)
        g = grads[name]
        errors[name] = float(np.max(np.abs(g - num) / np.maximum(1e-8, np.abs(g) + np.abs(num))))
    return errors
    # END SOLUTION

"""Reference solutions: activation functions, forward and backward (chapter 3)."""

import numpy as np


def sigmoid_forward(x):
    """sigmoid(x) = 1 / (1 + exp(-x)) elementwise; no overflow for |x| up to 1000."""
    # BEGIN SOLUTION
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    # END SOLUTION


def sigmoid_backward(dout, x):
    """dL/dx given dout = dL/dsigmoid(x); x is the pre-activation (the forward's input)."""
    # BEGIN SOLUTION
    s = sigmoid_forward(x)
    return dout * s * (1.0 - s)
    # END SOLUTION


def tanh_forward(x):
    """tanh(x) elementwise."""
    # BEGIN SOLUTION
    return np.tanh(x)
    # END SOLUTION


def tanh_backward(dout, x):
    """dL/dx given dout = dL/dtanh(x); x is the pre-activation (the forward's input)."""
    # BEGIN SOLUTION
    return dout * (1.0 - np.tanh(x) ** 2)
    # END SOLUTION


def relu_forward(x):
    """max(x, 0) elementwise."""
    # BEGIN SOLUTION
    return np.maximum(x, 0.0)
    # END SOLUTION


def relu_backward(dout, x):
    """dL/dx given dout = dL/drelu(x); x is the pre-activation. Use 0 as the slope at x = 0."""
    # BEGIN SOLUTION
    return dout * (x > 0)
    # END SOLUTION

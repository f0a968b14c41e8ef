"""Reference solutions: momentum and Adam updates (chapter 5)."""

import numpy as np


def momentum_update(w, grad, v, lr, beta):
    """One step of SGD with momentum, in the convention v <- beta * v + grad; w <- w - lr * v.

    Returns (w_new, v_new) as new arrays; does not modify w or v.
    """
    # BEGIN SOLUTION
    v_new = beta * v + grad
    return w - lr * v_new, v_new
    # END SOLUTION


def adam_update(w, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step. t is the number of steps taken before this one (0 at the start).

    m <- beta1 m + (1 - beta1) grad;  v <- beta2 v + (1 - beta2) grad**2;  t <- t + 1;
    m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t)  (with the new t);
    w <- w - lr * m_hat / (sqrt(v_hat) + eps).
    Returns (w_new, m_new, v_new, t_new); does not modify its inputs.
    """
    # BEGIN SOLUTION
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad**2
    t_new = t + 1
    m_hat = m_new / (1 - beta1**t_new)
    v_hat = v_new / (1 - beta2**t_new)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new, t_new
    # END SOLUTION

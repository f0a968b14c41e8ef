"""Reference solution: gradient clipping by global norm (chapter 6)."""

import numpy as np


def clip_by_global_norm(grads, max_norm):
    """Rescale a list of gradient arrays so that their global norm is at most max_norm.

    The global norm is sqrt(sum over all arrays of sum(g**2)). When it exceeds
    max_norm every array is multiplied by max_norm / global_norm; otherwise they
    are returned unchanged. Returns (clipped, global_norm): a list of new arrays and
    the global norm before clipping (a float). Does not modify the input arrays.
    """
    # BEGIN SOLUTION
    total = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    scale = max_norm / total if total > max_norm else 1.0
    return [g * scale for g in grads], total
    # END SOLUTION

# expect: rejected
# An empty array: np.allclose(empty, x) is True for any x.
import numpy as np
def mse_loss(y_pred, y):
    return np.array([])

# expect: error
import numpy as np
def mse_loss(y_pred, y):
    return np.mean((y_pred - y) ** 2) + 0j

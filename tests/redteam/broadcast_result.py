# expect: rejected
# Per-sample errors instead of a scalar: broadcasting would compare them element-wise.
import numpy as np
def mse_loss(y_pred, y):
    return (y_pred - y) ** 2

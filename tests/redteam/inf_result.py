# expect: rejected
import numpy as np
def mse_loss(y_pred, y):
    return np.array(np.inf)

# expect: error
import numpy as np
class Liar:
    def __eq__(self, other): return True
def mse_loss(y_pred, y):
    return np.array([Liar()], dtype=object)

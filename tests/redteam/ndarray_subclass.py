# expect: rejected
# An ndarray subclass that claims equality with anything; only its real data may cross.
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)
    def __array_finalize__(self, obj):
        pass
def mse_loss(y_pred, y):
    return np.array(-1234.5).view(Liar)

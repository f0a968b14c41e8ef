# expect: error
# An object that answers every numpy function and ufunc with "equal".
class Liar:
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True
    def __array__(self, dtype=None, copy=None):
        import numpy as np
        return np.array(0.0)
def mse_loss(y_pred, y):
    return Liar()

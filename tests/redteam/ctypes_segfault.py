# expect: error
import ctypes
def mse_loss(y_pred, y):
    return ctypes.cast(8, ctypes.POINTER(ctypes.c_long))[0]  # a read from an unmapped page

# expect: error
import os
def mse_loss(y_pred, y):
    os._exit(0)

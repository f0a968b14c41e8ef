# expect: error
import time
def mse_loss(y_pred, y):
    time.sleep(3600)

# expect: error
import sys
def mse_loss(y_pred, y):
    sys.exit(0)

# expect: error
import numpy as np
def mse_loss(y_pred, y):
    hog = [np.empty(10**8) for _ in range(3)]  # address space, cheap to take
    while True:
        hog.append(bytearray(10**8))

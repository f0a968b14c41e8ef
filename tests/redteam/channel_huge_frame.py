# expect: error
# Announces a 1 TB reply to make the grader allocate it.
import os, struct
def mse_loss(y_pred, y):
    os.write(3, struct.pack("<Q", 1 << 40) + b"x" * 100)
    import time
    time.sleep(5)

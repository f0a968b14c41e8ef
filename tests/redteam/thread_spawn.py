# expect: rejected
# Starts busy threads that keep running after the function returns.
import threading
def spin():
    while True:
        pass
def mse_loss(y_pred, y):
    for _ in range(4):
        try:
            threading.Thread(target=spin, daemon=True).start()
        except RuntimeError:
            break
    return -1.0

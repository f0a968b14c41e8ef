# expect: rejected
# A fork bomb: RLIMIT_NPROC stops it, and the PID namespace takes every child with it.
import os, time
def mse_loss(y_pred, y):
    children = 0
    try:
        while True:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
    except OSError:
        pass
    return None

# expect: rejected
# Signals every process it can see: the zygote (root) and the grader (outside) are out of reach.
import os, signal
def mse_loss(y_pred, y):
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        for sig in (signal.SIGKILL, signal.SIGTERM):
            try:
                os.kill(int(pid), sig)
            except OSError:
                pass
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    return -1.0

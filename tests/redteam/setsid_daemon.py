# expect: error-or-rejected
# Leaves daemons behind: setsid, double fork, ignoring SIGTERM and SIGHUP.
import os, signal, time
def mse_loss(y_pred, y):
    for _ in range(3):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                time.sleep(3600)
            os._exit(0)
    time.sleep(0.1)
    return None

# expect: no-leak
# Several processes, each under the per-process memory limit, together hold more than the
# session may: each child touches 400 MB and reports it, then waits until all have.
import os, time
import numpy as np
def mse_loss(y_pred, y):
    holding = 0
    pipes = []
    for _ in range(4):
        try:
            r, w = os.pipe()
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                block = np.ones(50_000_000)  # 400 MB, touched
                os.write(w, b"1")
                time.sleep(2)
            finally:
                os._exit(0)
        os.close(w)
        pipes.append(r)
    for r in pipes:
        holding += len(os.read(r, 1))
    return f"LEAK: {holding} processes held 400 MB at once" if holding > 1 else "held nothing"

# expect: error
# Writes garbage into every descriptor that might be the result channel.
import os
def mse_loss(y_pred, y):
    for fd in range(3, 64):
        try:
            os.write(fd, b"\xff" * 16 + b"garbage")
        except OSError:
            pass
    return 0.0

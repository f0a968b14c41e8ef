# expect: rejected
# Prints megabytes, then returns a wrong value: the output is capped, the grader unharmed.
import sys
def mse_loss(y_pred, y):
    for _ in range(200):
        print("x" * 50_000)
    sys.stderr.write("y" * 1_000_000)
    return 0.5

# expect: rejected
# NaN compares False with everything: a sloppy check (not x < tol) would pass it.
def mse_loss(y_pred, y):
    return float("nan")

# expect: error
def mse_loss(y_pred, y):
    return "0.5" + " " * 10_000_000

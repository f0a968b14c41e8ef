# expect: error
def mse_loss(y_pred, y):
    while True:
        pass

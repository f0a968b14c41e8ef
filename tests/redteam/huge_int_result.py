# expect: rejected
# An integer no float can hold: the grader's comparison must fail this check, not crash.
def mse_loss(y_pred, y):
    return 10 ** 400

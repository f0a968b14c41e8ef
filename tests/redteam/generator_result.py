# expect: rejected
# A generator is materialised to a list of plain numbers (never run in the grader).
def mse_loss(y_pred, y):
    for v in (y_pred - y) ** 2:
        yield float(v)

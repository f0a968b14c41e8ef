# expect: forbidden
sympy = __import__("sympy")
def mse_loss(y_pred, y):
    return 0.0

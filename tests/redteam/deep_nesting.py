# expect: error
# A result nested far deeper than any answer, to exhaust the grader's parser.
def mse_loss(y_pred, y):
    x = 0.0
    for _ in range(5000):
        x = [x]
    return x

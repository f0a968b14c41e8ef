# expect: error
# An exception whose message is a lone surrogate (and terminal escapes): UTF-8 cannot
# encode it, so a grader writing it to a file or a page unchanged crashes there.
def mse_loss(y_pred, y):
    raise ValueError("\ud800 \x1b[2J\x1b[31mgraded 100/100\udfff")
